"""Which process is which: a (host, pid, start token) identity that survives pid reuse.

Used to tell whether the owner of a claim, a pending record or a temporary file is still
running: the pid is alive and it is the same run of that pid (started at the same time).
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

HOST = socket.gethostname()


def _linux_stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time in clock ticks since boot) of a Linux process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], fields[19]


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def start_token(pid: int) -> str:
    """Identifies one run of process `pid` (Linux: boot id + start time); "" where unknown."""
    if not sys.platform.startswith("linux"):
        return ""
    stat = _linux_stat(pid)
    boot = _boot_id()
    return f"{boot}:{stat[1]}" if stat and boot else ""


def pid_alive(pid: int) -> bool | None:
    """Whether a process with this pid runs on this host; None when it cannot be told."""
    if pid <= 0:
        return None
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    if sys.platform.startswith("linux"):
        stat = _linux_stat(pid)
        return stat is not None and stat[0] not in ("Z", "X")  # a zombie has ended
    try:
        os.kill(pid, 0)  # signal 0: only checks (POSIX; on Windows it would kill)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return None
    return True


def _windows_pid_alive(pid: int) -> bool | None:
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # 5: access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return None
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)




def owner_alive(pid: int, started: str) -> bool | None:
    """Whether the process run (pid, start token) on this host is still running: False when
    the pid is gone or now belongs to another run, True when it is that very run, None when it
    cannot be told (no start token recorded, or none readable for the pid)."""
    alive = pid_alive(pid)
    if alive is False:
        return False
    if alive and started:
        token = start_token(pid)
        if token:
            return token == started
    return None
