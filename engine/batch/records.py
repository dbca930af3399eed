"""Splitting a CSV file into chunks of whole records, without parsing the fields.

Each input record is written back byte for byte, so records are found as byte ranges. Where a
chunk holds no '"' a record ends at every newline (CRLF included), exactly as the fast parser
(pyarrow) sees it. Where it holds quotes, a small compiled scanner follows the rules of Python's
csv module (a quote opens a quoted field only at the start of a field; "" inside it is a quote;
a newline inside it belongs to the field), and chunk_io parses those records with the csv module
itself, so record boundaries and fields always come from the same rules. Chunks are cut only at
record ends, so every chunk starts at the start of a record.

Found here too, wherever they are in the file, and named by the file's own line number: a NUL
byte (binary data: the file is refused, as open_csv refuses one near the start), a lone
carriage return, and a record longer than MAX_RECORD_BYTES (memory per row stays bounded).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.batch.records_kernels import CR, NEWLINE, QUOTE
from engine.errors import InputError
from engine.model import aot

MAX_RECORD_BYTES = 64 << 20  # one row, all its fields; a longer one refuses the file
COUNT_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class Chunk:
    data: bytes  # whole records, the last one ending with a newline
    starts: np.ndarray  # record i is data[starts[i]:starts[i + 1]] (line end included)
    first_row: int  # 0-based index of the chunk's first record in the file
    end_offset: int  # file offset just after this chunk (for progress)
    added_newline: bool = False  # the file's last line had no line end; one was added here
    first_line: int = 1  # the file's line number (1-based) on which the chunk starts

    def line_at(self, at: int) -> int:
        """The file's line number of the byte at `at` in `data`."""
        return self.first_line + self.data.count(b"\n", 0, at)

    @property
    def quoted(self) -> bool:
        return b'"' in self.data

    @property
    def file_bytes(self) -> bytes:
        """The chunk as it is in the file (for the input's checksum)."""
        return self.data[:-1] if self.added_newline else self.data


# The scanner (engine/batch/records_kernels.py) compiled ahead of time into
# engine/batch/_records_aot by installer/kernels.py (`make setup`, the installer): it loads in
# a millisecond without numba and scans any quoted chunk. Without it (missing or stale), a
# quoted chunk up to PYTHON_SCAN_BYTES is scanned in Python (~40 ns a byte: 80 ms at most)
# unless numba's build is already loaded: loading numba costs ~0.5 s, ten times a small file's
# scan, and compiling the scanner more on the first use.
KERNELS = aot.Kernels("engine.batch._records_aot", "engine.batch.records_kernels",
                      spec={"scan_quoted": ((np.uint8, 1, False), int, (np.int64, 1, True))},
                      results={"scan_quoted": int})
PYTHON_SCAN_BYTES = 2 << 20


def _scan_quoted(buf, delimiter, ends) -> int:
    """scan_quoted compiled ahead of time; without it numba's build on the first big quoted
    chunk, or _scan_quoted_events for a small one: a file without quotes, or a small one with
    quotes, never loads numba (issue 16)."""
    args = (buf, delimiter, ends)
    function = KERNELS.compiled("scan_quoted", args)
    if function is None:
        if "scan_quoted" not in KERNELS.loaded and buf.shape[0] <= PYTHON_SCAN_BYTES:
            return _scan_quoted_events(buf.tobytes(), delimiter, ends)
        function = KERNELS.jit("scan_quoted")
    return function(*args)


def _scan_quoted_events(data: bytes, delimiter: int, ends) -> int:
    """records_kernels.scan_quoted's result, visiting only the bytes that can change its state
    (quote, newline, carriage return, delimiter): any other byte moves a field to state 1 (in
    an unquoted field) unless it is quoted, so a run of them is taken at once."""
    specials = b'\n\r"' + (bytes([delimiter]) if delimiter < 256 else b"")
    state = found = 0
    n = len(data)
    prev = -1
    for m in re.finditer(b"[" + re.escape(specials) + b"]", data):
        i = m.start()
        b = data[i]
        if state == 2:
            prev = i
            if b == QUOTE:
                state = 3
            continue
        if i > prev + 1:  # other bytes since the last special one
            state = 1
        prev = i
        if state == 3:
            if b == QUOTE:
                state = 2
                continue
            state = 1
        if b == NEWLINE:
            ends[found] = i + 1
            found += 1
            state = 0
        elif b == CR:
            if i + 1 < n and data[i + 1] != NEWLINE:
                return -(i + 1)
        elif b == delimiter:
            state = 0
        elif b == QUOTE and state == 0:
            state = 2
        else:
            state = 1
    return found


