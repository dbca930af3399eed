"""Ratchet's PySide6 desktop app, built over :mod:`engine`.

This package's ``__init__`` deliberately imports nothing from Qt: the ``ratchet`` console
script lives in :mod:`gui.launcher`, and headless commands must start without loading Qt.
"""
