"""Worker processes, for every kind of job: training, the label check, the map.

Heavy work never runs in the server (README, "Training never runs in the page script"): a
worker is `python -m classifier ...`, started by `spawn_worker`. It inherits the lock of
its folder (a `flock`, so a killed worker releases it), runs at a lower scheduling priority
than the server, and exits when the server does (`exit_when_parent_dies`). Finished workers
are reaped, so none lingers as a zombie.

One training at a time: TensorFlow uses every core, so `busy_reason` refuses a run or a
label check while either is live, and `JobStarts` makes that check and the start one step.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from classifier.store.files import is_locked
from classifier.store.records import sentence_start
from classifier.store.reviews import explore_dir
from classifier.store.runs import PROJECT_ROOT, RunStore

WORKER_LOG = "worker.log"
# Exit codes of a worker (and of the command line).
EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130
WORKER_NICENESS = 10  # workers yield the CPU to the server, whose reruns a room waits for
# Another niceness for the workers (the test suite uses 0: many workers, and test processes
# of their own, share two cores there, and a starved worker only makes timeouts flaky).
NICENESS_ENV = "CLASSIFIER_WORKER_NICENESS"


class JobBusyError(RuntimeError):
    """Another run, or a check of the training labels, is training; one at a time."""


def label_check_running(root: Path) -> bool:
    """Whether a label check (its cross-validation job) holds its lock under `root`."""
    try:
        return any(job.is_dir() and is_locked(job) for job in explore_dir(root).iterdir())
    except OSError:  # no such folder yet
        return False


def busy_reason(store: RunStore, active: list | None = None) -> str | None:
    """Why no training may start now, or None. Two trainings on two cores slow each other
    down, so a run waits for another run and for a label check (Explore), which trains
    its own models. `active`: the store's active runs, when the caller has them."""
    active = store.active_runs() if active is None else active
    if active:
        return (
            f"{sentence_start(active[0].spoken_name)} is still training, and this machine "
            "trains one model at a time. Wait for it to finish, or stop it first."
        )
    if label_check_running(store.root):
        return (
            "A check of the training labels (Explore page) is training its models. Wait "
            "for it to finish, or stop it first."
        )
    return None


# One lock for every start in this server: the busy check and the start are one step, so
# a Train and a label check clicked at the same moment cannot both start.
START_LOCK = threading.Lock()


def spawn_worker(arguments: list[str], log_path: Path, lock_fd: int | None) -> subprocess.Popen:
    """Start `python -m classifier ARGUMENTS` in the project folder (it calls
    become_worker), its output appended to `log_path` (never through a link) and `lock_fd`
    inherited: the worker holds the lock from now on, and the caller closes its copy."""
    command = [sys.executable, "-m", "classifier", *arguments, "--parent-pid", str(os.getpid())]
    if lock_fd is not None:
        command += ["--lock-fd", str(lock_fd)]
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
    log_fd = os.open(log_path, flags, 0o644)
    try:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            pass_fds=() if lock_fd is None else (lock_fd,),
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
        )
    finally:
        os.close(log_fd)
    # Waiting collects the worker's exit status as soon as it ends, so a finished worker
    # never stays under the server as a zombie (<defunct>).
    threading.Thread(target=process.wait, name="reap-worker", daemon=True).start()
    return process


def become_worker(parent_pid: int) -> None:
    """The first thing a worker does: yield the CPU to the server (before TensorFlow starts
    its threads, which inherit the priority), ignore the Ctrl-C meant for the server, and
    exit when the server does."""
    os.nice(worker_niceness())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent_pid:
        exit_when_parent_dies(parent_pid)


def worker_niceness() -> int:
    """How much lower than the server a worker runs (0..19): WORKER_NICENESS, or the
    environment's CLASSIFIER_WORKER_NICENESS when it is a number in range."""
    configured = os.environ.get(NICENESS_ENV, "")
    if configured.isdigit() and 0 <= int(configured) <= 19:
        return int(configured)
    return WORKER_NICENESS


def exit_when_parent_dies(parent_pid: int) -> None:
    """A worker must not outlive the server that started it (it would be invisible)."""

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(EXIT_INTERRUPTED)  # hard exit: the run shows as interrupted

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
