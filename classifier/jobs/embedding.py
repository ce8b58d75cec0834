"""The t-SNE map of a run's test pictures, computed in a worker process.

scikit-learn's t-SNE is native code that can crash (a model whose features are all zero
made it segfault), so it never runs in the server: `start_map` starts
`python -m classifier map-worker RUN` (jobs.process.spawn_worker), which loads the model,
computes the features and the map, and stores `map-tsne.npy` in the run folder, or a
one-line error in `map-tsne.json`. A crash leaves the status "running" with nobody holding
the map's lock: that reads as failed. A failed map is not started again by itself; the page
offers to try again. One map worker runs at a time in a server (each takes both cores for
a while), and one per run.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.jobs.process import (
    EXIT_ERROR,
    EXIT_OK,
    WORKER_LOG,
    become_worker,
    spawn_worker,
)
from classifier.ml.features import read_map, write_map
from classifier.store.files import atomic_write_json, is_locked, read_json, take_lock
from classifier.store.records import as_float, as_text, error_summary
from classifier.store.runs import RunStore

STATUS_FILE = "map-tsne.json"
LOCK_NAME = ".map-tsne.lock"
NONE, RUNNING, READY, FAILED, WAITING = "none", "running", "ready", "failed", "waiting"
CRASHED = "The map's process ended without a result (it crashed or was killed)."
DEGENERATE = (
    "This model sees every picture the same way (its features do not vary), so there is "
    "nothing to map. It did not learn: train it again, for example with a lower learning rate."
)
MIN_SPREAD = 1e-6  # below this standard deviation, features carry no information


class DegenerateFeatures(ValueError):
    """The features do not vary: there is nothing to map."""


@dataclass(frozen=True)
class MapState:
    """Where a run's t-SNE map stands: READY with its points, RUNNING, FAILED with an error,
    WAITING for another map's worker, or NONE (not asked for yet)."""

    status: str
    points: np.ndarray | None = None
    error: str | None = None
    started_at: float | None = None

    @property
    def seconds(self) -> float:
        return max(0.0, time.time() - self.started_at) if self.started_at else 0.0


def map_state(run_path: Path, count: int) -> MapState:
    """What the page shows for a run's map: read from its folder, never raising."""
    points = read_map(run_path, count)
    if points is not None:
        return MapState(READY, points=points)
    status = read_json(run_path / STATUS_FILE)
    if not isinstance(status, dict):
        return MapState(NONE)
    started = as_float(status.get("started_at"))
    if status.get("status") == RUNNING:
        if is_locked(run_path, LOCK_NAME):
            return MapState(RUNNING, started_at=started)
        return MapState(FAILED, error=CRASHED)
    if status.get("status") == FAILED:
        return MapState(FAILED, error=as_text(status.get("error"), 300) or CRASHED)
    return MapState(NONE)


_workers: dict[Path, object] = {}  # run folder -> its live worker (a Popen)
_workers_lock = threading.Lock()


def start_map(run_path: Path, runs_root: Path) -> MapState:
    """Start the map's worker for a run unless one runs (for it or another run: one at a
    time); the state to show."""
    run_path = Path(run_path)
    with _workers_lock:
        for path, process in list(_workers.items()):
            if process.poll() is not None:
                del _workers[path]
        if run_path in _workers:
            return MapState(RUNNING, started_at=time.time())
        if _workers:
            return MapState(WAITING)
        fd = take_lock(run_path, LOCK_NAME)
        if fd is None:
            return MapState(RUNNING, started_at=time.time())
        try:
            started = time.time()
            atomic_write_json(run_path / STATUS_FILE, {"status": RUNNING, "started_at": started})
            arguments = ["--runs-dir", str(Path(runs_root).resolve()), "map-worker", run_path.name]
            _workers[run_path] = spawn_worker(arguments, run_path / WORKER_LOG, fd)
        finally:
            os.close(fd)  # the worker holds the lock from now on
    return MapState(RUNNING, started_at=started)


def wait_for_map(run_path: Path, timeout: float) -> bool:
    """Wait for this server's worker of `run_path` to end (tests); whether it ended."""
    with _workers_lock:
        process = _workers.get(Path(run_path))
    if process is None:
        return True
    try:
        process.wait(timeout)
    except Exception:  # subprocess.TimeoutExpired
        return False
    return True


def compute_map(values: np.ndarray) -> np.ndarray:
    """The t-SNE map of (N, d) features; ValueError with a plain message for features that
    do not vary (a model that learned nothing)."""
    from classifier.ml.features import tsne_map

    values = np.asarray(values, dtype=np.float32)
    if not np.isfinite(values).all() or float(values.std(axis=0).max(initial=0.0)) < MIN_SPREAD:
        raise DegenerateFeatures(DEGENERATE)
    return tsne_map(values)


def map_worker(store: RunStore, run_id: str, lock_fd: int, parent_pid: int = 0) -> int:
    """The worker process (`python -m classifier map-worker RUN`): the run's map, stored in
    its folder (or the error); its exit code."""
    become_worker(parent_pid)
    try:
        return EXIT_OK if store_map(store, run_id) else EXIT_ERROR
    finally:
        with contextlib.suppress(OSError):
            os.close(lock_fd)


def map_after_training(store: RunStore, run_id: str) -> None:
    """In a training worker whose run has just completed: compute the map now, in the
    background, so that it is ready when someone opens Explore. Skipped when the page has
    started one already (its lock is held)."""
    run_path = store.run_dir(run_id)
    fd = take_lock(run_path, LOCK_NAME)
    if fd is None:
        return
    try:
        atomic_write_json(run_path / STATUS_FILE, {"status": RUNNING, "started_at": time.time()})
        store_map(store, run_id)
    except OSError:
        pass  # a full disk, a deleted run: the page offers the map again
    finally:
        os.close(fd)


def store_map(store: RunStore, run_id: str) -> bool:
    """Features of the test and training pictures through the run's model, and the test
    pictures' t-SNE map, stored in the run folder; or a one-line error there. Whether the
    map was stored."""
    run_path = store.run_dir(run_id)
    try:
        from classifier.data import load_dataset, scale_images
        from classifier.ml.features import feature_model, features, write_features

        model, dataset = store.load_model(run_id), load_dataset()
        extractor = feature_model(model)
        values = features(extractor, scale_images(dataset.test.images))
        if run_path.is_dir() and (digest := store.get(run_id).model_sha256):
            # For Explore's first map and nearest pictures, without the model (ml.features).
            training = features(extractor, scale_images(dataset.train.images))
            write_features(run_path, digest, {"test": values, "train": training})
        points = compute_map(values)
        if run_path.is_dir():  # a run deleted meanwhile gets nothing back
            write_map(run_path, points)
            with contextlib.suppress(OSError):
                (run_path / STATUS_FILE).unlink()
        return True
    except Exception as error:
        message = str(error) if isinstance(error, DegenerateFeatures) else error_summary(error)
        with contextlib.suppress(OSError):
            atomic_write_json(run_path / STATUS_FILE, {"status": FAILED, "error": message})
        print(f"map failed: {message}", file=sys.stderr)
        return False
