"""Data-quality rules (`quality_rules.json`, ratchet-quality-rules/1): what every file a model
is now-tested on must look like, whatever the model makes of it. An optional bundle member,
shipped beside the requirements; a bundle without it has no rules.

    {"format": "ratchet-quality-rules/1",
     "rules": [
       {"rule": "min_rows", "min": 1000, "severity": "warn"},
       {"rule": "max_missing", "column": "dep_delay", "max": 0.05, "severity": "alarm"},
       {"rule": "range", "column": "dep_delay", "min": -60, "max": 1500, "severity": "alarm"},
       {"rule": "categories", "column": "carrier", "allowed": ["AA", "B6"], "severity": "warn"}
     ],
     "generated": {...}}

- `min_rows`: the file has at least `min` data rows (a positive integer).
- `max_missing`: at most the share `max` (0 to 1) of the column's values is missing (empty or
  one of the model's missing-value markers).
- `range`: every present value of a number column lies in [`min`, `max`] (either may be left
  out for an open end).
- `categories`: every present value of a category column is one of `allowed`.

Each rule has a `severity`: `alarm` (a failure raises an alarm, like a missed requirement) or
`warn` (reported only), and may carry a `note` (text). One rule of each kind per column.
`generated` (optional, an object) records how `ratchet export` made the starting point.
Columns must be the model's inputs (checked against the model where the bundle is built and
verified).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.errors import EngineError
from engine.ground.strict_json import NotCanonical, parse_strict

QUALITY_RULES_FORMAT = "ratchet-quality-rules/1"
QUALITY_RULES = "quality_rules.json"
SEVERITIES = ("warn", "alarm")
KINDS = ("min_rows", "max_missing", "range", "categories")
_KEYS = {"min_rows": {"min"}, "max_missing": {"column", "max"},
         "range": {"column", "min", "max"}, "categories": {"column", "allowed"}}
_COMMON = {"rule", "severity", "note"}


@dataclass(frozen=True, slots=True)
class QualityRule:
    rule: str  # one of KINDS
    severity: str  # "warn" or "alarm"
    column: str | None = None  # None for min_rows
    low: float | None = None  # range: min; min_rows: the least number of rows
    high: float | None = None  # range: max; max_missing: the largest share
    allowed: tuple[str, ...] | None = None  # categories
    note: str = ""

    @property
    def name(self) -> str:
        """How messages and tables name the rule: "max_missing(dep_delay)", "min_rows"."""
        return self.rule if self.column is None else f"{self.rule}({self.column})"

    @property
    def limit(self) -> str:
        """The rule's bound in words: "at most 5.0% missing", "from -60 to 1500"."""
        if self.rule == "min_rows":
            return f"at least {int(self.low):,} rows"
        if self.rule == "max_missing":
            return f"at most {self.high:.1%} missing"
        if self.rule == "range":
            if self.low is None:
                return f"at most {self.high:g}"
            return f"at least {self.low:g}" if self.high is None else \
                f"from {self.low:g} to {self.high:g}"
        shown = ", ".join(self.allowed[:8]) + (" …" if len(self.allowed) > 8 else "")
        return f"one of {shown}"


def _invalid(why: str) -> EngineError:
    return EngineError(f"quality_rules.json: {why} Fix the file (its format is described in "
                       "coefficients/FORMAT.md) and build the bundle again.",
                       "E_QUALITY_RULES_INVALID")


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(f"{where} must be a number, not {value!r}.")
    return float(value)


