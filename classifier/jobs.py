"""Training jobs that outlive a page: both sides of the job boundary, in one module.

The app never trains in Streamlit's script thread (README, "Training never runs in the page
script"). `JobManager.start` creates the run, then starts `python -m classifier worker RUN`,
which inherits the run's lock and calls `run_worker`. The run store is the only contract
between the two: the page polls it, Stop writes a flag file into it, and any tab or process
sees the same job.

The worker dies with the server (it watches its parent), so a killed server leaves an
"interrupted" run rather than an orphan that keeps two cores busy.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from classifier.models import TrainConfig
from classifier.runs import FAILED, PROJECT_ROOT, RunError, RunStore, RunWriter

WORKER_LOG = "worker.log"
# Exit codes of a worker (and of the command line).
EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


class JobBusyError(RuntimeError):
    """Another run, or a check of the training labels, is training; one at a time."""


def busy_reason(store: RunStore, active: list | None = None) -> str | None:
    """Why no training may start now, or None. Two trainings on two cores slow each other
    down, so a run waits for another run and for a label check (Explore), which trains
    its own models. `active`: the store's active runs, when the caller has them."""
    from classifier.suspects import check_running

    active = store.active_runs() if active is None else active
    if active:
        return (
            f"Run '{active[0].name}' is still training, and this machine trains one "
            "model at a time. Wait for it to finish, or stop it first."
        )
    if check_running(store.root):
        return (
            "A check of the training labels (Explore page) is training its models. Wait "
            "for it to finish, or stop it first."
        )
    return None


class JobManager:
    """Starts and stops training workers for one run store. Thread-safe."""

    def __init__(self, store: RunStore):
        self.store = store
        self._lock = threading.Lock()
        self._processes: dict[str, subprocess.Popen] = {}

    def start(self, config: TrainConfig, name: str = "") -> str:
        """Start training `config` in a worker process; return the new run's id.

        Raises ValueError for an invalid config, JobBusyError while the machine is busy.
        """
        config.validate()
        with self._lock:
            self._reap()
            reason = busy_reason(self.store)
            if reason:
                raise JobBusyError(reason)
            writer = self.store.create_run(config.to_dict(), name)
            try:
                process = self._spawn(writer)
            except BaseException as error:  # no worker: the run must not look alive
                writer.write_status(
                    status=FAILED,
                    error=f"Could not start the training process: {error}",
                    finished_at=time.time(),
                )
                raise
            finally:
                writer.release()  # the worker holds the run's lock from now on
            self._processes[writer.run_id] = process
            return writer.run_id

    def _spawn(self, writer: RunWriter) -> subprocess.Popen:
        with open(writer.path / WORKER_LOG, "ab") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "classifier",
                    "--runs-dir",
                    # Absolute: the worker runs in the project folder, not in our cwd.
                    str(self.store.root.resolve()),
                    "worker",
                    writer.run_id,
                    "--lock-fd",
                    str(writer.lock_fd),
                    "--parent-pid",
                    str(os.getpid()),
                ],
                cwd=PROJECT_ROOT,
                pass_fds=(writer.lock_fd,),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self, run_id: str) -> None:
        """Ask the job to stop after its current batch; its model is kept."""
        self.store.request_stop(run_id)

    def wait(self, run_id: str, timeout: float | None = None) -> int | None:
        """Wait for a worker this manager started; its exit code (None if unknown)."""
        process = self._processes.get(run_id)
        return process.wait(timeout) if process else None

    def _reap(self) -> None:
        # Collect finished workers so they do not linger as zombies.
        for run_id, process in list(self._processes.items()):
            if process.poll() is not None:
                del self._processes[run_id]


def continued_name(parent_name: str) -> str:
    """The name a continued run gets unless it is given one."""
    return f"{parent_name} continued"


def continued_config(store: RunStore, run_id: str, epochs: int) -> TrainConfig:
    """The settings of a run that trains `run_id`'s saved model for `epochs` more epochs:
    the parent's settings, linked to it (README, "Continue training")."""
    info = store.get(run_id)
    if not info.usable:
        raise RunError(
            f"Run '{info.name}' cannot be continued: only a completed or stopped run with a "
            "saved model can."
        )
    try:
        config = TrainConfig.from_dict(info.config)
        return replace(config, epochs=int(epochs), parent=run_id).validate()
    except (TypeError, ValueError) as error:
        raise RunError(f"The settings of run '{info.name}' cannot be used: {error}") from error


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


def run_worker(store: RunStore, run_id: str, lock_fd: int, parent_pid: int = 0) -> int:
    """The worker process: train a run that `JobManager.start` created; its exit code."""
    # Ctrl-C in the server's terminal reaches us too; the server's exit is what ends us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent_pid:
        exit_when_parent_dies(parent_pid)
    from classifier.training import run_training  # late: imports TensorFlow

    writer = RunWriter(run_id, store.run_dir(run_id), lock_fd=lock_fd)
    try:
        run_training(writer, verbose=2)
    except Exception:  # recorded in the run; the worker's log gets where to look
        print(f"training failed (traceback in {writer.error_log})", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def exit_when_parent_dies(parent_pid: int) -> None:
    """A worker must not outlive the server that started it (it would be invisible)."""

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(EXIT_INTERRUPTED)  # hard exit: the run shows as interrupted

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
