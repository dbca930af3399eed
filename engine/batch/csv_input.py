"""Opening an input CSV: everything that makes a whole file unusable is found here, before any
output exists, and reported in one paragraph that says what to do."""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InputError

BOM = codecs.BOM_UTF8
SNIFF_BYTES = 1 << 16
NEWLINE = b"\n"


@dataclass(frozen=True, slots=True)
class CsvInput:
    path: Path
    size: int
    header: list[str]
    header_text: str  # the header line as written (without BOM and line end)
    delimiter: str
    data_offset: int  # where the first data record starts
    data_end: int  # where the last record ends: blank lines at the very end are not rows


def _fail(path: Path, why: str, code: str = "E_INPUT") -> InputError:
    return InputError(f"{path}: {why}", code)


def open_csv(path: Path) -> CsvInput:
    path = Path(path)
    if not path.exists():
        raise _fail(path, "the file does not exist; check the name and folder.", "E_NO_FILE")
    if path.is_dir():
        raise _fail(path, "this is a folder, not a CSV file; choose a file inside it.",
                    "E_NOT_A_FILE")
    if not path.is_file():  # a pipe, /dev/stdin, a device: checked without opening it
        raise _fail(path, "this is not a regular file but a pipe, a device or a socket (as "
                    "/dev/stdin is when data is piped in); Ratchet reads its input more than "
                    "once, so it must be a file on disk. Save the data to a .csv file and give "
                    "that file's name.", "E_NOT_A_FILE")
    size = path.stat().st_size
    if size == 0:
        raise _fail(path, "the file is empty; it needs a header row and data rows.",
                    "E_EMPTY_FILE")
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _fail(path, "the file is UTF-16 text (as Excel's 'Unicode text' saves it); the "
                    "encoding Ratchet reads is UTF-8. Re-save it as 'CSV UTF-8'.", "E_ENCODING")
    if (nul := head.find(b"\x00")) >= 0:  # records.py finds one further on, the same way
        line = head.count(NEWLINE, 0, nul) + 1
        raise _fail(path, f"line {line} contains a NUL byte (binary data), so this is not a "
                    "text file; export the data as CSV and try again.", "E_BINARY_FILE")
    start = len(BOM) if head.startswith(BOM) else 0
    end = head.find(b"\n", start)
    if end < 0 and size > len(head):
        raise _fail(path, f"the first line is longer than {SNIFF_BYTES} bytes; is this a CSV "
                    "file?", "E_NOT_CSV")
    first = head[start:] if end < 0 else head[start:end]
    if b"\r" in first.rstrip(b"\r"):
        raise _fail(path, "line 1 ends with a lone carriage return (old Mac line ends); "
                    "re-save the file with Windows or Unix line ends.", "E_NOT_CSV")
    try:
        header_text = first.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise _fail(path, f"the header is not UTF-8 text (byte {exc.start + start} could not be "
                    "decoded as UTF-8, the encoding tried). Re-save the file as UTF-8, e.g. "
                    "'CSV UTF-8' in Excel.", "E_ENCODING") from None
    delimiter = ";" if header_text.count(";") > header_text.count(",") else ","
    try:
        header = next(csv.reader([header_text], delimiter=delimiter), [])
    except csv.Error as exc:
        raise _fail(path, f"the header cannot be read as CSV ({exc}).", "E_NOT_CSV") from None
    if not header or all(not h.strip() for h in header):
        raise _fail(path, "the first line is empty; it must name the columns.", "E_NO_HEADER")
    seen, dups = set(), []
    for name in header:
        if name in seen and name not in dups:
            dups.append(name)
        seen.add(name)
    if dups:
        raise _fail(path, f"the header names {', '.join(map(repr, dups))} more than once; give "
                    "every column its own name.", "E_DUPLICATE_COLUMN")
    data_offset = size if end < 0 else end + 1
    with path.open("rb") as fh:
        fh.seek(data_offset)
        rest = fh.read(SNIFF_BYTES)
    if not rest.strip(b"\r\n"):
        raise _fail(path, "the file has a header but no data rows.", "E_NO_ROWS")
    with path.open("rb") as fh:
        fh.seek(max(data_offset, size - SNIFF_BYTES))
        tail = fh.read()
    line_ends = tail[len(tail.rstrip(b"\r\n")):]  # after the last row's text
    own = 2 if line_ends.startswith(b"\r\n") else min(1, len(line_ends))  # that row's own end
    data_end = size - len(line_ends) + own
    return CsvInput(path, size, header, header_text, delimiter, data_offset, data_end)


def check_columns(source: CsvInput, needed: list[str]) -> None:
    missing = [c for c in needed if c not in source.header]
    if missing:
        hint = ""
        if source.delimiter == "," and len(source.header) == 1 and ";" in source.header[0]:
            hint = " The file may be separated by ';'."
        raise _fail(source.path, f"the column(s) {', '.join(map(repr, missing))} are missing. "
                    f"The model needs {', '.join(map(repr, needed))}; the file has "
                    f"{', '.join(map(repr, source.header))}.{hint}", "E_MISSING_COLUMN")
