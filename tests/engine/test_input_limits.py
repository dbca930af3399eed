"""Reading CSV input robustly (issue 12): a huge field costs memory in proportion to itself and
rejects only its row, a NUL byte refuses the file naming its line wherever it is, line numbers
in messages are the file's own, an empty file in the watch folder is recorded as failed, and
an input that is not a regular file (a pipe, /dev/stdin) is refused before anything is read."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import zipfile
from functools import cache
from pathlib import Path

import pytest

from engine.batch import records
from engine.batch.chunk_io import MAX_FIELD_BYTES
from engine.batch.score import score_csv
from engine.errors import InputError
from engine.ground.database import connect
from engine.ground.paths import Workspace
from engine.ground.shipped import shipped_dir
from engine.model import load_coefficients
from engine.watch.watcher import FolderWatcher
from tests.engine.workspace_kit import DEMO_BUNDLE

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = shipped_dir("resources") / "samples" / "flights-2013-07-sample.csv"
BUNDLE = DEMO_BUNDLE


@cache
def demo_model():
    with zipfile.ZipFile(BUNDLE) as z:
        return load_coefficients(z.read("coefficients.json"))


@cache
def sample_lines() -> tuple[str, ...]:
    return tuple(SAMPLE.read_text().splitlines())


def flights_csv(path: Path, n_rows: int, edit=None) -> Path:
    """The sample's header and `n_rows` rows (repeating the sample); `edit(i, cells)` may
    change row i's cells (a list) in place."""
    lines = sample_lines()
    body = lines[1:]
    header = lines[0].split(",")
    out = [lines[0]]
    for i in range(n_rows):
        cells = body[i % len(body)].split(",")
        if edit is not None:
            edit(i, cells, header)
        out.append(",".join(cells))
    path.write_bytes(("\n".join(out) + "\n").encode("utf-8"))
    return path


def output_rows(path: Path) -> list[dict]:
    # fields over 128 KiB: engine.batch.chunk_io raised the csv module's field size limit
    return list(csv.DictReader(io.StringIO(path.read_text())))


# -- item 7: a huge field -------------------------------------------------------------------

MEASURE = textwrap.dedent("""
    import json, resource, sys, zipfile
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from engine.batch.score import score_csv
    from engine.model import load_coefficients
    from tests.engine.test_input_limits import BUNDLE, flights_csv

    column, size, tmp = sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    with zipfile.ZipFile(BUNDLE) as z:
        model = load_coefficients(z.read("coefficients.json"))
    score_csv(flights_csv(tmp / "small.csv", 100), tmp / "o1.csv", model, "m")  # warm up

    def huge(i, cells, header):
        if i == 50:
            cells[header.index(column)] = "X" * size

    big = flights_csv(tmp / "big.csv", 100, huge)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = score_csv(big, tmp / "o2.csv", model, "m")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"growth": (after - before) * 1024, "rows": result.rows,
                      "rejected": result.rejected}))
""")


