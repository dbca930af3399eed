"""Workstation services: each use case written once, for the command line and the app alike.

A service takes the open registry (or the workspace) and plain arguments, with the engine's
hooks for long work (`progress`, `cancel`), does the whole use case (the work, its record in
the history, and what follows from it: a trial's shadow, alarms and e-mail, the requirements
that go with an activation) and returns a plain result. `engine/commands` only parse arguments
and print what a service returns; `gui/tasks` call the same services and shape the result for
the pages.

    predict       score a CSV, record the batch, a running trial's shadow
    regress       the regression suite (pinned outliers, ratcheted requirements), recorded,
                  its report; pinning an outlier
    requirements  show, ratchet up (from a run now or the last one), set a bound by hand
    backtest      champion and challengers over a partitioned history, report, recorded
    nowtest       now-test, record, alarms, e-mail, a running trial's shadow
    models        import, activate, rollback (with the requirements a rollback restores)
    trial         the promotion gate, starting, showing, accepting and rejecting a trial
"""