def _bare_cr(path: Path, line: int) -> InputError:
    return InputError(f"{path}: line {line} ends with a lone carriage return (old Mac line "
                      "ends); re-save the file with Windows or Unix line ends.", "E_NOT_CSV")


def record_starts(data: bytes, delimiter: str, path: Path, first_line: int = 1) -> np.ndarray:
    """Offsets of record starts in `data` (which starts at a record start, on the file's line
    `first_line`), plus the offset after the last complete record."""
    buf = np.frombuffer(data, dtype=np.uint8)
    if b'"' not in data:
        newlines = np.flatnonzero(buf == NEWLINE)
        cr = np.flatnonzero(buf[:-1] == CR)
        if cr.size and (buf[cr + 1] != NEWLINE).any():
            at = int(cr[buf[cr + 1] != NEWLINE][0])
            raise _bare_cr(path, first_line + data.count(b"\n", 0, at))
        return np.concatenate([[0], newlines + 1]).astype(np.int64)
    ends = np.empty(int((buf == NEWLINE).sum()), dtype=np.int64)
    found = _scan_quoted(buf, ord(delimiter), ends)
    if found < 0:
        raise _bare_cr(path, first_line + data.count(b"\n", 0, -found - 1))
    return np.concatenate([[0], ends[:found]]).astype(np.int64)


def _line_of_offset(fh, offset: int) -> int:
    """The line number (1-based) on which byte `offset` of the open file lies."""
    fh.seek(0)
    lines, left = 1, offset
    while left > 0:
        block = fh.read(min(COUNT_BLOCK, left))
        if not block:
            break
        lines += block.count(b"\n")
        left -= len(block)
    return lines


def _checked(chunk: Chunk, path: Path) -> Chunk:
    """A chunk with no NUL byte: binary data refuses the file wherever it is."""
    at = chunk.data.find(b"\x00")
    if at >= 0:
        raise InputError(f"{path}: line {chunk.line_at(at)} contains a NUL byte (binary data), "
                         "so this is not a text file; export the data as CSV and try again.",
                         "E_BINARY_FILE")
    return chunk


def _too_long(path: Path, record: bytes, line: int) -> InputError:
    why = (" A quote is probably never closed; fix the quoting and try again." if b'"' in record
           else " Split or shorten it and try again.")
    return InputError(f"{path}: the row starting on line {line} is longer than "
                      f"{MAX_RECORD_BYTES:,} bytes, the limit for one row (at least "
                      f"{len(record):,} bytes).{why}", "E_ROW_TOO_LONG")


def _check_lengths(data: bytes, starts: np.ndarray, path: Path, line: int) -> None:
    """Refuses a record longer than MAX_RECORD_BYTES that ended inside the block just read."""
    lengths = np.diff(starts)
    if lengths.size and int(lengths.max()) > MAX_RECORD_BYTES:
        i = int(np.argmax(lengths))
        begin = int(starts[i])
        raise _too_long(path, data[begin:int(starts[i + 1])],
                        line + data.count(b"\n", 0, begin))


def iter_chunks(path: Path, offset: int, delimiter: str = ",",
                chunk_bytes: int = 8 << 20, end: int | None = None) -> Iterator[Chunk]:
    """Chunks of the records between `offset` and `end` (default: the end of the file)."""
    path = Path(path)
    row = 0
    carry = b""
    with path.open("rb") as fh:
        line = _line_of_offset(fh, offset)
        fh.seek(offset)
        position = offset
        while True:
            want = chunk_bytes if end is None else max(0, min(chunk_bytes, end - position))
            block = fh.read(want) if want else b""
            position += len(block)
            data = carry + block
            if not block:
                if data.strip(b"\r\n"):
                    data += b"\n"  # the last record had no line end
                    starts = record_starts(data, delimiter, path, line)
                    if starts[-1] != len(data):
                        opened = line + data.count(b"\n", 0, int(starts[-1]))
                        raise InputError(f"{path}: a quote opened in the row starting on line "
                                         f"{opened} is never closed; fix the quoting and try "
                                         "again.", "E_NOT_CSV")
                    _check_lengths(data, starts, path, line)
                    yield _checked(Chunk(data, starts, row, position, added_newline=True,
                                         first_line=line), path)
                return
            starts = record_starts(data, delimiter, path, line)
            cut = int(starts[-1])
            if cut == 0:  # one record longer than a whole block: read on
                if len(data) > MAX_RECORD_BYTES:
                    raise _too_long(path, data, line)
                carry = data
                continue
            _check_lengths(data, starts, path, line)
            carry = data[cut:]
            chunk = _checked(Chunk(data[:cut], starts, row, position - len(carry),
                                   first_line=line), path)
            row += len(chunk.starts) - 1
            line += chunk.data.count(b"\n")
            yield chunk
