"""The one background-job abstraction: every piece of engine work runs through it.

A :class:`Job` runs a plain function ``fn(progress, cancel)`` on its own ``QThread``: the
function gets the engine's hooks (a progress callable and a :class:`~engine.progress.CancelToken`)
and never sees a widget. Its outcome arrives on the UI thread as exactly one of the signals
``finished(result)``, ``failed(exception)`` or ``cancelled()``, then ``done()`` once the thread
has really stopped (it is emitted from ``QThread.finished``, so a ``done`` job can be dropped
safely: a ``QThread`` destroyed while running aborts the whole process).

:class:`Jobs` keeps the running jobs alive and joins them on close (:meth:`Jobs.shutdown`):
cancel, quit, wait. Engine work checks its token at every chunk, so the wait is short.

Stale results, one scheme: a job started with a ``key`` supersedes the job still running under
the same key (a newer read of the same data, a check of another file). The older one is
cancelled and whatever it still reports (progress, result, failure, cancellation) is dropped,
so a page never shows an answer to a question it no longer asks. Keys are for work whose
result is only worth showing while it is the latest; a write is never superseded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.errors import Cancelled
from engine.progress import CancelToken
from gui import qtcompat  # noqa: F401  (guards PySide6 6.12.0 on Python 3.11; see there)

log = logging.getLogger(__name__)

# fn(progress=callable(fraction, message), cancel=CancelToken) -> result
JobFunction = Callable[..., Any]


class _Worker(QObject):
    """Lives on the job's thread; its signals cross to the UI thread as queued events."""

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()

    def __init__(self, fn: JobFunction, token: CancelToken, name: str):
        super().__init__()
        self._fn = fn
        self._token = token
        self._name = name

    def _report(self, fraction: float, message: str) -> None:
        self.progress.emit(float(fraction), str(message))

    @Slot()
    def run(self) -> None:
        try:
            self._token.check()  # cancelled before the thread even started
            result = self._fn(progress=self._report, cancel=self._token)
        except Cancelled:
            log.info("job %s cancelled", self._name)
            self.cancelled.emit()
        except Exception as exc:
            log.debug("job %s failed: %r", self._name, exc)
            self.failed.emit(exc)
        else:
            self.finished.emit(result)
        finally:
            self.thread().quit()


class Job(QObject):
    """One background job. Connect to its signals, then :meth:`start` it."""

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    done = Signal()

    def __init__(self, fn: JobFunction, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self.key: Hashable | None = None
        self.token = CancelToken()
        self.superseded = False  # a newer job under the same key: nothing more is reported
        self._running = False
        self._thread = QThread()
        self._thread.setObjectName(f"job:{name}")
        self._worker = _Worker(fn, self.token, name)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        # Connections whose receiver (self) lives on the UI thread: queued, and delivered in the
        # order the worker emitted them, before the thread's finished().
        self._worker.progress.connect(self._relay_progress)
        self._worker.finished.connect(self._relay_finished)
        self._worker.failed.connect(self._relay_failed)
        self._worker.cancelled.connect(self._relay_cancelled)
        self._thread.finished.connect(self._on_thread_finished)

    def start(self) -> None:
        self._running = True
        self._thread.start()

    def cancel(self) -> None:
        """Ask the work to stop at its next step boundary; ``cancelled`` follows."""
        self.token.cancel()

    @property
    def running(self) -> bool:
        """True from start() until done() (the thread may have stopped just before)."""
        return self._running

    def wait(self, msecs: int | None = None) -> bool:
        """Block until the thread has stopped; True when it has."""
        if msecs is None:
            return self._thread.wait()
        return self._thread.wait(msecs)

    def quit_and_wait(self) -> None:
        self.token.cancel()
        self._thread.quit()
        self._thread.wait()

    def supersede(self) -> None:
        """A newer job took this one's key: cancel it and drop what it still reports (its
        ``done`` still follows, once the thread has stopped)."""
        self.superseded = True
        self.token.cancel()

    # The worker's reports, passed on unless the job was superseded meanwhile.
    @Slot(float, str)
    def _relay_progress(self, fraction: float, message: str) -> None:
        if not self.superseded:
            self.progress.emit(fraction, message)

    @Slot(object)
    def _relay_finished(self, result: Any) -> None:
        if not self.superseded:
            self.finished.emit(result)
        else:
            log.debug("job %s superseded: its result is dropped", self.name)

    @Slot(object)
    def _relay_failed(self, exc: BaseException) -> None:
        if not self.superseded:
            self.failed.emit(exc)

    @Slot()
    def _relay_cancelled(self) -> None:
        if not self.superseded:
            self.cancelled.emit()

    @Slot()
    def _on_thread_finished(self) -> None:
        if not self._running:
            return
        self._running = False
        self.done.emit()


class Jobs(QObject):
    """Starts jobs and keeps each one referenced until its thread has stopped."""

    started = Signal(object)  # the Job, just started
    idle = Signal()  # no job is running any more

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._running: list[Job] = []
        self._latest: dict[Hashable, Job] = {}  # key -> the job running under it
        self._closed = False

    def start(self, fn: JobFunction, name: str, *, key: Hashable | None = None,
              on_progress: Callable[[float, str], None] | None = None,
              on_finished: Callable[[Any], None] | None = None,
              on_failed: Callable[[BaseException], None] | None = None,
              on_cancelled: Callable[[], None] | None = None) -> Job:
        """Run ``fn(progress=..., cancel=...)`` in the background; callbacks run on the UI
        thread. With ``key``, the job supersedes the one running under that key (see the
        module's docstring). After :meth:`shutdown` nothing starts any more (the job is
        returned unstarted)."""
        if key is not None:
            self.supersede(key)
        job = Job(fn, name)  # owned by Python: freed once nobody holds it after done()
        job.key = key
        for signal, slot in ((job.progress, on_progress), (job.finished, on_finished),
                             (job.failed, on_failed), (job.cancelled, on_cancelled)):
            if slot is not None:
                signal.connect(slot)
        job.done.connect(self._on_job_done)  # a bound method: no job -> lambda -> job cycle
        if self._closed:
            log.info("not starting job %s: the app is closing", name)
            return job
        self._running.append(job)
        if key is not None:
            self._latest[key] = job
        log.debug("starting job %s", name)
        job.start()
        self.started.emit(job)
        return job

    def running(self) -> list[Job]:
        return list(self._running)

    def supersede(self, key: Hashable) -> None:
        """The job running under ``key``, if any, is stale: it is cancelled and what it still
        reports is dropped (e.g. a history read that the run starting now brings back)."""
        job = self._latest.pop(key, None)
        if job is not None:
            job.supersede()

    @Slot()
    def _on_job_done(self) -> None:
        job = self.sender()
        if job in self._running:
            self._running.remove(job)
        if job.key is not None and self._latest.get(job.key) is job:
            del self._latest[job.key]
        if not self._running:
            self.idle.emit()

    def shutdown(self) -> None:
        """Cancel every running job and join its thread (called on close and on quit)."""
        self._closed = True
        jobs = list(self._running)
        for job in jobs:
            job.cancel()
        for job in jobs:
            job.quit_and_wait()
        self._running.clear()  # all stopped; their done() may never be delivered now
        self._latest.clear()
        if jobs:
            log.info("joined %d background job(s) on close", len(jobs))
