"""Multi-worker training: two real `python -m classifier train --strategy multi-worker`
processes on this machine, joined by a two-worker TF_CONFIG on loopback ports.

Keras 3's `fit` cannot run MultiWorkerMirroredStrategy (every worker failed at the first
batch), so these runs go through training.CustomLoop. Worker 0 is the chief and writes the
run into the store; worker 1 writes to a temporary folder (under TMPDIR, here the test's own
folder), which the tests read to check that both workers took the same steps and ended with
the same weights.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.ml.training import _short_tf_error
from classifier.store.runs import COMPLETED, STATUS_FILE, STOPPED, RunStore
from tests.support import ROOT, wait_until

TIMEOUT = 240  # seconds for a whole two-worker run; each takes 10-30 s here


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now (held together while chosen, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Workers:
    """Two training processes of one multi-worker run; `runs` is the chief's (shared) store."""

    def __init__(self, folder: Path, *flags: str):
        self.folder = folder
        self.runs = folder / "runs"
        self.temp = folder / "tmp"  # the non-chief worker's run store goes here
        self.temp.mkdir(parents=True)
        cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
        command = [sys.executable, "-m", "classifier", "--runs-dir", str(self.runs), "train"]
        command += ["--strategy", "multi-worker", "--quiet", *flags]
        self.processes = []
        self.logs = []
        for index in range(2):
            tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
            env = {
                **os.environ,
                "TF_CONFIG": json.dumps(tf_config),
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "TMPDIR": str(self.temp),
                # Keep worker 1's scratch run, which the tests compare with the chief's (the
                # command line removes it otherwise).
                "CLASSIFIER_KEEP_WORKER_SCRATCH": "1",
            }
            log = open(folder / f"worker{index}.log", "wb")  # noqa: SIM115 - closed in stop()
            self.logs.append(log)
            self.processes.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )

    def wait(self, timeout: float = TIMEOUT) -> list[int]:
        """Both exit codes; a worker still running after `timeout` fails the test."""
        codes = []
        for process in self.processes:
            try:
                codes.append(process.wait(timeout=timeout))
            except subprocess.TimeoutExpired:
                pytest.fail(f"a worker still runs after {timeout} s:\n{self.output()}")
        return codes

    def output(self) -> str:
        return "\n".join(
            f"--- worker {index}:\n"
            + (self.folder / f"worker{index}.log").read_text(errors="replace")[-3000:]
            for index in range(2)
        )

    def stop(self) -> None:
        """Kill what still runs (a failed test must not leave trainers behind)."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        for log in self.logs:
            log.close()

    def chief_run(self) -> tuple[RunStore, str]:
        store = RunStore(self.runs)
        runs = store.list_runs()
        assert len(runs) == 1, [run.run_id for run in runs]
        return store, runs[0].run_id

    def other_run(self) -> tuple[RunStore, str]:
        (folder,) = self.temp.glob("classifier-worker-*")
        store = RunStore(folder)
        (run,) = store.list_runs()
        return store, run.run_id


@pytest.fixture
def workers(tmp_path):
    started = []

    def start(*flags: str) -> Workers:
        started.append(Workers(tmp_path, *flags))
        return started[-1]

    yield start
    for group in started:
        group.stop()


def status(store: RunStore, run_id: str) -> dict:
    return json.loads((store.run_dir(run_id) / STATUS_FILE).read_text())


def same_weights(first, second) -> bool:
    import numpy as np

    pairs = zip(first.get_weights(), second.get_weights(), strict=True)
    return all(np.array_equal(one, two) for one, two in pairs)


@pytest.mark.slow
def test_two_workers_train_one_run_together(workers):
    group = workers(
        "--preset", "Tutorial MLP", "--train-limit", "3000", "--epochs", "1",
        "--validation-split", "0.1",
    )  # fmt: skip
    assert group.wait() == [0, 0], group.output()

    store, run_id = group.chief_run()
    info, state = store.get(run_id), status(store, run_id)
    steps = math.ceil(2700 / 64)  # 10% held out; 32 a replica on 2 replicas
    assert (info.status, info.epochs_done) == (COMPLETED, 1)
    assert (state["strategy"], state["replicas"], state["global_batch_size"]) == (
        "multi-worker",
        2,
        64,
    )
    assert (state["steps_per_epoch"], state["train_images"]) == (steps, 2700)
    assert 0.6 < info.test_accuracy <= 1, info.test_accuracy

    # One line per global step, not one per replica or per worker.
    batches = store.read_batches(run_id)
    assert [(row["epoch"], row["batch"], row["steps"]) for row in batches] == [
        (1, step, steps) for step in range(1, steps + 1)
    ]
    assert all(0 <= row["accuracy"] <= 1 and row["loss"] > 0 for row in batches)
    (epoch,) = store.read_metrics(run_id)
    assert epoch["loss"] == batches[-1]["loss"] and epoch["accuracy"] == batches[-1]["accuracy"]
    for key in ("val_loss", "val_accuracy", "epoch_seconds", "time", "learning_rate"):
        assert key in epoch, key

    # The other worker took the very same steps and ended with the very same weights: the
    # gradients were summed across workers and each worker read its own share of the data.
    other_store, other_id = group.other_run()
    assert other_store.read_batches(other_id) == batches
    assert other_store.get(other_id).test_accuracy == info.test_accuracy
    assert same_weights(store.load_model(run_id), other_store.load_model(other_id))


@pytest.mark.slow
def test_stop_ends_both_workers_after_the_same_step(workers):
    group = workers(
        "--preset", "Tutorial MLP", "--train-limit", "20000", "--epochs", "20",
    )  # fmt: skip
    runs = RunStore(group.runs)

    def some_batches_logged():
        listed = runs.list_runs()
        return listed and len(runs.read_batches(listed[0].run_id)) >= 20 and listed[0].run_id

    run_id = wait_until(some_batches_logged, timeout=120, what="the first batches")
    runs.request_stop(run_id)  # the app's Stop button: only the chief sees this file
    assert group.wait(timeout=60) == [0, 0], group.output()

    info = runs.get(run_id)
    assert info.status == STOPPED and info.epochs_done < 20
    other_store, other_id = group.other_run()
    assert other_store.get(other_id).status == STOPPED
    batches = runs.read_batches(run_id)
    assert other_store.read_batches(other_id) == batches  # the same last step on both
    assert runs.load_model(run_id).output_shape == (None, 10)  # the final model is kept


@pytest.mark.slow
def test_a_worker_without_examples_in_the_last_step_still_takes_part(workers, dataset):
    # 129 images in global batches of 2 x 64: the second step has one image, so one worker
    # has an empty batch, which a convolution cannot take (it skips the model instead).
    group = workers(
        "--preset", "Best CNN", "--train-limit", "129", "--validation-split", "0",
        "--batch-size", "64", "--epochs", "1",
    )  # fmt: skip
    assert group.wait() == [0, 0], group.output()
    store, run_id = group.chief_run()
    info = store.get(run_id)
    assert info.status == COMPLETED
    assert len(store.read_batches(run_id)) == 2

    # Batch normalisation keeps moving statistics per worker, so the workers' models differ
    # there: the stored test result is the saved (chief's) model's, as `evaluate` finds it.
    from classifier.data import scale_images
    from classifier.ml.inference import accuracy as share_right
    from classifier.ml.inference import probabilities

    probs = probabilities(store.load_model(run_id), scale_images(dataset.test.images))
    accuracy = share_right(probs, dataset.test.labels)
    assert info.test_accuracy == pytest.approx(accuracy, abs=1e-4)


class UnavailableError(Exception):
    """Stands in for TensorFlow's error of the same name (same `message` attribute)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def test_tensorflow_errors_are_cut_to_one_readable_line():
    trace = "\n".join(f'  File "/x/y.py", line {n}, in call\n' for n in range(500))
    lost_worker = (
        "Graph execution error:\n\n"
        "Detected at node CollectiveReduceV2 defined at (most recent call last):\n"
        f"{trace}\n"
        "Collective ops is aborted by: recvmsg:Connection reset by peer\n"
        "Additional GRPC error information from remote target /job:worker/replica:0/task:1 "
        'while calling /tensorflow.WorkerService/RecvBuf: {grpc_status:14, grpc_message:"x"}\n'
        "The error could be from a previous operation. Restart your program to reset.\n"
        "\t [[{{node CollectiveReduceV2}}]] [Op:__inference_train_step_1980]"
    )
    assert _short_tf_error(UnavailableError(lost_worker)) == (
        "UnavailableError in distributed training: Collective ops is aborted by: "
        "recvmsg:Connection reset by peer (from /job:worker/replica:0/task:1)"
    )
    huge = _short_tf_error(UnavailableError("tensor " + "[0., 0., 0.] " * 5000))
    assert len(huge) < 400 and huge.endswith("...")
