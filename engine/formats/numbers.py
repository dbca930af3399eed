"""Numbers in messages: short enough to read, precise enough to tell two values apart.

`0.9999612345678901, expected 0.99975 ± 1e-09` reads as `0.99996, expected 0.99975 ± 1e-09`:
four decimals at least, and as many more as the difference between the two values needs to
show (two significant digits of it), never so few that two different values look the same.
"""

from __future__ import annotations

import math

MIN_DECIMALS = 4
MAX_DECIMALS = 17


def _text(x: float, decimals: int) -> str:
    if not math.isfinite(x):
        return str(x)
    if x != 0 and not 1e-3 <= abs(x) < 1e12:  # tiny or huge: significant digits, not decimals
        return f"{x:.{decimals}g}"
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def shown(x: float) -> str:
    """One number, to MIN_DECIMALS decimals (or significant digits, if tiny or huge)."""
    return _text(float(x), MIN_DECIMALS)


def shown_pair(a: float, b: float) -> tuple[str, str]:
    """Two numbers compared in a message, with the shortest precision that tells them apart."""
    a, b = float(a), float(b)
    decimals = MIN_DECIMALS
    if math.isfinite(a) and math.isfinite(b) and a != b:
        decimals = max(MIN_DECIMALS, math.ceil(-math.log10(abs(a - b))) + 1)
    for d in range(min(decimals, MAX_DECIMALS), MAX_DECIMALS + 1):
        pair = _text(a, d), _text(b, d)
        if pair[0] != pair[1] or a == b or not (math.isfinite(a) and math.isfinite(b)):
            return pair
    return repr(a), repr(b)
