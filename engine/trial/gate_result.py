"""What the promotion gate found: the verdict, the reasons in words (each with its figures),
every check, and the evidence (the candidate's regression suite, the back-test against the
champion, the now-test on the latest data). Serializes to JSON and back, so a stored gate run
can be shown or reported again."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from engine.backtest.result import BacktestResult
from engine.formats.cases import CaseResult
from engine.nowtest.result import NowtestResult
from engine.regression.suite import RequirementResult, SuiteResult

ACCEPT, REJECT = "accept", "reject"


@dataclass(frozen=True, slots=True)
class GateCheck:
    name: str  # "regression suite" | "minimums" | "beats the champion" | "tolerance" | "now-test"
    passed: bool
    detail: str  # one sentence for people, with the figures


@dataclass(frozen=True, slots=True)
class GateResult:
    candidate: str  # "ID@V"
    champion: str
    bundle_sha256: str
    verdict: str  # ACCEPT | REJECT
    reasons: list[str]  # rejected: the failed checks; accepted: every check, each with figures
    checks: list[GateCheck]
    metric: str  # the primary metric (the champion's first requirement)
    margin: float | None
    tolerance: float
    requirements: list[dict]  # what the candidate was held to: metric, bound_name, bound, ...
    corpus: str
    time_column: str
    by: str
    latest: str | None
    suite: SuiteResult
    backtest: BacktestResult
    nowtest: NowtestResult | None = None
    at: str = ""
    id: int | None = None  # in the workspace history (gate_runs)
    report: str | None = None
    notes: list[str] = field(default_factory=list)
    # the requirements the candidate misses that the champion misses too (gate_checks.
    # champion_misses): the case where the app offers to lower the bound or accept anyway
    champion_misses: list[dict] = field(default_factory=list)
    # an acceptance forced over a rejecting run: why, who, when, and the run it overrode
    forced: dict | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict == ACCEPT

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "candidate": self.candidate,
                "champion": self.champion, "reasons": self.reasons,
                "checks": [asdict(c) for c in self.checks], "metric": self.metric,
                "margin": self.margin, "tolerance": self.tolerance,
                "requirements": self.requirements, "bundle_sha256": self.bundle_sha256,
                "corpus": self.corpus, "time_column": self.time_column, "by": self.by,
                "latest": self.latest, "id": self.id, "report": self.report, "at": self.at,
                "notes": self.notes, "champion_misses": self.champion_misses,
                "forced": self.forced, "suite": suite_json(self.suite),
                "backtest": self.backtest.to_json(),
                "nowtest": None if self.nowtest is None else self.nowtest.to_json()}

    @classmethod
    def from_json(cls, doc: dict) -> GateResult:
        return cls(
            candidate=doc["candidate"], champion=doc["champion"],
            bundle_sha256=doc.get("bundle_sha256", ""), verdict=doc["verdict"],
            reasons=list(doc["reasons"]), checks=[GateCheck(**c) for c in doc["checks"]],
            metric=doc.get("metric", ""), margin=doc.get("margin"),
            tolerance=doc.get("tolerance", 0.0), requirements=list(doc.get("requirements", [])),
            corpus=doc.get("corpus", ""), time_column=doc.get("time_column", ""),
            by=doc.get("by", "month"), latest=doc.get("latest"),
            suite=suite_from_json(doc["suite"]),
            backtest=BacktestResult.from_json(doc["backtest"]),
            nowtest=None if doc.get("nowtest") is None else NowtestResult.from_json(
                doc["nowtest"]),
            at=doc.get("at", ""), id=doc.get("id"), report=doc.get("report"),
            notes=list(doc.get("notes", [])),
            champion_misses=list(doc.get("champion_misses", [])), forced=doc.get("forced"))


def suite_json(suite: SuiteResult) -> dict:
    """The suite's own document, plus the figures its report shows (total and passed cases)."""
    doc = suite.to_json()
    doc["cases"]["passed"] = sum(c.passed for c in suite.cases)
    doc["cases"]["pinned"] = sum(c.kind == "outlier" for c in suite.cases)
    return doc


def suite_from_json(doc: dict) -> SuiteResult:
    """A SuiteResult good for its report: the failed cases as stored, the passed ones as
    plain placeholders (the stored document keeps only their number)."""
    failed = [CaseResult(**c) for c in doc["cases"].get("failures", [])]
    passed = doc["cases"].get("passed", doc["cases"]["total"] - len(failed))
    cases = failed + [CaseResult(0, "", "", True, "ok")] * passed
    reqs = [RequirementResult(r["metric"], r.get("value"), r.get("min", r.get("max")),
                              "min" if "min" in r else "max", r["passed"], r.get("rows", 0))
            for r in doc.get("requirements", [])]
    ref = doc.get("reference", {})
    return SuiteResult(doc["model"], cases, reqs, ref.get("rows", 0), ref.get("rejected", 0),
                       list(doc.get("problems", [])))
