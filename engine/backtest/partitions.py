"""Time partitions of a back-test: the month, quarter or year each row belongs to.

Times are ISO 8601 text (`2013-07-15`, `2013-07-15 10:00`, `2013-07-15T10:00:00Z`,
`2013-07-15T10:00:00-04:00`, also `2013-07`). By default a row belongs to the calendar period
its time is written in: an offset or `Z` is not converted away, so a flight written as
`2013-12-31T19:00:00-05:00` counts in December. Given a time zone (an IANA name such as
America/New_York), times written with an offset or `Z` are first converted to that zone
(`2013-12-31T23:00:00Z` is 18:00 in New York: December); times written without one are taken
as already local. Anything else (empty, another date style, an impossible date) gives the key
"" and the row is counted as untimed.

Only the distinct values of a column are parsed (a year of hourly times has a few thousand),
so the cost does not grow with the rows.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine.errors import InputError

PERIODS = ("month", "quarter", "year")
# A UTC offset (or Z) after a time of day; a date's own "-07" is not one.
_OFFSET = r"(\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*([zZ]|[+-]\d{2}(?::?\d{2})?)$"


def check_period(by: str) -> str:
    if by not in PERIODS:
        raise InputError(f"--by must be one of {', '.join(PERIODS)}, not {by!r}.", "E_USAGE")
    return by


def check_timezone(zone: str | None) -> str | None:
    """`zone` when it is an IANA time zone name (None: times are taken as written)."""
    if zone is None:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InputError(f"the time zone {zone!r} (--timezone) is not one Ratchet knows; give "
                         "an IANA name such as America/New_York, Europe/Berlin or UTC.",
                         "E_USAGE") from None
    return zone


def _local_times(text: pd.Series, timezone: str | None) -> pd.Series:
    """The wall-clock time of each text: as written, or (with offset / Z) in `timezone`."""
    written = pd.to_datetime(text.str.replace(_OFFSET, r"\1", regex=True), errors="coerce",
                             format="ISO8601")
    if timezone is None:
        return written
    offset = text.str.extract(_OFFSET)[1].notna().to_numpy(dtype=bool)
    if not offset.any():
        return written
    aware = text[offset].str.replace(_OFFSET, r"\1\2", regex=True).str.upper()  # no space, Z
    converted = pd.to_datetime(aware, errors="coerce", format="ISO8601", utc=True)
    local = converted.dt.tz_convert(timezone).dt.tz_localize(None)
    out = written.copy()
    out[offset] = local.astype(out.dtype)
    return out


def keys_of_values(values, by: str, timezone: str | None = None) -> list[str]:
    """The partition key of each distinct time text ("" where it is not a readable time);
    with `timezone`, times written with an offset or Z are converted to it first."""
    check_period(by)
    check_timezone(timezone)
    text = pd.Series(values, dtype=object).astype("string").str.strip()
    parsed = _local_times(text, timezone)
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


def key_codes(column: pa.Array | pa.ChunkedArray, by: str,
              timezone: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Per row an index into the returned key list (which may hold "" for untimed rows)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    encoded = column.dictionary_encode()
    keys = keys_of_values(encoded.dictionary.to_pylist(), by, timezone)
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


def partition_keys(times, by: str, timezone: str | None = None) -> np.ndarray:
    """Per row its partition key ("" for rows without a readable time)."""
    values = pa.array(np.asarray(times, dtype=object), type=pa.string(), from_pandas=True)
    codes, names = key_codes(values, by, timezone)
    return np.array(names, dtype=object)[codes] if len(codes) else np.zeros(0, dtype=object)