def _rule(i: int, doc) -> QualityRule:
    at = f"rules[{i}]"
    if not isinstance(doc, dict) or doc.get("rule") not in KINDS:
        got = doc.get("rule") if isinstance(doc, dict) else doc
        raise _invalid(f"{at}.rule must be one of {', '.join(KINDS)}, not {got!r}.")
    kind = doc["rule"]
    at = f"{at} ({kind})"
    unknown = sorted(set(doc) - _KEYS[kind] - _COMMON)
    if unknown:
        raise _invalid(f"{at} has the field(s) {', '.join(unknown)}, which a {kind} rule does "
                       f"not take (it takes {', '.join(sorted(_KEYS[kind] | _COMMON))}).")
    if doc.get("severity") not in SEVERITIES:
        raise _invalid(f"{at}.severity must be 'warn' or 'alarm', not {doc.get('severity')!r}.")
    note = doc.get("note", "")
    if not isinstance(note, str):
        raise _invalid(f"{at}.note must be text.")
    column = doc.get("column")
    if kind != "min_rows" and (not isinstance(column, str) or not column):
        raise _invalid(f"{at}.column must name one of the model's input columns.")
    common = {"rule": kind, "severity": doc["severity"], "column": column, "note": note}
    if kind == "min_rows":
        least = doc.get("min")
        if isinstance(least, bool) or not isinstance(least, int) or least < 1:
            raise _invalid(f"{at}.min must be a positive whole number of rows, not {least!r}.")
        return QualityRule(**common, low=float(least))
    if kind == "max_missing":
        share = _number(doc.get("max"), f"{at}.max")
        if not 0 <= share <= 1:
            raise _invalid(f"{at}.max is a share of the rows, from 0 to 1, not {share!r}.")
        return QualityRule(**common, high=share)
    if kind == "range":
        low = None if doc.get("min") is None else _number(doc["min"], f"{at}.min")
        high = None if doc.get("max") is None else _number(doc["max"], f"{at}.max")
        if low is None and high is None:
            raise _invalid(f"{at} needs a min, a max or both.")
        if low is not None and high is not None and low > high:
            raise _invalid(f"{at}.min ({low:g}) is above its max ({high:g}).")
        return QualityRule(**common, low=low, high=high)
    allowed = doc.get("allowed")
    if not isinstance(allowed, list) or not allowed or \
            not all(isinstance(v, str) for v in allowed):
        raise _invalid(f"{at}.allowed must be a non-empty list of texts (the categories).")
    return QualityRule(**common, allowed=tuple(allowed))


def parse_quality_rules(data: bytes) -> list[QualityRule]:
    try:
        doc = parse_strict(data)
    except NotCanonical as exc:
        raise _invalid(f"{exc}.") from None
    if not isinstance(doc, dict) or doc.get("format") != QUALITY_RULES_FORMAT:
        raise _invalid(f"format must be {QUALITY_RULES_FORMAT!r}.")
    unknown = sorted(set(doc) - {"format", "rules", "generated"})
    if unknown:
        raise _invalid(f"the field(s) {', '.join(unknown)} are not part of the format (it has "
                       "format, rules and generated).")
    if "generated" in doc and not isinstance(doc["generated"], dict):
        raise _invalid("generated must be an object.")
    rules = doc.get("rules")
    if not isinstance(rules, list):
        raise _invalid("rules must be a list.")
    out = [_rule(i, r) for i, r in enumerate(rules)]
    seen = set()
    for r in out:
        if r.name in seen:
            raise _invalid(f"{r.name} is given twice; keep one.")
        seen.add(r.name)
    return out


def check_for_model(rules: list[QualityRule], features) -> None:
    """Every rule's column is an input of the model (`features`: its Feature list), ranges on
    number columns, categories on category columns."""
    types = {f.name: f.type for f in features}
    for i, r in enumerate(rules):
        if r.column is None:
            continue
        if r.column not in types:
            raise _invalid(f"rules[{i}] ({r.rule}).column {r.column!r} is not an input of the "
                           f"model (its inputs: {', '.join(types)}).")
        if r.rule == "range" and types[r.column] != "number":
            raise _invalid(f"rules[{i}] (range): {r.column!r} is a category column; give it a "
                           "categories rule instead.")
        if r.rule == "categories" and types[r.column] == "number":
            raise _invalid(f"rules[{i}] (categories): {r.column!r} is a number column; give it "
                           "a range rule instead.")


def check_quality_rules(data: bytes, features=None) -> list[QualityRule]:
    """Validate a bundle's quality_rules.json (before a bundle is built or installed)."""
    rules = parse_quality_rules(data)
    if features is not None:
        check_for_model(rules, features)
    return rules
