"""The folder watcher on a real folder and a real SQLite workspace: every new CSV exactly once
(a burst of 100, two watchers racing in threads and in processes), never a file still being
written, restart safety (done files skipped, a killed watcher's claim redone, a live one's
left alone), failures recorded and not retried, new content is new work."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.errors import Cancelled, InputError
from engine.ground.clock import now_text
from engine.ground.database import connect
from engine.watch.claims import HOST, start_token
from engine.watch.watcher import FolderWatcher, is_candidate

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A process() that counts the calls per file and returns a numbered outcome."""

    def __init__(self, fail: set[str] = frozenset(), delay: float = 0.0):
        self.calls: collections.Counter[str] = collections.Counter()
        self.contents: dict[str, str] = {}
        self.fail = fail
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, path: Path):
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.calls[path.name] += 1
            self.contents[path.name] = path.read_text()
            n = sum(self.calls.values())
        if path.name in self.fail:
            raise InputError(f"{path.name}: row 2, column dep_delay: 'abc' is not a number.")
        return SimpleNamespace(nowtest_id=n)



@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def write_csvs(folder: Path, n: int, prefix: str = "f") -> list[str]:
    names = [f"{prefix}{i:03d}.csv" for i in range(n)]
    for i, name in enumerate(names):
        (folder / name).write_text(f"a,b\n{i},{i * 2}\n")
    return names


def rows(empty_ws, folder: Path) -> dict[str, dict]:
    conn = connect(empty_ws.database)
    try:
        found = conn.execute("SELECT * FROM watched_files WHERE folder = ?",
                             (str(folder.resolve()),)).fetchall()
    finally:
        conn.close()
    return {r["name"]: dict(r) for r in found}


def test_a_burst_of_100_files_is_processed_exactly_once(empty_ws, inbox):
    names = write_csvs(inbox, 100)
    clock, process = FakeClock(), Recorder()
    watcher = FolderWatcher(empty_ws.root, inbox, process, settle_seconds=2.0, clock=clock)
    assert watcher.poll_once() == []  # first sight: not settled yet
    clock.now = 1.0
    assert watcher.poll_once() == []
    clock.now = 2.0
    events = watcher.poll_once()
    assert sorted(e.path.name for e in events) == names
    assert all(e.state == "done" and e.error is None for e in events)
    clock.now = 10.0
    assert watcher.poll_once() == []
    assert process.calls == collections.Counter({n: 1 for n in names})
    stored = rows(empty_ws, inbox)
    assert sorted(stored) == names and {r["state"] for r in stored.values()} == {"done"}
    assert sorted(r["nowtest_id"] for r in stored.values()) == list(range(1, 101))
    assert all(r["finished_at"] and r["owner_pid"] == os.getpid() for r in stored.values())


