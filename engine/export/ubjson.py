"""A small, strict UBJSON (Universal Binary JSON, ubjson.org, draft 12) reader: what XGBoost
writes with `save_model("model.ubj")`. No dependency; every malformed input (unknown marker,
truncation, a count larger than the bytes left, trailing bytes, excessive nesting) raises
UbjsonError with the byte offset. float32 values come back as the exact Python float.
"""

from __future__ import annotations

import struct

import numpy as np

MAX_DEPTH = 64
_SCALARS = {  # marker -> (struct format, size)
    b"i": (">b", 1), b"U": (">B", 1), b"I": (">h", 2), b"l": (">i", 4), b"L": (">q", 8),
    b"d": (">f", 4), b"D": (">d", 8),
}
_NUMPY = {b"i": ">i1", b"U": ">u1", b"I": ">i2", b"l": ">i4", b"L": ">i8", b"d": ">f4",
          b"D": ">f8"}


class UbjsonError(ValueError):
    pass


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.pos = 0

    def fail(self, why: str) -> UbjsonError:
        return UbjsonError(f"not valid UBJSON at byte {self.pos}: {why}")

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"{n} more bytes needed, {len(self.data) - self.pos} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def marker(self) -> bytes:
        while True:
            m = bytes(self.take(1))
            if m != b"N":  # no-op
                return m

    def integer(self, m: bytes) -> int:
        if m not in _SCALARS or m in {b"d", b"D"}:
            raise self.fail(f"expected an integer marker, found {m!r}")
        fmt, size = _SCALARS[m]
        return struct.unpack(fmt, self.take(size))[0]

    def length(self) -> int:
        n = self.integer(self.marker())
        if n < 0 or n > len(self.data) - self.pos + 1:
            raise self.fail(f"a length of {n} does not fit in the {len(self.data) - self.pos} "
                            "bytes left")
        return n

    def string(self) -> str:
        raw = self.take(self.length())
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("a string is not UTF-8") from None

    def value(self, m: bytes, depth: int):
        if m in _SCALARS:
            fmt, size = _SCALARS[m]
            v = struct.unpack(fmt, self.take(size))[0]
            return float(v) if m in {b"d", b"D"} else v
        if m == b"S":
            return self.string()
        if m == b"C":
            return bytes(self.take(1)).decode("latin-1")
        if m in {b"T", b"F"}:
            return m == b"T"
        if m == b"Z":
            return None
        if m == b"H":
            return float(self.string())
        if m in {b"[", b"{"}:
            if depth >= MAX_DEPTH:
                raise self.fail("nested too deeply")
            return self.container(m == b"{", depth + 1)
        raise self.fail(f"unknown marker {m!r}")

    def peek(self) -> bytes:
        while self.pos < len(self.data) and self.data[self.pos:self.pos + 1] == b"N":
            self.pos += 1
        if self.pos >= len(self.data):
            raise self.fail("the document ends inside a container")
        return bytes(self.data[self.pos:self.pos + 1])

    def container(self, is_object: bool, depth: int):
        typ, count = None, None
        if self.peek() == b"$":
            self.pos += 1
            typ = bytes(self.take(1))
            if self.marker() != b"#":
                raise self.fail("a typed container needs a count")
            count = self.length()
        elif self.peek() == b"#":
            self.pos += 1
            count = self.length()
        if typ is not None and not is_object and typ in _NUMPY:  # a typed numeric array
            raw = self.take(count * np.dtype(_NUMPY[typ]).itemsize)
            arr = np.frombuffer(raw, dtype=_NUMPY[typ])
            return [float(v) for v in arr] if typ in {b"d", b"D"} else arr.astype(int).tolist()
        out: dict | list = {} if is_object else []
        end = b"}" if is_object else b"]"
        while True:
            if count is None:
                if self.peek() == end:
                    self.pos += 1
                    return out
            elif len(out) == count:
                return out
            key = self.string() if is_object else None
            m = typ if typ is not None else self.marker()
            if is_object:
                if key in out:
                    raise self.fail(f"the key {key!r} appears twice")
                out[key] = self.value(m, depth)
            else:
                out.append(self.value(m, depth))


def loads(data: bytes):
    """The value a whole UBJSON document holds; refuses trailing bytes."""
    reader = _Reader(data)
    value = reader.value(reader.marker(), 0)
    if reader.pos != len(reader.data):
        raise reader.fail("trailing bytes after the document")
    return value
