"""Training jobs that outlive a page: both sides of the job boundary for a training run.

The app never trains in Streamlit's script thread (README, "Training never runs in the page
script"). `JobManager.start` creates the run, then starts `python -m classifier worker RUN`,
which inherits the run's lock and calls `train_worker`. The run store is the only contract
between the two: the page polls it, Stop writes a flag file into it, and any tab or process
sees the same job.

The worker dies with the server (it watches its parent), so a killed server leaves an
"interrupted" run rather than an orphan that keeps two cores busy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from classifier.jobs import process
from classifier.jobs.process import EXIT_ERROR, EXIT_OK, JobBusyError
from classifier.ml.models import TrainConfig
from classifier.store.records import RunError, sentence_start
from classifier.store.runs import COMPLETED, FAILED, RunInfo, RunStore, RunWriter

# "0" skips the map after training (the test suite, whose many short runs need no map).
MAP_AFTER_TRAINING_ENV = "CLASSIFIER_MAP_AFTER_TRAINING"


class JobManager:
    """Starts and stops training workers for one run store. Thread-safe."""

    def __init__(self, store: RunStore):
        self.store = store
        self._processes: dict[str, subprocess.Popen] = {}

    def start(self, config: TrainConfig, name: str = "") -> str:
        """Start training `config` in a worker process; return the new run's id.

        Raises ValueError for an invalid config, JobBusyError while the machine is busy.
        """
        config.validate()
        with process.START_LOCK:
            reason = process.busy_reason(self.store)
            if reason:
                raise JobBusyError(reason)
            writer = self.store.create_run(config.to_dict(), name)
            try:
                worker = self._spawn(writer)
            except BaseException as error:  # no worker: the run must not look alive
                writer.write_status(
                    status=FAILED,
                    error=f"Could not start the training process: {error}",
                    finished_at=time.time(),
                )
                raise
            finally:
                writer.release()  # the worker holds the run's lock from now on
            self._processes[writer.run_id] = worker
            return writer.run_id

    def _spawn(self, writer: RunWriter) -> subprocess.Popen:
        # Absolute: the worker runs in the project folder, not in our cwd.
        arguments = ["--runs-dir", str(self.store.root.resolve()), "worker", writer.run_id]
        return process.spawn_worker(arguments, writer.path / process.WORKER_LOG, writer.lock_fd)

    def stop(self, run_id: str) -> None:
        """Ask the job to stop after its current batch; its model is kept."""
        self.store.request_stop(run_id)

    def wait(self, run_id: str, timeout: float | None = None) -> int | None:
        """Wait for a worker this manager started; its exit code (None if unknown)."""
        worker = self._processes.get(run_id)
        return worker.wait(timeout) if worker else None


def continued_name(parent: RunInfo) -> str:
    """The name a continued run gets unless it is given one: its parent's name, or its
    parent's model when the parent has no name (never a run id)."""
    return f"{parent.given_name or parent.preset or 'run'} continued"


def continued_config(store: RunStore, run_id: str, epochs: int) -> TrainConfig:
    """The settings of a run that trains `run_id`'s saved model for `epochs` more epochs:
    the parent's settings, linked to it (README, "Continue training")."""
    info = store.get(run_id)
    if not info.usable:
        raise RunError(
            f"{sentence_start(info.spoken_name)} cannot be continued: only a completed or stopped "
            "run with a saved model can."
        )
    try:
        config = TrainConfig.from_dict(info.config)
        return replace(config, epochs=int(epochs), parent=run_id).validate()
    except (TypeError, ValueError) as error:
        raise RunError(f"The settings of {info.spoken_name} cannot be used: {error}") from error


_managers: dict[Path, JobManager] = {}
_managers_lock = threading.Lock()


def get_job_manager(store: RunStore | None = None) -> JobManager:
    """The process-wide manager for a store (module-level, not in Streamlit's cache,
    so "Clear cache" cannot forget a running job)."""
    store = store or RunStore()
    key = store.root.resolve()
    with _managers_lock:
        if key not in _managers:
            _managers[key] = JobManager(RunStore(key))
        return _managers[key]


# --- The worker's side ---------------------------------------------------------------------


def train_worker(store: RunStore, run_id: str, lock_fd: int, parent_pid: int = 0) -> int:
    """The worker process: train a run that `JobManager.start` created; its exit code."""
    process.become_worker(parent_pid)
    from classifier.ml.training import run_training  # late: imports TensorFlow

    writer = RunWriter(run_id, store.run_dir(run_id), lock_fd=lock_fd)
    try:
        result = run_training(writer, verbose=2)
    except Exception:  # recorded in the run; the worker's log gets where to look
        print(f"training failed (traceback in {writer.error_log})", file=sys.stderr)
        return EXIT_ERROR
    writer.release()  # the run is done: no longer busy, and it may be deleted
    if result.get("status") == COMPLETED and os.environ.get(MAP_AFTER_TRAINING_ENV) != "0":
        # The Explore map takes a while (t-SNE): computed now, at a low priority, so that
        # it is ready when the page opens.
        from classifier.jobs.embedding import map_after_training

        map_after_training(store, run_id)
    return EXIT_OK
