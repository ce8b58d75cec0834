"""Training jobs in real worker processes: finish, refuse a second job, stop, survive kills.

Every job here is a real `python -m classifier worker` subprocess training on real data.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from classifier.jobs.process import WORKER_LOG, JobBusyError
from classifier.jobs.training_job import JobManager
from classifier.ml.models import preset_config
from classifier.store.files import sha256_file
from classifier.store.history import HISTORY_FILE, read_history
from classifier.store.records import ModelLoadError
from classifier.store.runs import (
    COMPLETED,
    FAILED,
    INTERRUPTED,
    MODEL_FILE,
    RUNNING,
    STATUS_FILE,
    STOPPED,
    RunStore,
)
from tests.support import ROOT, process_gone, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def manager(runs_root, monkeypatch):
    # A relative runs folder, as `CLASSIFIER_RUNS_DIR=runs` gives: the worker runs in the
    # project folder, so it must still find this store.
    monkeypatch.chdir(runs_root.parent)
    manager = JobManager(RunStore(Path(runs_root.name)))
    yield manager
    for process in manager._processes.values():  # a failed test must not leave a trainer
        if process.poll() is None:
            process.kill()
            process.wait()


def status_file(store: RunStore, run_id: str) -> dict:
    try:
        return json.loads((store.run_dir(run_id) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def worker_log(store: RunStore, run_id: str) -> str:
    return (store.run_dir(run_id) / WORKER_LOG).read_text(errors="replace")[-3000:]


def test_a_job_runs_to_completion_and_a_second_one_is_refused(manager):
    store = manager.store
    run_id = manager.start(preset_config("Tutorial MLP", epochs=1, train_limit=2000), "first")
    assert store.get(run_id).status == RUNNING
    with pytest.raises(JobBusyError, match="one model at a time"):
        manager.start(preset_config("Tutorial MLP", epochs=1, train_limit=2000), "second")
    # Another tab or process with its own manager sees the same job through the store.
    with pytest.raises(JobBusyError, match="'first' is still training"):
        JobManager(RunStore(store.root)).start(preset_config("Tutorial MLP", epochs=1))

    assert manager.wait(run_id, timeout=120) == 0, worker_log(store, run_id)
    info = store.get(run_id)
    assert (info.status, info.epochs_done, info.name) == (COMPLETED, 1, "first")
    assert 0.5 < info.test_accuracy <= 1
    assert info.model_sha256 == sha256_file(store.model_path(run_id))
    assert store.load_model(run_id).output_shape == (None, 10)
    assert [run.run_id for run in store.list_runs()] == [run_id]  # the refused ones left none
    assert status_file(store, run_id)["pid"] != os.getpid()  # trained in its own process
    assert store.active_runs() == []


def test_no_training_starts_while_a_label_check_trains_its_models(manager):
    """The label check (Explore) trains K models: a training run beside it would share the
    two cores and slow both, so the Train page and the command line wait for it."""
    from classifier.jobs import label_check
    from classifier.jobs.process import JobBusyError

    root = manager.store.root
    check = label_check.CrossValidation(limit=100)
    folder, lock = label_check._prepare(root, check)  # what a running check holds
    try:
        with pytest.raises(JobBusyError, match="check of the training labels"):
            manager.start(preset_config("Tutorial MLP", epochs=1, train_limit=100), "blocked")
        command = [sys.executable, "-m", "classifier", "--runs-dir", str(root.resolve())]
        command += ["train", "--epochs", "1", "--train-limit", "100"]
        cli = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert cli.returncode != 0 and "check of the training labels" in cli.stderr
    finally:
        os.close(lock)
    assert manager.store.list_runs() == []  # the refused runs left nothing behind
    run_id = manager.start(preset_config("Tutorial MLP", epochs=1, train_limit=100), "later")
    assert manager.wait(run_id, timeout=120) == 0, worker_log(manager.store, run_id)


def test_a_worker_that_cannot_start_leaves_a_failed_run_not_a_busy_store(manager, monkeypatch):
    monkeypatch.setattr(sys, "executable", "/nonexistent/python3")
    with pytest.raises(FileNotFoundError):
        manager.start(preset_config("Tutorial MLP", epochs=1), "never ran")
    (info,) = manager.store.list_runs()
    assert info.status == FAILED and "Could not start the training process" in info.error
    assert manager.store.active_runs() == []  # the next job may start
    manager.store.delete(info.run_id)


def test_stop_ends_a_long_job_quickly_with_a_usable_model(manager):
    store = manager.store
    config = preset_config("Small CNN", epochs=3, train_limit=6000)
    run_id = manager.start(config, "to stop")
    wait_until(lambda: store.read_batches(run_id), 90, what="the first batches")
    asked = time.monotonic()
    manager.stop(run_id)
    wait_until(lambda: store.get(run_id).status != RUNNING, 30, what="the job to end")
    stop_seconds = time.monotonic() - asked
    assert manager.wait(run_id, timeout=30) == 0, worker_log(store, run_id)

    info = store.get(run_id)
    assert info.status == STOPPED, worker_log(store, run_id)
    assert stop_seconds < 10, f"stopping took {stop_seconds:.1f} s"
    batches = store.read_batches(run_id)
    steps = batches[-1]["steps"]
    assert len(batches) < 3 * steps  # it did not train to the end
    assert info.epochs_done == len(store.read_metrics(run_id)) < 3
    assert info.usable and info.test_accuracy is not None
    assert store.load_model(run_id).output_shape == (None, 10)


@pytest.mark.parametrize("when", ["in the first epoch", "after an epoch"])
def test_a_worker_killed_mid_epoch_leaves_an_interrupted_run(manager, when):
    store = manager.store
    config = preset_config("Small CNN", epochs=4, batch_size=32, train_limit=2000)
    run_id = manager.start(config, "to kill")
    finished = 0 if when == "in the first epoch" else 1

    def mid_epoch():
        # In the first 60% of an epoch after `finished` full ones: far from any model save.
        batches = store.read_batches(run_id)
        if not batches:
            return False
        last = batches[-1]
        done = len(store.read_metrics(run_id))
        return (
            done >= finished and last["epoch"] == done + 1 and last["batch"] < 0.6 * last["steps"]
        )

    wait_until(mid_epoch, 120, interval=0.01, what=f"a batch {when}")
    done_before_kill = len(store.read_metrics(run_id))
    pid = status_file(store, run_id)["pid"]
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    assert manager.wait(run_id, timeout=30) == -signal.SIGKILL

    run_path = store.run_dir(run_id)
    # Looked at before any reader touches the folder: no half-written model or status.
    assert [name for name in os.listdir(run_path) if "tmp" in name] == []
    info = store.get(run_id)
    assert info.status == INTERRUPTED
    assert "ended without finishing" in info.error
    assert info.epochs_done == done_before_kill == len(store.read_metrics(run_id)) >= finished
    # The prediction history keeps exactly the finished epochs, readable.
    assert read_history(run_path / HISTORY_FILE).shape == (done_before_kill, 10_000, 10)
    assert not info.usable and info.test_accuracy is None
    assert store.active_runs() == []
    if info.epochs_done == 0:
        assert not info.has_model
        with pytest.raises(ModelLoadError, match="no saved model"):
            store.load_model(run_id)
    else:  # the model of the last finished epoch, intact
        assert status_file(store, run_id)["epochs_done"] == info.epochs_done
        assert info.model_sha256 == sha256_file(run_path / MODEL_FILE)
        assert store.load_model(run_id).output_shape == (None, 10)
    store.delete(run_id)  # a dead run can be cleaned up
    assert not run_path.exists()


PARENT_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from classifier.jobs.training_job import JobManager
    from classifier.ml.models import preset_config
    from classifier.store.runs import RunStore

    manager = JobManager(RunStore(sys.argv[1]))
    print(manager.start(preset_config("Tutorial MLP", epochs=50, train_limit=6000)), flush=True)
    time.sleep(600)
    """
)


def test_killing_the_server_process_ends_its_worker(runs_root, tmp_path):
    store = RunStore(runs_root)
    script = tmp_path / "parent.py"
    script.write_text(PARENT_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, str(script), str(runs_root)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    worker_pid = None
    try:
        run_id = parent.stdout.readline().strip()
        assert run_id, "the parent process did not start a job"
        wait_until(lambda: store.read_batches(run_id), 90, what="the first batches")
        worker_pid = status_file(store, run_id)["pid"]
        assert worker_pid not in (parent.pid, os.getpid())
        assert store.get(run_id).status == RUNNING

        parent.kill()
        parent.wait()
        killed = time.monotonic()
        wait_until(lambda: store.get(run_id).status == INTERRUPTED, 10, what="interrupted")
        wait_until(lambda: process_gone(worker_pid), 10, what="the worker to exit")
        assert time.monotonic() - killed < 5
        assert store.active_runs() == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if worker_pid and not process_gone(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)
