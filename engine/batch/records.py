"""Splitting a CSV file into chunks of whole records, without parsing the fields.

Each input record is written back byte for byte, so records are found as byte ranges. Where a
chunk holds no '"' a record ends at every newline (CRLF included), exactly as the fast parser
(pyarrow) sees it. Where it holds quotes, a small compiled scanner follows the rules of Python's
csv module (a quote opens a quoted field only at the start of a field; "" inside it is a quote;
a newline inside it belongs to the field), and chunk_io parses those records with the csv module
itself, so record boundaries and fields always come from the same rules. Chunks are cut only at
record ends, so every chunk starts at the start of a record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from engine.errors import InputError

NEWLINE, QUOTE, CR = ord("\n"), ord('"'), ord("\r")
MAX_RECORD_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class Chunk:
    data: bytes  # whole records, the last one ending with a newline
    starts: np.ndarray  # record i is data[starts[i]:starts[i + 1]] (line end included)
    first_row: int  # 0-based index of the chunk's first record in the file
    end_offset: int  # file offset just after this chunk (for progress)
    added_newline: bool = False  # the file's last line had no line end; one was added here

    @property
    def quoted(self) -> bool:
        return b'"' in self.data

    @property
    def file_bytes(self) -> bytes:
        """The chunk as it is in the file (for the input's checksum)."""
        return self.data[:-1] if self.added_newline else self.data


@numba.njit(cache=True, nogil=True)
def _scan_quoted(buf, delimiter, ends):  # pragma: no cover - compiled
    """Record ends (offsets after each newline) under the csv module's quoting rules.
    Returns how many were found; or -(i + 1) for a carriage return at i that ends no line."""
    state = 0  # 0: start of a field, 1: in an unquoted field, 2: quoted, 3: quote in quoted
    found = 0
    n = buf.shape[0]
    for i in range(n):
        b = buf[i]
        if state == 2:
            if b == QUOTE:
                state = 3
            continue
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
            if i + 1 < n and buf[i + 1] != NEWLINE:
                return -(i + 1)
        elif b == delimiter:
            state = 0
        elif b == QUOTE and state == 0:
            state = 2
        else:
            state = 1
    return found


def _bare_cr(path: Path, data: bytes, at: int) -> InputError:
    line = data[:at].count(b"\n") + 1
    return InputError(f"{path}: line {line} (counted within the part being read) ends with a "
                      "lone carriage return (old Mac line ends); re-save the file with Windows "
                      "or Unix line ends.", "E_NOT_CSV")


def record_starts(data: bytes, delimiter: str, path: Path) -> np.ndarray:
    """Offsets of record starts in `data` (which starts at a record start), plus the offset
    after the last complete record."""
    buf = np.frombuffer(data, dtype=np.uint8)
    if b'"' not in data:
        newlines = np.flatnonzero(buf == NEWLINE)
        cr = np.flatnonzero(buf[:-1] == CR)
        if cr.size and (buf[cr + 1] != NEWLINE).any():
            raise _bare_cr(path, data, int(cr[buf[cr + 1] != NEWLINE][0]))
        return np.concatenate([[0], newlines + 1]).astype(np.int64)
    ends = np.empty(int((buf == NEWLINE).sum()), dtype=np.int64)
    found = _scan_quoted(buf, ord(delimiter), ends)
    if found < 0:
        raise _bare_cr(path, data, -found - 1)
    return np.concatenate([[0], ends[:found]]).astype(np.int64)


def iter_chunks(path: Path, offset: int, delimiter: str = ",",
                chunk_bytes: int = 8 << 20, end: int | None = None) -> Iterator[Chunk]:
    """Chunks of the records between `offset` and `end` (default: the end of the file)."""
    path = Path(path)
    row = 0
    carry = b""
    with path.open("rb") as fh:
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
                    starts = record_starts(data, delimiter, path)
                    if starts[-1] != len(data):
                        raise InputError(f"{path}: a quote opened after line {row + 1} is never "
                                         "closed; fix the quoting and try again.", "E_NOT_CSV")
                    yield Chunk(data, starts, row, position, added_newline=True)
                return
            starts = record_starts(data, delimiter, path)
            cut = int(starts[-1])
            if cut == 0:  # one record longer than a whole block: read on
                if len(data) > MAX_RECORD_BYTES:
                    raise InputError(f"{path}: the row after line {row + 1} is longer than "
                                     f"{MAX_RECORD_BYTES >> 20} MB; a quote is probably never "
                                     "closed. Fix the quoting and try again.", "E_NOT_CSV")
                carry = data
                continue
            carry = data[cut:]
            chunk = Chunk(data[:cut], starts, row, position - len(carry))
            row += len(chunk.starts) - 1
            yield chunk
