"""The multivariate drift's row in a report's drift table (now-test and back-test HTML)."""

from __future__ import annotations

from engine.nowtest.multivariate import MultivariateDrift
from engine.nowtest.reasons import MULTIVARIATE


def multivariate_cells(d: MultivariateDrift) -> str:
    """Feature, test, statistic, p, threshold, missing, drifted and a note: the now-test
    report's drift columns."""
    verdict = "drifted" if d.drifted else "no"
    return (f"<td>{MULTIVARIATE}</td><td>PCA reconstruction</td>"
            f"<td class=num>{d.error:.4g}</td><td class=num></td>"
            f"<td class=num>{d.threshold:.4g}</td><td class=num></td>"
            f"<td class={'fail' if d.drifted else 'pass'}>{verdict}</td>"
            f"<td class=muted>{d.components} of {d.columns} components ({d.variance:.0%} of the "
            f"variance); reference {d.reference_error:.4g}</td>")


def multivariate_row(d: MultivariateDrift | None) -> str:
    return "" if d is None else f"<tr>{multivariate_cells(d)}</tr>"
