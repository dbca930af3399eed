"""The quoted-CSV scanner of engine.batch.records as plain Python that numba compiles: ahead of
time into engine/batch/_records_aot (installer/kernels.py, `make setup`) or, where that module
is missing or stale, just in time at the first big quoted chunk. This file is its only source:
its hash is the module's stamp."""

from __future__ import annotations

NEWLINE, QUOTE, CR = ord("\n"), ord('"'), ord("\r")


def scan_quoted(buf, delimiter, ends):  # pragma: no cover - compiled
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
