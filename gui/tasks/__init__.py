"""The engine work the pages hand to :mod:`gui.workers`: plain functions, no Qt.

Each takes ``progress`` and ``cancel`` keywords and opens its own ``Registry`` (an SQLite
connection belongs to the thread that opened it), so it can run on any worker thread.
"""