def test_two_watchers_racing_in_threads_process_each_file_once(empty_ws, inbox):
    names = write_csvs(inbox, 100)
    process = Recorder(delay=0.001)
    stop = threading.Event()
    watchers = [FolderWatcher(empty_ws.root, inbox, process, settle_seconds=0.0) for _ in range(2)]
    threads = [threading.Thread(target=w.run, args=(stop,), kwargs={"interval": 0.01})
               for w in watchers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60  # only so that a bug fails instead of hanging
    while sum(process.calls.values()) < 100 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # a double take would come now
    stop.set()
    for t in threads:
        t.join()
    assert process.calls == collections.Counter({n: 1 for n in names})
    assert {r["state"] for r in rows(empty_ws, inbox).values()} == {"done"}


RACER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from types import SimpleNamespace
    from engine.watch.watcher import FolderWatcher

    root, folder, log, go = sys.argv[1:5]
    first = [True]

    def process(path):
        with open(log, "a") as fh:  # O_APPEND: whole lines from both processes
            fh.write(f"{os.getpid()} {path.name}\\n")
        deadline = time.monotonic() + 30
        while first[0] and time.monotonic() < deadline:  # hold the first file until the
            pids = {l.split()[0] for l in Path(log).read_text().splitlines()}
            if len(pids) == 2:  # other process has claimed one too: a real race
                break
            time.sleep(0.001)
        first[0] = False
        time.sleep(0.002)
        return SimpleNamespace(nowtest_id=None)

    watcher = FolderWatcher(root, folder, process, settle_seconds=0.0)
    watcher.poll_once()  # first sight
    Path(go + f".ready-{os.getpid()}").touch()
    while not Path(go).exists():
        time.sleep(0.001)
    while watcher.poll_once():
        pass
""")


def test_two_watcher_processes_racing_process_each_file_once(empty_ws, inbox, tmp_path):
    names = write_csvs(inbox, 100)
    log, go = tmp_path / "processed.log", tmp_path / "go"
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(empty_ws.root), str(inbox),
                                str(log), str(go)], cwd=ROOT) for _ in range(2)]
    deadline = time.monotonic() + 60  # only so that a bug fails instead of hanging
    while len(list(tmp_path.glob("go.ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # both have imported and seen the files: start them together
    go.touch()
    assert [p.wait(timeout=120) for p in racers] == [0, 0]
    lines = log.read_text().splitlines()
    assert sorted(line.split()[1] for line in lines) == names
    assert len({line.split()[0] for line in lines}) == 2  # both took part in the race
    assert {r["state"] for r in rows(empty_ws, inbox).values()} == {"done"}


def test_a_file_still_being_written_is_not_read_half(empty_ws, inbox):
    clock, process = FakeClock(), Recorder()
    watcher = FolderWatcher(empty_ws.root, inbox, process, settle_seconds=2.0, clock=clock)
    path = inbox / "growing.csv"
    with path.open("w") as fh:
        fh.write("a,b\n" + "".join(f"{i},{i}\n" for i in range(100)))
        fh.flush()
        assert watcher.poll_once() == []
        clock.now = 3.0
        fh.write("".join(f"{i},{i}\n" for i in range(100, 200)))
        fh.flush()
        assert watcher.poll_once() == []  # it changed: wait again
        clock.now = 4.5
        assert watcher.poll_once() == []  # unchanged for 1.5 s only
        fh.write("".join(f"{i},{i}\n" for i in range(200, 300)))
    clock.now = 6.0
    assert watcher.poll_once() == []
    clock.now = 8.0
    (event,) = watcher.poll_once()
    assert event.state == "done"
    assert process.contents["growing.csv"].count("\n") == 301  # header + 300 rows: all of it


def test_after_a_restart_done_is_skipped_and_a_killed_watchers_claim_is_redone(empty_ws, inbox):
    write_csvs(inbox, 3)
    clock, first = FakeClock(), Recorder()
    watcher = FolderWatcher(empty_ws.root, inbox, first, settle_seconds=0.0, clock=clock)
    watcher.poll_once()
    assert len(watcher.poll_once()) == 3
    (inbox / "killed.csv").write_text("a,b\n1,2\n")
    (inbox / "live.csv").write_text("a,b\n3,4\n")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid now belongs to no process
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        token = ""
        while not token:  # the sleeper's start token, as its watcher would have stored it
            token = start_token(sleeper.pid)
        conn = connect(empty_ws.database)
        try:
            for name, pid, started in (("killed.csv", gone.pid, "boot:1"),
                                       ("live.csv", sleeper.pid, token)):
                st = (inbox / name).stat()
                conn.execute("INSERT INTO watched_files (folder, name, size, mtime_ns, state, "
                             "claimed_at, owner_host, owner_pid, owner_started) VALUES "
                             "(?,?,?,?,'claimed',?,?,?,?)",
                             (str(inbox.resolve()), name, st.st_size, st.st_mtime_ns,
                              now_text(), HOST, pid, started))
        finally:
            conn.close()
        again = Recorder()
        restarted = FolderWatcher(empty_ws.root, inbox, again, settle_seconds=0.0, clock=clock)
        restarted.poll_once()
        events = restarted.poll_once()
        assert [e.path.name for e in events] == ["killed.csv"]  # the live claim is left alone
        assert again.calls == collections.Counter({"killed.csv": 1})
        assert rows(empty_ws, inbox)["live.csv"]["state"] == "claimed"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert [e.path.name for e in restarted.poll_once()] == ["live.csv"]  # its owner is gone
    assert {r["state"] for r in rows(empty_ws, inbox).values()} == {"done"}
    assert sum(again.calls.values()) == 2 and sum(first.calls.values()) == 3


def test_a_reused_pid_or_an_old_claim_from_elsewhere_is_stale(empty_ws, inbox):
    (inbox / "reused.csv").write_text("a\n1\n")
    (inbox / "elsewhere-old.csv").write_text("a\n2\n")
    (inbox / "elsewhere-new.csv").write_text("a\n3\n")
    conn = connect(empty_ws.database)
    try:
        for name, host, pid, started, at in (
                # our own pid, but another run of it (before a reboot): stale
                ("reused.csv", HOST, os.getpid(), "another-boot:42", now_text()),
                ("elsewhere-old.csv", "other-host", 4242, "", "2026-01-01T00:00:00+00:00"),
                ("elsewhere-new.csv", "other-host", 4242, "", now_text())):
            st = (inbox / name).stat()
            conn.execute("INSERT INTO watched_files (folder, name, size, mtime_ns, state, "
                         "claimed_at, owner_host, owner_pid, owner_started) VALUES "
                         "(?,?,?,?,'claimed',?,?,?,?)",
                         (str(inbox.resolve()), name, st.st_size, st.st_mtime_ns, at, host, pid,
                          started))
    finally:
        conn.close()
    process = Recorder()
    watcher = FolderWatcher(empty_ws.root, inbox, process, settle_seconds=0.0, clock=FakeClock())
    watcher.poll_once()
    assert sorted(e.path.name for e in watcher.poll_once()) == ["elsewhere-old.csv",
                                                                 "reused.csv"]
    assert rows(empty_ws, inbox)["elsewhere-new.csv"]["state"] == "claimed"


def test_a_failure_is_recorded_not_retried_and_the_watcher_goes_on(empty_ws, inbox):
    write_csvs(inbox, 3)
    clock, process = FakeClock(), Recorder(fail={"f001.csv"})
    watcher = FolderWatcher(empty_ws.root, inbox, process, settle_seconds=0.0, clock=clock)
    watcher.poll_once()
    events = {e.path.name: e for e in watcher.poll_once()}
    assert [events[n].state for n in ("f000.csv", "f001.csv", "f002.csv")] == \
        ["done", "failed", "done"]
    assert "column dep_delay" in events["f001.csv"].error
    stored = rows(empty_ws, inbox)["f001.csv"]
    assert stored["state"] == "failed" and "'abc' is not a number" in stored["error"]
    assert stored["nowtest_id"] is None and stored["finished_at"]
    assert watcher.poll_once() == []
    restarted = FolderWatcher(empty_ws.root, inbox, process, settle_seconds=0.0, clock=clock)
    restarted.poll_once()
    assert restarted.poll_once() == []  # not retried after a restart either
    assert process.calls["f001.csv"] == 1


def test_a_file_replaced_with_new_content_is_new_work(empty_ws, inbox):
    clock, process = FakeClock(), Recorder()
    watcher = FolderWatcher(empty_ws.root, inbox, process, settle_seconds=0.0, clock=clock)
    path = inbox / "daily.csv"
    path.write_text("a,b\n1,2\n")
    watcher.poll_once()
    assert len(watcher.poll_once()) == 1
    path.write_text("a,b\n1,2\n3,4\n")
    watcher.poll_once()
    assert len(watcher.poll_once()) == 1
    assert process.calls["daily.csv"] == 2 and process.contents["daily.csv"].endswith("3,4\n")
    conn = connect(empty_ws.database)
    try:
        assert conn.execute("SELECT COUNT(*) FROM watched_files WHERE name = 'daily.csv' "
                            "AND state = 'done'").fetchone()[0] == 2
    finally:
        conn.close()


def test_only_settled_visible_complete_csv_files_are_candidates(empty_ws, inbox):
    for name in (".hidden.csv", "x.csv.part", "x.part.csv", "upload.tmp", "~$book.csv",
                 "notes.txt", "backup.csv~", "data.2026.11.CSV", "ok.csv"):
        (inbox / name).write_text("a\n1\n")
    (inbox / "empty.csv").write_text("")
    (inbox / "folder.csv").mkdir()
    process = Recorder()
    watcher = FolderWatcher(empty_ws.root, inbox, process, settle_seconds=0.0, clock=FakeClock())
    watcher.poll_once()
    events = watcher.poll_once()
    assert sorted(e.path.name for e in events if e.state == "done") == ["data.2026.11.CSV",
                                                                        "ok.csv"]
    assert [(e.path.name, e.state) for e in events if e.state != "done"] == [
        ("empty.csv", "failed")]  # an empty file is recorded, not processed
    assert sorted(process.calls) == ["data.2026.11.CSV", "ok.csv"]
    assert not is_candidate("report.csv.crdownload") and is_candidate("Report.Csv")


def test_cancelled_work_is_released_and_done_later(empty_ws, inbox):
    write_csvs(inbox, 1)
    clock = FakeClock()

    def cancelled(path):
        raise Cancelled()

    watcher = FolderWatcher(empty_ws.root, inbox, cancelled, settle_seconds=0.0, clock=clock)
    watcher.poll_once()
    with pytest.raises(Cancelled):
        watcher.poll_once()
    assert rows(empty_ws, inbox) == {}  # the claim was given back
    process = Recorder()
    later = FolderWatcher(empty_ws.root, inbox, process, settle_seconds=0.0, clock=clock)
    later.poll_once()
    assert [e.state for e in later.poll_once()] == ["done"]


def test_run_reports_each_file_and_stops_quietly_when_cancelled(empty_ws, inbox):
    write_csvs(inbox, 2)
    stop = threading.Event()
    seen = []

    def process(path):
        if path.name == "f001.csv":
            stop.set()  # the app's Stop: the event is set and the now-test cancelled
            raise Cancelled()
        return SimpleNamespace(nowtest_id=7)

    watcher = FolderWatcher(empty_ws.root, inbox, process, settle_seconds=0.0)
    thread = threading.Thread(target=watcher.run, args=(stop,),
                              kwargs={"interval": 0.01, "on_event": seen.append})
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert [(e.path.name, e.state, e.nowtest_id) for e in seen] == [("f000.csv", "done", 7)]
    assert list(rows(empty_ws, inbox)) == ["f000.csv"]  # f001 is left for the next start


def test_run_reports_a_vanished_folder_once_and_its_return(empty_ws, inbox):
    """The folder deleted while watching: on_problem gets the text once (not at every poll),
    then None once it is back, and the watcher goes on with the files in it."""
    write_csvs(inbox, 1)
    stop = threading.Event()
    seen, problems = [], []
    done = [threading.Event(), threading.Event()]  # the first file, the one after
    reported, cleared = threading.Event(), threading.Event()

    def on_event(event):
        seen.append(event)
        done[len(seen) - 1].set()

    def on_problem(text):
        problems.append(text)
        (reported if text else cleared).set()

    watcher = FolderWatcher(empty_ws.root, inbox, Recorder(), settle_seconds=0.0)
    thread = threading.Thread(target=watcher.run, args=(stop,), kwargs={
        "interval": 0.01, "on_event": on_event, "on_problem": on_problem}, daemon=True)
    thread.start()
    try:
        assert done[0].wait(60)
        for path in inbox.iterdir():
            path.unlink()
        inbox.rmdir()
        assert reported.wait(60)
        stop.wait(0.2)  # some twenty more polls of the missing folder: still one report
        assert problems == [f"the watch folder {inbox.resolve()} no longer exists."]
        inbox.mkdir()
        write_csvs(inbox, 1, prefix="back")
        assert cleared.wait(60) and done[1].wait(60)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert problems[1:] == [None]
    assert [(e.path.name, e.state) for e in seen] == [("f000.csv", "done"),
                                                     ("back000.csv", "done")]


def test_a_missing_folder_is_a_clear_error(empty_ws, tmp_path):
    with pytest.raises(InputError) as info:
        FolderWatcher(empty_ws.root, tmp_path / "nowhere", Recorder())
    assert "nowhere" in info.value.message and info.value.code == "E_WATCH_FOLDER"


def test_a_claim_of_this_process_that_no_watcher_is_working_on_is_retaken(empty_ws, inbox):
    """E.g. a watcher thread whose database write failed after its now-test: the claim is this
    process's, but nobody is on it, so the next poll takes it (instead of waiting for a
    restart)."""
    (inbox / "orphan.csv").write_text("a\n1\n")
    st = (inbox / "orphan.csv").stat()
    conn = connect(empty_ws.database)
    try:
        conn.execute("INSERT INTO watched_files (folder, name, size, mtime_ns, state, "
                     "claimed_at, owner_host, owner_pid, owner_started) VALUES "
                     "(?,?,?,?,'claimed',?,?,?,?)",
                     (str(inbox.resolve()), "orphan.csv", st.st_size, st.st_mtime_ns,
                      now_text(), HOST, os.getpid(), start_token(os.getpid())))
    finally:
        conn.close()
    watcher = FolderWatcher(empty_ws.root, inbox, Recorder(), settle_seconds=0.0, clock=FakeClock())
    watcher.poll_once()
    assert [e.state for e in watcher.poll_once()] == ["done"]


def test_a_watcher_killed_after_recording_its_nowtest_does_not_count_the_file_twice(empty_ws,
                                                                                    inbox):
    """The now-test and the settling of the claim are two commits; a watcher killed between
    them left a 'claimed' row and a recorded now-test. The next watcher settles the claim with
    that now-test instead of testing the file again."""
    (inbox / "august.csv").write_text("a,b\n1,2\n")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    st = (inbox / "august.csv").stat()
    conn = connect(empty_ws.database)
    try:
        conn.execute("INSERT INTO watched_files (folder, name, size, mtime_ns, state, "
                     "claimed_at, owner_host, owner_pid, owner_started) VALUES "
                     "(?,?,?,?,'claimed',?,?,?,?)",
                     (str(inbox.resolve()), "august.csv", st.st_size, st.st_mtime_ns,
                      now_text(), HOST, gone.pid, "boot:1"))
        recorded = conn.execute(
            "INSERT INTO nowtests (model, input, input_sha256, rows, labelled, alarm, "
            "result_json, source, at, user) VALUES ('m@1', ?, 'x', 1, 0, 0, '{}', 'watch', ?, "
            "'u')", (str(inbox.resolve() / "august.csv"), now_text())).lastrowid
    finally:
        conn.close()
    again = Recorder()
    watcher = FolderWatcher(empty_ws.root, inbox, again, settle_seconds=0.0, clock=FakeClock())
    watcher.poll_once()
    assert watcher.poll_once() == []
    assert again.calls == collections.Counter()
    row = rows(empty_ws, inbox)["august.csv"]
    assert (row["state"], row["nowtest_id"]) == ("done", recorded)


def test_stopped_after_its_nowtest_was_recorded_the_file_is_done_not_given_back(empty_ws, inbox):
    """Ctrl-C while the alarm e-mail or the shadow run goes on: the now-test is already
    committed, so the claim is settled with it instead of given back for a second test."""
    write_csvs(inbox, 1)
    clock = FakeClock()

    def recorded_then_interrupted(path):
        conn = connect(empty_ws.database)
        try:
            conn.execute("INSERT INTO nowtests (model, input, input_sha256, rows, labelled, "
                         "alarm, result_json, source, at, user) VALUES ('m@1', ?, 'x', 1, 0, "
                         "0, '{}', 'watch', ?, 'u')", (str(path), now_text()))
        finally:
            conn.close()
        raise KeyboardInterrupt

    watcher = FolderWatcher(empty_ws.root, inbox, recorded_then_interrupted, settle_seconds=0.0,
                            clock=clock)
    watcher.poll_once()
    with pytest.raises(KeyboardInterrupt):
        watcher.poll_once()
    (row,) = rows(empty_ws, inbox).values()
    assert row["state"] == "done" and row["nowtest_id"] == 1
    again = Recorder()
    later = FolderWatcher(empty_ws.root, inbox, again, settle_seconds=0.0, clock=clock)
    later.poll_once()
    assert later.poll_once() == [] and again.calls == collections.Counter()
