"""The one background-job abstraction: outcomes, progress, cancel, and joining on close."""

import sys
import threading

import pytest
from PySide6.QtCore import QObject

from engine.errors import InputError
from gui import qtcompat
from gui.workers import Jobs
from tests.gui.kit import TIMEOUT_MS


def test_result_and_progress_arrive_on_the_ui_thread_in_order(jobs, qtbot):
    seen = []

    def work(*, progress, cancel):
        seen.append(("worker thread", threading.current_thread() is threading.main_thread()))
        for i in range(3):
            progress(i / 2, f"step {i}")
        return 42

    def record(name):
        return lambda *args: seen.append(
            (name, threading.current_thread() is threading.main_thread(), *args))

    job = jobs.start(work, "work", on_progress=record("progress"),
                     on_finished=record("finished"))
    with qtbot.waitSignal(job.done, timeout=TIMEOUT_MS):
        pass
    assert seen == [("worker thread", False), ("progress", True, 0.0, "step 0"),
                    ("progress", True, 0.5, "step 1"), ("progress", True, 1.0, "step 2"),
                    ("finished", True, 42)]
    assert not job.running and jobs.running() == []


def test_errors_arrive_as_failed_with_the_exception(jobs, qtbot):
    def work(*, progress, cancel):
        raise InputError("the file is empty.", "E_EMPTY_FILE")

    failures = []
    job = jobs.start(work, "fail", on_failed=failures.append,
                     on_finished=lambda r: pytest.fail("no result expected"))
    with qtbot.waitSignal(job.done, timeout=TIMEOUT_MS):
        pass
    assert [(type(e), e.code) for e in failures] == [(InputError, "E_EMPTY_FILE")]


def test_cancel_goes_through_the_engine_token(jobs, qtbot):
    started = threading.Event()

    def work(*, progress, cancel):
        started.set()
        while True:  # a long job that checks its token at every step, as the engine does
            cancel.check()
            threading.Event().wait(0.005)

    cancelled = []
    job = jobs.start(work, "long", on_cancelled=lambda: cancelled.append(True))
    assert started.wait(TIMEOUT_MS / 1000)
    job.cancel()
    with qtbot.waitSignal(job.done, timeout=TIMEOUT_MS):
        pass
    assert cancelled == [True]


def test_shutdown_cancels_and_joins_running_jobs_and_refuses_new_ones(qtbot):
    runner = Jobs()
    started = threading.Event()

    def work(*, progress, cancel):
        started.set()
        while True:
            cancel.check()
            threading.Event().wait(0.005)

    job = runner.start(work, "long")
    assert started.wait(TIMEOUT_MS / 1000)
    runner.shutdown()
    assert job.wait(0)  # the thread has stopped: it is safe to destroy it now
    assert runner.running() == []
    late = runner.start(work, "after close")
    assert not late.running


def test_pyside_reference_leak_guard(qtbot):
    """PySide6 6.12.0 on Python 3.11 drops a reference to None on every void call and to
    True on every emit; the guard must be active wherever that happens (see gui/qtcompat)."""

    class Probe(QObject):
        pass

    probe = Probe()
    for _ in range(100_000):  # several times what None had left when the app started
        probe.setObjectName("x")
    leaks = qtcompat._leaks()
    if sys.version_info < (3, 12) and max(leaks.values()) >= 8:
        assert qtcompat.IMMORTALIZED


def test_a_newer_job_with_the_same_key_supersedes_the_stale_one(jobs, qtbot):
    """The one stale-result scheme: the older job is cancelled and whatever it still reports
    is dropped; the newer one's result arrives."""
    release = threading.Event()

    def slow(*, progress, cancel):
        assert release.wait(TIMEOUT_MS / 1000)
        progress(1.0, "late")
        return "stale"

    seen = []
    old = jobs.start(slow, "read", key="data", on_finished=seen.append,
                     on_progress=lambda *a: seen.append(a), on_cancelled=lambda: seen.append(
                         "cancelled"), on_failed=seen.append)
    new = jobs.start(lambda *, progress, cancel: "fresh", "read", key="data",
                     on_finished=seen.append)
    assert old.superseded and old.token.cancelled and not new.superseded
    release.set()
    for job in (old, new):
        if job.running:
            with qtbot.waitSignal(job.done, timeout=TIMEOUT_MS):
                pass
    assert seen == ["fresh"]
    jobs.supersede("data")  # nothing runs under the key any more: nothing to do
    assert jobs.running() == []


def test_run_fails_into_the_error_dialog_unless_the_caller_says_otherwise(ctx, qtbot,
                                                                           shown_errors):
    def work(*, progress, cancel):
        raise InputError("the file is empty.", "E_EMPTY_FILE")

    with qtbot.waitSignal(ctx.run("fail", work).done, timeout=TIMEOUT_MS):
        pass
    assert [e.code for e in shown_errors] == ["E_EMPTY_FILE"]
    handled = []
    with qtbot.waitSignal(ctx.run("fail", work, on_failed=handled.append).done,
                          timeout=TIMEOUT_MS):
        pass
    assert len(shown_errors) == 1 and [e.code for e in handled] == ["E_EMPTY_FILE"]
