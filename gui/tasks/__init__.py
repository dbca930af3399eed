"""The engine work the pages hand to :mod:`gui.workers`: plain functions, no Qt.

Each takes ``progress`` and ``cancel`` keywords and opens its own ``Registry`` (an SQLite
connection belongs to the thread that opened it), so it can run on any worker thread. The use
cases themselves are the engine's workstation services (:mod:`engine.services`, which the
command line calls too); a task opens the workspace around one and shapes what the page shows.
"""
