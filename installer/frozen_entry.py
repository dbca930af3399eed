"""Entry point of the frozen (PyInstaller) app: ``/opt/ratchet/ratchet`` and ``ratchet.exe``.

It does what only an installed, read-only copy of the app needs, then hands over to
:func:`gui.launcher.main` (the same entry as the ``ratchet`` console script):

- numba's compiled-kernel cache (``cache=True``) must go to a folder the user can write, never
  into the read-only app. Without module sources (the frozen case) numba 0.68 already keeps
  it in its own user cache folder (~/.cache/numba; %LOCALAPPDATA%\\numba on Windows), checked
  against a hash of the executable, which holds every Python module of the app. Only where a
  source file happens to sit at the module's relative path (the app started from a source
  checkout) would numba write into that checkout's __pycache__; NUMBA_CACHE_DIR sends that
  case to Ratchet's cache folder instead (~/.cache/ratchet/numba-VERSION).
- Qt's plugin and QML folders inside the app, which PyInstaller's PySide6 run-time hook would
  set by importing Qt at every start (installer/ratchet.spec leaves that hook out on Linux):
  set here as plain environment variables, so commands that never open a window never load Qt.
- Commands whose optional packages the installed app leaves out (Dask's ``distributed`` for
  ``backtest --dask``; scikit-learn for the publisher's ``export`` and ``search``) stop with a
  message that fits an installed app, rather than advice to ``pip install`` into it.
"""

from __future__ import annotations

import importlib.util
import os
import sys

# command (or option) -> (module it needs, what to tell the operator)
NOT_BUNDLED = {
    "--dask": ("distributed", "this installed Ratchet does not include Dask's `distributed` "
               "package, so `--dask` is not available. Run the back-test without --dask (it then "
               "runs on this workstation), or from a Python installation of Ratchet with the "
               "dask extra (pip install 'ratchet[dask]')."),
    "export": ("sklearn", "`ratchet export` is a publisher-side command and needs "
               "scikit-learn, which this installed Ratchet does not include. Run it where the "
               "model was trained, from a Python installation of Ratchet with the publish extra "
               "(pip install 'ratchet[publish]')."),
    "search": ("sklearn", "`ratchet search` is a publisher-side command and needs "
               "scikit-learn, which this installed Ratchet does not include. Run it from a "
               "Python installation of Ratchet with the publish extra "
               "(pip install 'ratchet[publish]')."),
}


def numba_cache_dir() -> str:
    """Ratchet's folder for numba's cache, one per app version (a new version's kernels must
    never load an older version's machine code)."""
    import platformdirs

    from engine import __version__

    base = platformdirs.user_cache_dir("ratchet", appauthor=False)
    return os.path.join(base, f"numba-{__version__}")


def missing_feature(argv: list[str]) -> str | None:
    """The message for a command or option whose package is not in this app, else None."""
    from gui.launcher import split_global_options

    try:
        _global, rest = split_global_options(argv)
    except ValueError:
        return None  # the launcher reports it
    words = [w.split("=", 1)[0] for w in rest]
    for word, (module, message) in NOT_BUNDLED.items():
        wanted = word in words if word.startswith("--") else (words[:1] == [word])
        if wanted and importlib.util.find_spec(module) is None:
            return message
    return None


def qt_folders() -> None:
    """What PyInstaller's pyi_rth_pyside6 sets on Linux, without its import of PySide6.QtCore:
    Qt's plugins and QML imports in the app's PySide6/Qt folder."""
    if not sys.platform.startswith("linux") or not hasattr(sys, "_MEIPASS"):
        return
    qt = os.path.join(sys._MEIPASS, "PySide6", "Qt")
    os.environ["QT_PLUGIN_PATH"] = os.path.join(qt, "plugins")
    os.environ["QML2_IMPORT_PATH"] = os.path.join(qt, "qml")


def main() -> int:
    os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir())  # before numba is imported
    qt_folders()
    argv = sys.argv[1:]
    message = missing_feature(argv)
    if message is not None:
        print(f"ratchet: {message}", file=sys.stderr)
        return 2
    from gui.launcher import main as launch

    return launch(argv)


if __name__ == "__main__":
    sys.exit(main())
