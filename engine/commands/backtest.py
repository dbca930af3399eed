"""`ratchet backtest CORPUS --time-column COL [--by month|quarter|year] [--timezone ZONE]
[--model ID[@V]] [--challenger ID@V|BUNDLE ...] [--report FILE.html|.pdf] [--dask ADDRESS]
[--segment COL ...]`.

Exit 0 when the champion meets its requirements in every partition, 1 when it misses one in
any, 2 for bad input (nothing recorded, no report written). Every finished run is stored in the
workspace history with its report (written to the workspace's reports folder unless --report
names a file).
"""

from __future__ import annotations

from pathlib import Path

from engine.commands import end_progress, open_registry, progress_to_stderr


def register(sub) -> None:
    bt = sub.add_parser("backtest", help="back-test models over a history, by month, quarter "
                        "or year")
    bt.add_argument("corpus", metavar="CORPUS", help="a CSV or Parquet file, or a folder of them")
    bt.add_argument("--time-column", required=True, metavar="COL",
                    help="the column with each row's date or time (ISO 8601)")
    bt.add_argument("--by", default="month", metavar="month|quarter|year",
                    help="the partitions (default: month)")
    bt.add_argument("--timezone", metavar="ZONE", help="an IANA time zone (e.g. "
                    "America/New_York): times written with an offset or Z are converted to it "
                    "before their month is taken; times without one count as local (default: "
                    "every time as written)")
    bt.add_argument("--model", metavar="ID[@VERSION]", help="the champion (default: the "
                    "model whose inputs the corpus has)")
    bt.add_argument("--challenger", action="extend", nargs="+", default=[],
                    metavar="ID@V|BUNDLE", help="installed versions or bundle files to compare "
                    "(bundles are verified, never installed)")
    bt.add_argument("--report", metavar="FILE.html|FILE.pdf", help="where to write the report, "
                    "HTML or PDF by the name's suffix (default: HTML in the workspace's "
                    "reports folder)")
    bt.add_argument("--dask", metavar="ADDRESS", help="score on this Dask scheduler's workers "
                    "(e.g. tcp://host:8786); they must reach the corpus at the same path")
    bt.add_argument("--segment", action="append", default=[], metavar="COL",
                    help="a category input of the champion: every metric per value of it (the "
                    "20 values with the most rows, the rest as \"other\"), ranked worst first "
                    "(repeat for more columns)")
    bt.set_defaults(handler=cmd_backtest)


def _check_args(args) -> None:
    from engine.backtest.corpus import corpus_files
    from engine.backtest.partitions import check_period, check_timezone
    from engine.ground.fileio import check_report_path

    check_period(args.by)
    check_timezone(getattr(args, "timezone", None))
    corpus_files(args.corpus)
    check_report_path(Path(args.report) if args.report else None, "backtest.html")


def cmd_backtest(args, ws_root) -> tuple[int, dict]:
    from engine.backtest.contenders import is_bundle_path
    from engine.services.backtest import backtest

    _check_args(args)
    challengers = [Path(spec) if is_bundle_path(spec) else spec for spec in args.challenger]
    registry = open_registry(ws_root)
    try:
        run = backtest(registry, args.corpus, args.time_column, args.by, args.model,
                       challengers, timezone=getattr(args, "timezone", None),
                       report=Path(args.report) if args.report else None, dask=args.dask,
                       segments=getattr(args, "segment", None) or (),
                       progress=progress_to_stderr)
    finally:
        registry.close()
    end_progress()
    result, report = run.result, str(run.report)
    code = 0 if result.passed else 1
    if not getattr(args, "json", False):
        return code, _for_people(result, report)
    doc = result.to_json()
    doc.update(id=run.run_id, report=report)
    return code, doc


def _for_people(result, report: str) -> dict:
    """The plain-text summary (--json gives everything)."""
    shown = list(dict.fromkeys([result.metric, *(r.metric for r in result.requirements)]))
    out = {"summary": " ".join(result.summary)}
    out["partitions"] = [
        {"partition": p.partition, "model": p.model, "rows": p.rows,
         **{m: "n/a" if p.metrics.get(m) is None else f"{p.metrics[m]:.4f}" for m in shown},
         "requirements": "met" if p.passed else "MISSED"} for p in result.partitions]
    for t in result.segments:
        out[f"segments by {t.column}"] = [
            {"segment": s.value, "rows": s.rows,
             t.metric: "n/a" if s.metrics.get(t.metric) is None
             else f"{s.metrics[t.metric]:.4f}", "bounds": "MISSED" if s.missed else "met"}
            for s in t.segments]
    out["report"] = report
    return out
