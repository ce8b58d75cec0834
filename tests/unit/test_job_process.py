"""Worker processes: reaped when they end, one training at a time even when two starts
race, and a label check that cannot start releases its lock."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from classifier.jobs import label_check, process
from classifier.jobs.process import JobBusyError, busy_reason, spawn_worker
from classifier.jobs.training_job import JobManager
from classifier.ml.models import preset_config
from classifier.store.files import take_lock
from classifier.store.runs import RunStore
from tests.support import wait_until


def test_a_finished_worker_does_not_stay_as_a_zombie(tmp_path):
    # `runs` does not take --parent-pid: the worker exits at once with a usage error.
    worker = spawn_worker(["--runs-dir", str(tmp_path), "runs"], tmp_path / "worker.log", None)
    proc = Path(f"/proc/{worker.pid}")
    wait_until(lambda: not proc.exists(), 30, f"worker {worker.pid} to be reaped, not a zombie")


def test_a_label_check_that_cannot_write_releases_its_lock(tmp_path, monkeypatch):
    job = label_check.CrossValidation("Tutorial MLP", folds=2, epochs=1, limit=100)

    def disk_full(path, value):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(label_check, "atomic_write_json", disk_full)
    with pytest.raises(OSError):
        label_check.start_job(tmp_path, job)
    folder = label_check.job_dir(tmp_path.resolve(), job)
    assert busy_reason(RunStore(tmp_path)) is None  # training may start
    fd = take_lock(folder)  # and the check may be tried again
    assert fd is not None
    os.close(fd)


@pytest.mark.slow
def test_train_and_label_check_started_at_the_same_moment_do_not_both_run(tmp_path):
    store = RunStore(tmp_path)
    manager = JobManager(store)
    job = label_check.CrossValidation("Tutorial MLP", folds=2, epochs=1, limit=100)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def train():
        barrier.wait()
        try:
            outcomes["train"] = manager.start(preset_config("Tutorial MLP", epochs=1))
        except JobBusyError as error:
            outcomes["train"] = error

    def check():
        barrier.wait()
        try:
            label_check.start_job(tmp_path, job)
            outcomes["check"] = "started"
        except JobBusyError as error:
            outcomes["check"] = error

    threads = [threading.Thread(target=train), threading.Thread(target=check)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    busy = [name for name, outcome in outcomes.items() if isinstance(outcome, JobBusyError)]
    assert len(busy) == 1, outcomes  # exactly one of the two started
    if isinstance(outcomes["train"], str):
        manager.stop(outcomes["train"])
        manager.wait(outcomes["train"], 120)
    else:
        label_check.request_stop(tmp_path, job)
        wait_until(lambda: not process.label_check_running(tmp_path), 120, "the lock's release")


def test_a_worker_yields_the_cpu_to_the_server():
    import subprocess
    import sys

    from classifier.jobs.process import NICENESS_ENV, WORKER_NICENESS

    script = "from classifier.jobs.process import become_worker; import os; "
    script += "before = os.nice(0); become_worker(0); print(os.nice(0) - before)"
    env = {key: value for key, value in os.environ.items() if key != NICENESS_ENV}
    lowered = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert int(lowered.stdout) == WORKER_NICENESS == 10
