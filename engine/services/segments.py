"""Now-test segments: the now-test of a file with its metrics broken down per value of category
inputs (`ratchet nowtest --segment COL`, and every column that requirements with `applies:
"segment"` name), each segment's drift against the reference rows of the same value, and an
alarm reason for each segment that misses a bound holding every segment. The metrics,
bootstrap intervals and ranking are the back-test's (engine.backtest.segments); the rows come
from the now-test's own pass over the file (engine.nowtest.segments.SegmentRows)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.formats.segments import segment_columns
from engine.nowtest.result import NowtestResult
from engine.nowtest.run import FAMILY_ALPHA, model_for_nowtest, run_nowtest
from engine.nowtest.segments import SegmentRows, segment_drift, segment_reasons
from engine.progress import CancelToken, Progress, no_progress

DRAWS = 200


def nowtest_segmented(registry, path: Path, model_ref: str | None = None,
                      segments: list[str] | tuple[str, ...] = (),
                      progress: Progress = no_progress, cancel: CancelToken | None = None
                      ) -> NowtestResult:
    """engine.nowtest.run.nowtest_file (the same model, bundle and effective requirements),
    plus the segment tables (result.segments) and their alarm reasons when `segments` or the
    requirements name any column."""
    model, label, members, reqs = model_for_nowtest(registry, model_ref)
    columns = segment_columns(segments, reqs)
    if not columns:  # as engine.nowtest.run.nowtest_file
        return run_nowtest(Path(path), model, label, members, reqs, progress, cancel)
    # The segment tables only when segments are asked for: the back-test's module behind them
    # brings pandas and the evaluation code (~0.5 s of every now-test's start, issue 16).
    from engine.backtest.segments import check_segment_column, segment_codes, segment_table

    for column in columns:
        check_segment_column(model, column, label)
    rows = SegmentRows(model, Path(path))
    result = run_nowtest(Path(path), model, label, members, reqs, progress, cancel,
                         alongside=rows)
    data = rows.joined()
    scored = data["parsed"] & ~data["rejected"]
    y = data["y"]
    labelled = np.zeros(len(scored), bool) if y is None else (
        np.isfinite(y) if y.dtype.kind == "f" else y >= 0)
    tables, reasons = [], []
    for column in columns:
        values = data["inputs"][column]
        names, codes, _ = segment_codes(values, scored)
        drifted, notes = segment_drift(model, members.get("regression_cases.csv"), column,
                                       names, np.where(data["parsed"], codes, -1),
                                       data["inputs"], FAMILY_ALPHA)
        table = segment_table(column, model, values, y, data["prediction"], data["proba"],
                              scored, labelled, reqs, DRAWS, 0, drifted=drifted, notes=notes)
        tables.append(table)
        reasons += segment_reasons(label, table, reqs, Path(path).name)
    return replace(result, segments=tables, reasons=[*result.reasons, *reasons])
