"""Splitting a CSV file into chunks of whole records, without parsing the fields.

Each input record is written back byte for byte, so the records are found as byte ranges: a
record ends at a newline that is outside quotes (an even number of '"' before it in the file).
Chunks are cut only at record ends, so every chunk starts outside quotes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NEWLINE, QUOTE = ord("\n"), ord('"')


@dataclass(frozen=True, slots=True)
class Chunk:
    data: bytes  # whole records, the last one ending with a newline
    starts: np.ndarray  # record i is data[starts[i]:starts[i + 1]] (newline included)
    first_row: int  # 0-based index of the chunk's first record in the file
    end_offset: int  # file offset just after this chunk (for progress)


def record_starts(buf: np.ndarray) -> np.ndarray:
    """Offsets of record starts in `buf` (which starts outside quotes), plus len(buf)."""
    newlines = np.flatnonzero(buf == NEWLINE)
    quotes = buf == QUOTE
    if quotes.any():
        inside = np.cumsum(quotes, dtype=np.int64)[newlines] % 2 == 1
        newlines = newlines[~inside]
    return np.concatenate([[0], newlines + 1]).astype(np.int64)


def iter_chunks(path: Path, offset: int, chunk_bytes: int = 8 << 20) -> Iterator[Chunk]:
    row = 0
    carry = b""
    with Path(path).open("rb") as fh:
        fh.seek(offset)
        position = offset
        while True:
            block = fh.read(chunk_bytes)
            position += len(block)
            data = carry + block
            if not block:
                if data.strip(b"\r\n"):
                    data += b"\n"  # the last record had no line end
                    yield Chunk(data, record_starts(np.frombuffer(data, dtype=np.uint8)), row,
                                position)
                return
            starts = record_starts(np.frombuffer(data, dtype=np.uint8))
            cut = int(starts[-1])
            if cut == 0:  # one record longer than a whole block: read on
                carry = data
                continue
            carry = data[cut:]
            chunk = Chunk(data[:cut], starts, row, position - len(carry))
            row += len(chunk.starts) - 1
            yield chunk

