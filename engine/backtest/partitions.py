"""Time partitions of a back-test: the month, quarter or year each row belongs to.

Times are ISO 8601 text (`2013-07-15`, `2013-07-15 10:00`, `2013-07-15T10:00:00Z`,
`2013-07-15T10:00:00-04:00`, also `2013-07`). A row belongs to the calendar period its time is
written in: an offset or `Z` is not converted away, so a flight written as
`2013-12-31T19:00:00-05:00` counts in December. Anything else (empty, another date style,
an impossible date) gives the key "" and the row is counted as untimed.

Only the distinct values of a column are parsed (a year of hourly times has a few thousand),
so the cost does not grow with the rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine.errors import InputError

PERIODS = ("month", "quarter", "year")
# A UTC offset (or Z) after a time of day; a date's own "-07" is not one.
_OFFSET = r"(\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"


def check_period(by: str) -> str:
    if by not in PERIODS:
        raise InputError(f"--by must be one of {', '.join(PERIODS)}, not {by!r}.", "E_USAGE")
    return by


def keys_of_values(values, by: str) -> list[str]:
    """The partition key of each distinct time text ("" where it is not a readable time)."""
    check_period(by)
    text = pd.Series(values, dtype=object).astype("string").str.strip()
    text = text.str.replace(_OFFSET, r"\1", regex=True)  # the wall-clock time as written
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    years, months = parsed.dt.year, parsed.dt.month
    keys = []
    for ok, y, m in zip(parsed.notna(), years, months, strict=True):
        if not ok:
            keys.append("")
        elif by == "month":
            keys.append(f"{int(y):04d}-{int(m):02d}")
        elif by == "quarter":
            keys.append(f"{int(y):04d}-Q{(int(m) - 1) // 3 + 1}")
        else:
            keys.append(f"{int(y):04d}")
    return keys


def key_codes(column: pa.Array | pa.ChunkedArray, by: str) -> tuple[np.ndarray, list[str]]:
    """Per row an index into the returned key list (which may hold "" for untimed rows)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    encoded = column.dictionary_encode()
    keys = keys_of_values(encoded.dictionary.to_pylist(), by)
    if encoded.null_count:
        keys.append("")
        indices = pc.fill_null(encoded.indices, len(keys) - 1)
    else:
        indices = encoded.indices
    # Distinct texts may share a key (two days of one month): give each key one code.
    names = sorted(set(keys))
    code_of = {k: i for i, k in enumerate(names)}
    remap = np.array([code_of[k] for k in keys], dtype=np.int32)
    codes = remap[indices.to_numpy(zero_copy_only=False)] if len(keys) else np.zeros(0, np.int32)
    return codes.astype(np.int32, copy=False), names


def partition_keys(times, by: str) -> np.ndarray:
    """Per row its partition key ("" for rows without a readable time)."""
    values = pa.array(np.asarray(times, dtype=object), type=pa.string(), from_pandas=True)
    codes, names = key_codes(values, by)
    return np.array(names, dtype=object)[codes] if len(codes) else np.zeros(0, dtype=object)
