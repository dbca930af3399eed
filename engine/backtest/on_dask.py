"""Scoring a back-test corpus on an existing Dask cluster (`--dask ADDRESS`).

Each corpus file is one task: the worker reads it, scores it with every model and sends back
only what the evaluation needs (engine.backtest.score.Scored: partition, outcome, predictions),
so the network carries a few dozen bytes per row however wide the corpus is. Workers load the
models from their coefficient files (sent once to every worker, never pickled models) through
the same predictor, and the evaluation then runs here with the local path's code: the numbers
are identical. Workers read the files at the paths given, so they must see the same folders
(a shared drive). The Task (outcome kind, partitioning and time zone) travels with the
models, so workers partition exactly as this machine does. Needs the `dask` extra
(`distributed`).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from engine.backtest.evaluate import Contender
from engine.backtest.score import Scored, Task, concat, score_file
from engine.errors import Cancelled, EngineError, InputError
from engine.model import Model, load_coefficients
from engine.progress import CancelToken, Progress

_loaded: dict[str, Model] = {}  # per worker process: coefficient sha256 -> model
_lock = threading.Lock()


def connect(address: str, timeout: float = 3.0):
    """A client of the scheduler at `address`, or a clear error within about `timeout` s."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--dask needs Dask's `distributed` package (the 'dask' extra: "
                         "pip install 'ratchet[dask]').", "E_DASK_MISSING") from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise InputError(f"cannot reach a Dask scheduler at {address!r} within {timeout:g} s "
                         f"({type(exc).__name__}: {exc}); check the address (for example "
                         "tcp://host:8786) and that the scheduler is running.",
                         "E_DASK_CONNECT") from None


def _model(coefficients: bytes) -> Model:
    digest = hashlib.sha256(coefficients).hexdigest()
    with _lock:
        if digest not in _loaded:
            _loaded[digest] = load_coefficients(coefficients, name="coefficients.json")
        return _loaded[digest]


def score_remote(path: str, spec: tuple[Task, list[tuple[str, bytes]]]):
    """Runs on a worker: ("ok", Scored) or ("error", code, message) for problems a user can
    fix (engine errors do not survive pickling with their codes, so they travel as data)."""
    task, models = spec
    try:
        loaded = [(label, _model(coefficients)) for label, coefficients in models]
        return "ok", score_file(Path(path), task, loaded)
    except EngineError as exc:
        return "error", exc.code, f"on a Dask worker: {exc.message}"


def score_on_dask(client, files: list[Path], task: Task, models: list[Contender],
                  progress: Progress, cancel: CancelToken | None, share: float) -> Scored:
    from distributed import as_completed

    missing = [c.label for c in models if not c.coefficients]
    if missing:
        raise EngineError(f"{', '.join(missing)}: no coefficient file to send to the Dask "
                          "workers.", "E_DASK_MODELS")
    spec = client.scatter([(task, [(c.label, c.coefficients) for c in models])],
                          broadcast=True)[0]
    futures = [client.submit(score_remote, str(f), spec, pure=False) for f in files]
    index = {f.key: i for i, f in enumerate(futures)}
    parts: dict[int, Scored] = {}
    try:
        for done, future in enumerate(as_completed(futures, loop=client.loop), start=1):
            if cancel is not None:
                cancel.check()
            status, *payload = future.result()
            if status == "error":
                raise InputError(payload[1], payload[0])
            parts[index[future.key]] = payload[0]
            progress(share * done / len(files), f"Scored {done} of {len(files)} files on Dask")
    except (Cancelled, EngineError):
        client.cancel(futures)
        raise
    return concat([parts[i] for i in range(len(files))], [c.label for c in models])
