"""Checking a now-tested file against its bundle's data-quality rules (quality_rules.json), on
the now-test's one pass over the file: each chunk's rule columns are typed from the fields the
scan already read, and every rule counts its failing rows and keeps the first few (1-based data
row numbers, the value as the file wrote it).

A rule's rows are the file's rows that were read (the wrong number of fields refuses a row
before any column is read) and whose rule column parses: text in a number column refuses the
row, which the now-test already reports. Each result is a JSON document (kept in the
now-test's result, its report and its stored record):

    {"rule": "max_missing", "column": "dep_delay", "name": "max_missing(dep_delay)",
     "severity": "alarm", "passed": false, "measured": 0.33, "failing": 1000,
     "checked": 3000, "limit": "at most 5.0% missing", "bound": 0.05,
     "first_rows": [[2001, ""], ...], "message": "..."}

`measured`: the share of the checked rows that fail (max_missing, range, categories), or the
number of rows (min_rows); `bound`: the rule's number (the share, or the least rows; None for
range and categories, which allow no failing row).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.batch.scan import ChunkObserver, ScannedChunk
from engine.formats.quality_rules import QUALITY_RULES, QualityRule, check_quality_rules
from engine.model import Model, Prediction
from engine.nowtest.reasons import quality_reason
from engine.nowtest.result import AlarmReason

SHOWN_ROWS = 10  # failing rows listed per rule


def rules_of(model: Model, members: dict[str, bytes]) -> list[QualityRule]:
    """The bundle's rules; none when it has no quality_rules.json."""
    data = members.get(QUALITY_RULES)
    return [] if data is None else check_quality_rules(data, model.features)


class _Count:
    __slots__ = ("checked", "failing", "first")

    def __init__(self):
        self.checked = 0
        self.failing = 0
        self.first: list[list] = []


def shown(text) -> str:
    """A value as the file wrote it; an empty cell as ''."""
    return "" if text is None else str(text)


class QualityCheck:
    """A ChunkObserver that checks the rules on every chunk of the now-test's scan and hands
    the chunk on to `then` (a trial's champion) when there is one."""

    def __init__(self, model: Model, rules: list[QualityRule],
                 then: ChunkObserver | None = None):
        self.model = model
        self.rules = rules
        self.then = then
        self.columns: Sequence[str] = tuple(then.columns) if then is not None else ()
        names = {r.column for r in rules if r.column is not None}
        self._features = [f for f in model.features if f.name in names]
        self._counts = {r.name: _Count() for r in rules}

    def observe(self, scanned: ScannedChunk, prediction: Prediction) -> None:
        if self._features:
            self._check(scanned)
        if self.then is not None:
            self.then.observe(scanned, prediction)

    def _check(self, scanned: ScannedChunk) -> None:
        fields = scanned.fields
        columns, errors, _ = fields.typed(self._features, self.model.missing_markers,
                                          self.model.feature_names)
        read = np.zeros(len(errors.rejected), dtype=bool)
        read[fields.rows] = True
        ok = read & ~errors.rejected
        first_row = scanned.chunk.first_row
        for rule in self.rules:
            if rule.column is None:
                continue
            values = columns[rule.column]
            number = values.dtype.kind == "f"
            missing = np.isnan(values) if number else np.equal(values, None)
            if rule.rule == "max_missing":
                bad, considered = missing & ok, ok
            else:
                present = ok & ~missing
                if rule.rule == "range":
                    outside = np.zeros(len(values), dtype=bool)
                    if rule.low is not None:
                        outside |= values < rule.low
                    if rule.high is not None:
                        outside |= values > rule.high
                else:
                    allowed = np.asarray(rule.allowed, dtype=object)
                    outside = ~np.isin(values.astype(str), allowed.astype(str))
                bad, considered = outside & present, present
            count = self._counts[rule.name]
            count.checked += int(considered.sum())
            count.failing += int(bad.sum())
            room = SHOWN_ROWS - len(count.first)
            if room > 0 and bad.any():
                text = fields.fields[rule.column].to_numpy(zero_copy_only=False)
                for i in np.flatnonzero(bad)[:room]:
                    at = int(np.searchsorted(fields.rows, i))
                    count.first.append([first_row + int(i) + 1, shown(text[at])])

    def results(self, rows: int, file: str, label: str) -> list[dict]:
        """One document per rule (in the file's order), after the last chunk; `rows`: the
        file's data rows."""
        return [self._result(r, rows, file, label) for r in self.rules]

    def _result(self, rule: QualityRule, rows: int, file: str, label: str) -> dict:
        count = self._counts[rule.name]
        if rule.rule == "min_rows":
            passed = rows >= rule.low
            measured, bound, checked, failing = float(rows), rule.low, rows, 0
            what = f"{file} has {rows:,} data rows; the rule asks for {rule.limit}"
        else:
            checked, failing = count.checked, count.failing
            measured = failing / checked if checked else 0.0
            if rule.rule == "max_missing":
                passed, bound = measured <= rule.high, rule.high
                what = (f"{measured:.1%} of the {checked:,} rows of {file} have no "
                        f"{rule.column!r} value ({failing:,} rows); the rule allows "
                        f"{rule.limit}")
            else:
                passed, bound = failing == 0, None
                kind = "outside the range" if rule.rule == "range" else "not among the " \
                    "allowed categories"
                what = (f"{failing:,} of the {checked:,} {rule.column!r} values of {file} "
                        f"({measured:.1%}) are {kind} ({rule.limit})")
        first = [] if passed else count.first
        if first:
            listed = ", ".join(f"{n} ({v!r})" if rule.rule != "max_missing" or v else f"{n}"
                               for n, v in first)
            what += f"; first failing rows: {listed}"
        message = f"{label}: data-quality rule {rule.name} ({rule.severity}): {what}."
        return {"rule": rule.rule, "column": rule.column, "name": rule.name,
                "severity": rule.severity, "passed": bool(passed), "measured": measured,
                "failing": failing, "checked": checked, "limit": rule.limit, "bound": bound,
                "first_rows": first, "message": message, "note": rule.note}


def check_quality(model: Model, members: dict[str, bytes],
                  then: ChunkObserver | None = None) -> QualityCheck | None:
    """The observer to pass to the now-test's scan, or None when the bundle has no rules."""
    rules = rules_of(model, members)
    return QualityCheck(model, rules, then) if rules else None


def quality_reasons(results: list[dict]) -> list[AlarmReason]:
    """An alarm reason for each failed rule of severity `alarm` (`warn` rules are reported
    only)."""
    return [quality_reason(r) for r in results if not r["passed"] and r["severity"] == "alarm"]