def measure(tmp_path: Path, column: str, size: int) -> dict:
    """Score 100 sample rows, row 51 holding a field of `size` bytes in `column`, in a fresh
    process: the peak RSS growth over a warm run, and the result."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(ROOT), column, str(size),
                           str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# Before the fix, 2 MiB in 'carrier' grew the peak by 940 MiB (470 bytes per byte of field).
GROWTH_PER_BYTE = 16  # generous: the record, its decoded text and the output line, a few times


@pytest.mark.parametrize(("column", "size", "rejected"), [
    ("carrier", 2 * MAX_FIELD_BYTES, True),  # a category column
    ("carrier", MAX_FIELD_BYTES, False),  # at the limit: looked up (an unknown carrier)
    ("dep_delay", 2 * MAX_FIELD_BYTES, True),  # a number column
    ("tailnum", 2 * MAX_FIELD_BYTES, False),  # a column the model does not use
])
def test_a_huge_field_costs_memory_in_proportion_and_rejects_only_its_row(
        tmp_path, column, size, rejected):
    got = measure(tmp_path, column, size)
    assert got["growth"] < GROWTH_PER_BYTE * size, got
    assert (got["rows"], got["rejected"]) == (100, int(rejected))
    out = output_rows(tmp_path / "o2.csv")
    assert len(out[50][column]) == size  # written back unchanged
    assert all(r["status"] == "ok" for i, r in enumerate(out) if i != 50)
    if rejected:
        message = out[50]["error"]
        assert f"column {column!r}" in message and f"{size:,} bytes" in message
        assert f"{MAX_FIELD_BYTES:,}" in message and len(message) < 400


def test_a_long_field_in_a_quoted_chunk_is_read_like_in_an_unquoted_one(tmp_path):
    """The csv module refuses fields over 128 KiB by default: a quoted file with a long note
    must not be refused when the same file without quotes is scored."""
    def edit(i, cells, header):
        if i == 3:
            cells[header.index("tailnum")] = '"' + "N" * 300_000 + '"'
        if i == 5:
            cells[header.index("dest")] = '"' + "D" * (MAX_FIELD_BYTES + 1) + '"'

    src = flights_csv(tmp_path / "in.csv", 20, edit)
    result = score_csv(src, tmp_path / "out.csv", demo_model(), "m")
    assert (result.rows, result.rejected) == (20, 1)
    out = output_rows(tmp_path / "out.csv")
    assert len(out[3]["tailnum"]) == 300_000 and out[3]["status"] == "ok"
    assert out[5]["status"] == "rejected"
    assert "column 'dest'" in out[5]["error"]
    assert f"{MAX_FIELD_BYTES + 1:,} bytes" in out[5]["error"]


def test_a_long_value_is_shortened_in_its_rows_message(tmp_path):
    def edit(i, cells, header):
        if i == 1:
            cells[header.index("dep_delay")] = "x" * 5000

    src = flights_csv(tmp_path / "in.csv", 5, edit)
    score_csv(src, tmp_path / "out.csv", demo_model(), "m")
    message = output_rows(tmp_path / "out.csv")[1]["error"]
    assert "column 'dep_delay'" in message and "not a number" in message
    assert "5,000 characters" in message and len(message) < 300


def test_a_record_over_the_record_limit_is_refused_naming_its_line_and_size(
        tmp_path, monkeypatch):
    monkeypatch.setattr(records, "MAX_RECORD_BYTES", 50_000)

    def edit(i, cells, header):
        if i == 30:
            cells[header.index("tailnum")] = "N" * 60_000

    src = flights_csv(tmp_path / "in.csv", 40, edit)
    with pytest.raises(InputError) as info:
        score_csv(src, tmp_path / "out.csv", demo_model(), "m", chunk_bytes=4096)
    message = info.value.message
    assert info.value.code == "E_ROW_TOO_LONG" and "line 32" in message
    assert "50,000 bytes" in message and str(src) in message
    assert "quote" not in message  # there is none: that is not the reason
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


# -- item 11: NUL bytes, line numbers, empty watched files, pipes ---------------------------

@pytest.mark.parametrize("row", [10, 150_000])  # inside the first 64 KiB, and far after it
def test_a_nul_byte_refuses_the_file_naming_its_line_wherever_it_is(tmp_path, row):
    def edit(i, cells, header):
        if i == row:
            cells[header.index("tailnum")] = "N1\x0023"

    src = flights_csv(tmp_path / "in.csv", 200_000, edit)
    assert (src.read_bytes().index(b"\x00") < 1 << 16) == (row == 10)
    with pytest.raises(InputError) as info:
        score_csv(src, tmp_path / "out.csv", demo_model(), "m")
    assert info.value.code == "E_BINARY_FILE"
    assert f"line {row + 2} " in info.value.message and "NUL" in info.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize("quoted", [False, True])
def test_a_lone_cr_deep_in_a_large_file_is_reported_on_its_own_line(tmp_path, quoted):
    """200,000 rows, a lone CR on row 150,000; with `quoted`, row 5 holds a field written on
    three lines, so the line is the file's line, not a count of rows."""
    def edit(i, cells, header):
        if i == 5 and quoted:
            cells[header.index("tailnum")] = '"a\nb\nc"'
        if i == 150_000:
            cells[header.index("tailnum")] += "\r"

    src = flights_csv(tmp_path / "in.csv", 200_000, edit)
    line = 150_000 + 2 + (2 if quoted else 0)
    text = src.read_bytes()
    assert text.count(b"\n", 0, text.index(b"\r")) + 1 == line
    with pytest.raises(InputError) as info:
        score_csv(src, tmp_path / "out.csv", demo_model(), "m")
    assert info.value.code == "E_NOT_CSV" and "lone carriage return" in info.value.message
    assert f"line {line} " in info.value.message


def test_an_empty_csv_in_the_watch_folder_is_recorded_as_failed(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    calls = []

    def process(path):
        calls.append(path.name)
        return None

    (inbox / "empty.csv").write_bytes(b"")
    watcher = FolderWatcher(ws.root, inbox, process, settle_seconds=0.0, clock=lambda: 0.0)
    assert watcher.poll_once() == []  # first sight
    events = watcher.poll_once()
    assert [(e.path.name, e.state) for e in events] == [("empty.csv", "failed")]
    assert "empty" in events[0].error and "0 bytes" in events[0].error
    assert watcher.poll_once() == [] and calls == []
    conn = connect(ws.database)
    try:
        row = conn.execute("SELECT state, error FROM watched_files WHERE name = 'empty.csv'"
                           ).fetchone()
    finally:
        conn.close()
    assert row["state"] == "failed" and "empty" in row["error"]
    (inbox / "empty.csv").write_text("a,b\n1,2\n")  # the complete file arrives: new work
    watcher.poll_once()
    assert [e.state for e in watcher.poll_once()] == ["done"] and calls == ["empty.csv"]


class FifoWriter:
    """Writes a small CSV into a FIFO if the code under test opens it; released at the end
    whether it was opened or not, so the test never blocks."""

    def __init__(self, path: Path):
        self.path = path
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self):
        with open(self.path, "wb") as fh:  # blocks until a reader opens the FIFO
            fh.write(b"month,day\n1,2\n")

    def release(self):
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # lets a waiting writer go
        try:
            self.thread.join(10)
        finally:
            os.close(fd)
        assert not self.thread.is_alive()


def test_a_pipe_as_input_is_refused_as_not_a_regular_file(tmp_path, capsys, monkeypatch):
    from engine.cli import main
    from engine.registry.first_start import first_start

    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    writer = FifoWriter(fifo)
    try:
        with pytest.raises(InputError) as info:
            score_csv(fifo, tmp_path / "out.csv", demo_model(), "m")
        assert info.value.code == "E_NOT_A_FILE"
        assert "regular file" in info.value.message and "empty" not in info.value.message
        monkeypatch.delenv("RATCHET_TRUST_STORE", raising=False)
        ws = Workspace.open(tmp_path / "ws")
        first_start(ws)
        code = main(["--workspace", str(ws.root), "predict", str(fifo), "-o",
                     str(tmp_path / "o.csv")])
        err = capsys.readouterr().err
        assert code == 2 and "regular file" in err and "Traceback" not in err
    finally:
        writer.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "ws"]
