"""Counting and coding text values (None or NaN = missing) for the drift tests.

pandas' hash tables count a million values about three times faster than Python's dict, but
importing pandas costs about 0.3 s, which a now-test of a few thousand rows should not pay
(issue 16). So columns of up to PANDAS_ROWS values are counted with a dict, longer ones with
pandas, whose import their counting then repays. Both give the same counts and codes
(tests/engine/test_drift_distances.py runs each on the same values).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

PANDAS_ROWS = 200_000


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def value_counts(values: np.ndarray, pandas_rows: int = PANDAS_ROWS) -> list[tuple[object, int]]:
    """(value, count) pairs, most frequent first (ties: first seen first, missing values
    wherever), missing values as None."""
    if values.size > pandas_rows:
        import pandas as pd

        counts = pd.Series(values, dtype=object).value_counts(dropna=False, sort=False)
        pairs = list(zip(counts.index.tolist(), counts.tolist(), strict=True))
    else:
        pairs = list(Counter(values.tolist()).items())
    if any(_missing(v) for v, _ in pairs):  # None and NaN (each NaN object, too) as one
        merged: dict = {}
        for v, n in pairs:
            key = None if _missing(v) else v
            merged[key] = merged.get(key, 0) + int(n)
        pairs = list(merged.items())
    pairs.sort(key=lambda pair: -pair[1])  # stable: ties keep their first-seen order
    return pairs


def factorize(values: np.ndarray, pandas_rows: int = PANDAS_ROWS) -> tuple[np.ndarray, list]:
    """(codes, uniques): codes[i] indexes uniques (in first-seen order), -1 for a missing
    value."""
    if values.size > pandas_rows:
        import pandas as pd

        codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
        return codes.astype(np.int64), list(uniques)
    index: dict = {}
    codes = np.empty(values.size, dtype=np.int64)
    for i, v in enumerate(values.tolist()):
        codes[i] = -1 if _missing(v) else index.setdefault(v, len(index))
    return codes, list(index)
