"""One app per workspace: a second launch hands its file to the running app and exits."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QDir

from gui.instance_name import nobody_listens, socket_file
from gui.main_window import MainWindow
from gui.single_instance import Handover, InstanceServer, hand_over, parse_request, server_name
from tests.gui.kit import TIMEOUT_MS

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 90  # an upper bound for a slow machine, not a pace: the waits end on the log line


def test_the_server_name_follows_the_folder_not_its_spelling(tmp_path):
    (tmp_path / "ws").mkdir()
    assert server_name(tmp_path / "ws") == server_name(tmp_path / "ws" / ".." / "ws")
    assert server_name(tmp_path / "ws") != server_name(tmp_path / "other")


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes have no file to look at")
def test_a_launch_sees_without_qt_whether_an_app_may_listen(tmp_path):
    """The launcher's Qt-free look (gui/instance_name.py) names the file Qt's server listens
    on: none before, the server's own while it listens, none after it stops."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    assert nobody_listens(workspace)
    server = InstanceServer(workspace)
    try:
        assert server.start()
        assert socket_file(workspace) == Path(server.server.fullServerName())
        assert not nobody_listens(workspace)
    finally:
        server.stop()
    assert nobody_listens(workspace)


@pytest.mark.parametrize(("line", "expected"), [
    (b'{"import": "/a/b.ratchet"}', {"import": "/a/b.ratchet"}),
    (b'{"show": true}', {"show": True}),
    (b'{"delete": "/"}', None),
    (b'{"show": true, "import": "x"}', None),
    (b"not json", None),
    (b"\xff", None),
])
def test_only_known_requests_are_taken(line, expected):
    assert parse_request(line) == expected


CLIENT = ("import json, sys; from gui.single_instance import hand_over; "
          "print(hand_over(sys.argv[1], json.loads(sys.argv[2])).value)")


def _launch(workspace, request) -> subprocess.Popen:
    """Another process hands ``request`` over, while this one's event loop answers it."""
    return subprocess.Popen([sys.executable, "-c", CLIENT, str(workspace), json.dumps(request)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)


def test_a_stale_name_from_a_crashed_app_is_taken_over(tmp_path, qtbot):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    name = server_name(workspace)
    # What a crashed app leaves on Unix: the socket file, with nobody listening on it.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(os.path.join(QDir.tempPath(), name))
    stale.close()
    assert hand_over(workspace, {"show": True}, connect_ms=200) is Handover.NO_APP
    server = InstanceServer(workspace)
    try:
        assert server.start()
        with qtbot.waitSignal(server.received, timeout=TIMEOUT_MS) as got:
            client = _launch(workspace, {"predict": "/data/aug.csv"})
        assert got.args == [{"predict": "/data/aug.csv"}]
        assert client.communicate(timeout=WAIT_S)[0].strip() == Handover.SENT.value
    finally:
        server.stop()


def test_a_second_server_on_the_same_workspace_leaves_the_first_alone(tmp_path, qtbot):
    first, second = InstanceServer(tmp_path), InstanceServer(tmp_path)
    try:
        assert first.start()
        assert not second.start()  # e.g. a smoke run beside the running app
        with qtbot.waitSignal(first.received, timeout=TIMEOUT_MS):
            client = _launch(tmp_path, {"show": True})
        assert client.communicate(timeout=WAIT_S)[0].strip() == Handover.SENT.value
    finally:
        first.stop()
        second.stop()


def test_a_handed_over_csv_opens_on_the_predict_page(ctx, qtbot):
    from gui.tasks.predict import sample_csv

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.show_page("models")
    window.open_request({"predict": str(sample_csv())})
    assert window.current_page() == "predict"
    assert window.predict.source == sample_csv()
    window.open_request({"show": True})  # only brings the window to the front
    assert window.current_page() == "predict"


def _wait_for_line(path: Path, text: str, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        content = path.read_text(encoding="utf-8") if path.exists() else ""
        if text in content:
            return content
        assert proc.poll() is None, f"the first app ended early: {proc.communicate()}"
        time.sleep(0.1)  # polling the log file the app writes, bounded by WAIT_S
    raise AssertionError(f"no {text!r} in {path} within {WAIT_S} s")


def test_a_second_launch_hands_its_bundle_to_the_running_app_and_exits(tmp_path):
    workspace = tmp_path / "ws"
    bundle = tmp_path / "test-model-2.ratchet"
    bundle.write_bytes(b"verified by the running app, not by this launch")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "RATCHET_CONFIG_DIR": str(tmp_path / "config")}
    launch = [sys.executable, "-m", "gui.launcher", "--workspace", str(workspace), "gui"]
    log = workspace / "logs" / "ratchet-gui.log"
    first = subprocess.Popen([*launch, "--smoke", str(WAIT_S * 2)], cwd=ROOT, env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_line(log, "listening for other launches", first)
        second = subprocess.run([*launch, "--import", str(bundle)], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=WAIT_S)
        assert second.returncode == 0, second.stderr
        assert "the app already running on" in second.stderr
        content = _wait_for_line(log, "request from another launch", first)
        assert f"request from another launch: {{'import': '{bundle}'}}" in content
        assert content.count("Ratchet app starting") == 1  # the second launch opened no app
    finally:
        first.terminate()
        first.communicate(timeout=WAIT_S)
