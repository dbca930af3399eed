"""Packaging of the desktop app (PyInstaller, .deb, Inno Setup); not part of the app itself.

`python installer/build.py` (or `make installer`) builds dist/ratchet/ and the .deb.
"""
