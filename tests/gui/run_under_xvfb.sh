#!/usr/bin/env bash
# Runs the GUI tests that need a real X server and a system tray host (Xvfb + trayer), the way
# an operator's desktop has them. `make test` calls it after the offscreen suite. As root on
# Debian/Ubuntu it installs xvfb and trayer when missing; elsewhere, without them, it says so
# and stops (exit 0): the offscreen suite has already run everything else.
set -euo pipefail
BIN=${BIN:-.venv/bin}
need=()
command -v Xvfb >/dev/null || need+=(xvfb)
command -v trayer >/dev/null || need+=(trayer)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null \
            || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends \
                 "${need[@]}" >/dev/null; }
    else
        echo "real-tray tests not run: install ${need[*]} (sudo apt-get install ${need[*]})."
        exit 0
    fi
fi
display=":$(( 90 + RANDOM % 9 ))"
Xvfb "$display" -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $tray $xvfb 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -S "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
DISPLAY=$display trayer --edge top --align right --widthtype pixel --width 120 \
    --heighttype pixel --height 24 >/dev/null 2>&1 &
tray=$!
sleep 1
DISPLAY=$display QT_QPA_PLATFORM=xcb RATCHET_REQUIRE_TRAY=1 \
    "$BIN/pytest" -q -p no:cacheprovider tests/gui/test_app_shell.py tests/gui/test_tray_alarm.py \
    -k real_tray
