"""The command line, run as a user runs it: `python -m classifier ...` in a real process."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifier.data import CLASS_NAMES, scale_images
from classifier.ml import inference
from classifier.store.history import HISTORY_FILE
from classifier.store.runs import COMPLETED, STOP_FILE, RunStore
from tests.support import ROOT

pytestmark = pytest.mark.slow


def cli(runs_dir: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "classifier", "--runs-dir", str(runs_dir), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`train` once for the whole module: (runs folder, run id, completed process)."""
    runs_dir = tmp_path_factory.mktemp("cli") / "runs"
    result = cli(runs_dir, "train", "--preset", "Tutorial MLP", "--epochs", "1",
                 "--train-limit", "2000", "--quiet", "--name", "cli run")  # fmt: skip
    match = re.search(r"^run id: (\S+)$", result.stdout, re.MULTILINE)
    assert result.returncode == 0 and match, result.stdout + result.stderr
    return runs_dir, match.group(1), result


def test_train_prints_the_test_accuracy_and_stores_a_completed_run(trained):
    runs_dir, run_id, result = trained
    match = re.search(r"^completed: test loss ([\d.]+), test accuracy ([\d.]+)$", result.stdout,
                      re.MULTILINE)  # fmt: skip
    assert match, result.stdout
    accuracy = float(match.group(2))
    assert 0.5 < accuracy <= 1
    assert "Epoch 1/1" not in result.stdout  # --quiet: no Keras progress bar
    info = RunStore(runs_dir).get(run_id)
    assert (info.status, info.name, info.epochs_done) == (COMPLETED, "cli run", 1)
    assert info.test_accuracy == pytest.approx(accuracy, abs=1e-4)


def test_train_builds_the_architecture_asked_for_with_the_rest_of_the_preset(tmp_path):
    """--architecture swaps the layers and keeps the preset's recipe: one network of the
    Best CNN (a comparison the README's "Models" table reports)."""
    runs_dir = tmp_path / "runs"
    result = cli(runs_dir, "train", "--preset", "Best CNN", "--architecture", "cnn-bn",
                 "--epochs", "1", "--train-limit", "256", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = RunStore(runs_dir).list_runs()
    assert run.config["architecture"] == "cnn-bn"
    assert run.config["label_smoothing"] == 0.1 and run.config["precision"] == "bfloat16"
    model = RunStore(runs_dir).load_model(run.run_id)
    assert model.count_params() == 468_394  # one network, not the twins


def test_runs_lists_the_run(trained):
    runs_dir, run_id, _ = trained
    result = cli(runs_dir, "runs")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["RUN", "PRESET", "STATUS", "EPOCHS", "TEST", "ACC", "TIME"]
    assert len(rows) == 1
    assert rows[0].startswith(run_id) and "Tutorial MLP" in rows[0]
    assert "completed" in rows[0] and "1/1" in rows[0]


def test_runs_in_an_empty_store_says_so(tmp_path):
    result = cli(tmp_path / "nothing-here", "runs")
    assert result.returncode == 0
    assert result.stdout.startswith("no runs in ")


def test_evaluate_prints_json_with_the_test_accuracy(trained):
    runs_dir, run_id, _ = trained
    result = cli(runs_dir, "evaluate", run_id)
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert scores["run"] == run_id
    recorded = RunStore(runs_dir).get(run_id)
    assert scores["test_accuracy"] == pytest.approx(recorded.test_accuracy, abs=1e-4)
    assert scores["test_loss"] == pytest.approx(recorded.test_loss, rel=1e-3)


def test_evaluate_scores_a_label_smoothed_run_as_its_training_did(tmp_path):
    """A smoothed model's loss takes one-hot targets: `evaluate` must still score it, with
    the plain cross-entropy that the run recorded."""
    runs_dir = tmp_path / "runs"
    result = cli(runs_dir, "train", "--epochs", "1", "--train-limit", "2000", "--quiet",
                 "--label-smoothing", "0.1")  # fmt: skip
    run_id = re.search(r"^run id: (\S+)$", result.stdout, re.MULTILINE).group(1)
    result = cli(runs_dir, "evaluate", run_id)
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    recorded = RunStore(runs_dir).get(run_id)
    assert scores["test_accuracy"] == pytest.approx(recorded.test_accuracy, abs=1e-4)
    assert scores["test_loss"] == pytest.approx(recorded.test_loss, rel=1e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evaluate", "no-such-run"], "No run named 'no-such-run'"),
        (["evaluate", "../etc"], "Not a valid run id"),
        (["stop", "no-such-run"], "No run named"),
        (["delete", "no-such-run"], "No run named"),
        (["train", "--epochs", "0"], "Epochs must be between 1 and 200"),
        (["train", "--label-smoothing", "0.5"], "Label smoothing must be"),
    ],
)
def test_a_bad_request_is_one_error_line_and_exit_code_1(tmp_path, args, message):
    result = cli(tmp_path / "runs", *args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--preset", "GPT"],
        ["train", "--epochs", "many"],
        ["train", "--optimizer", "lion"],
        ["train", "--precision", "float8"],
        ["train", "--architecture", "transformer"],
        ["frobnicate"],
        [],
    ],
)
def test_a_malformed_command_is_a_usage_error_with_exit_code_2(tmp_path, args):
    result = cli(tmp_path / "runs", *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_stop_and_delete(runs_root):
    store = RunStore(runs_root)
    live = store.create_run({"preset": "Tutorial MLP", "epochs": 5}, name="live")  # we hold it

    result = cli(runs_root, "stop", live.run_id)
    assert result.returncode == 0 and f"asked run {live.run_id} to stop" in result.stdout
    assert (live.path / STOP_FILE).exists()
    assert live.stop_requested  # what the training loop checks after every batch

    result = cli(runs_root, "delete", live.run_id)
    assert result.returncode == 1 and "still training" in result.stderr
    assert live.path.is_dir()

    live.release()  # the trainer ended (here: without finishing)
    assert "interrupted" in cli(runs_root, "runs").stdout
    result = cli(runs_root, "delete", live.run_id)
    assert result.returncode == 0 and f"deleted run {live.run_id}" in result.stdout
    assert not live.path.exists()
    assert cli(runs_root, "runs").stdout.startswith("no runs in ")


def test_ctrl_c_stops_training_and_keeps_the_model(tmp_path):
    import signal
    import time

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "classifier",
            "--runs-dir",
            str(tmp_path),
            "train",
            "--preset",
            "Small CNN",
            "--epochs",
            "5",
            "--train-limit",
            "20000",
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = RunStore(tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until it really trains
        runs = store.list_runs()
        if runs and store.read_batches(runs[0].run_id):
            break
        time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    assert "stopping after this batch" in err
    assert "stopped: test loss" in out
    (run,) = store.list_runs()
    assert run.status == "stopped" and run.has_model
    store.load_model(run.run_id)


@pytest.mark.parametrize("command", [("train", "--epochs", "1", "--quiet"), ("runs",)])
def test_an_unwritable_runs_folder_is_one_error_line(tmp_path, command):
    """It printed a full traceback; a runs folder under a plain file cannot be created."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = cli(blocker / "runs", *command, timeout=120)
    if command == ("runs",):  # listing a folder that cannot exist: nothing to list
        assert result.returncode == 0 and "no runs" in result.stdout
        return
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


# --- history: what a run's model predicted for one picture, epoch by epoch -------------------


def test_history_prints_one_line_per_epoch(trained, dataset):
    runs_dir, run_id, _ = trained
    result = cli(runs_dir, "history", run_id, "--image", "0")
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    true_name = CLASS_NAMES[dataset.test.labels[0]]
    assert header.split()[:3] == ["EPOCH", "PREDICTED", "PROBABILITY"]
    assert header.endswith(f"TRUE: {true_name}")
    assert len(lines) == 1  # the run trained for one epoch
    epoch, *name, predicted_probability, true_probability = lines[0].split()
    assert epoch == "1" and " ".join(name) in CLASS_NAMES
    assert 0 < float(predicted_probability) <= 1 and 0 <= float(true_probability) <= 1
    if " ".join(name) == true_name:
        assert predicted_probability == true_probability


def test_history_json_is_the_saved_models_predictions_within_float16(trained, dataset):
    runs_dir, run_id, _ = trained
    image = 42
    result = cli(runs_dir, "history", run_id, "--image", str(image), "--json")
    assert result.returncode == 0, result.stderr
    (record,) = json.loads(result.stdout)
    assert record["epoch"] == 1 and len(record["probabilities"]) == 10
    recorded = np.array(record["probabilities"])
    model = RunStore(runs_dir).load_model(run_id)
    expected = inference.probabilities(model, scale_images(dataset.test.images[image : image + 1]))
    np.testing.assert_allclose(recorded, expected[0], rtol=2e-3, atol=2e-4)  # float16
    assert record["predicted"] == CLASS_NAMES[int(recorded.argmax())]
    assert record["true"] == CLASS_NAMES[dataset.test.labels[image]]
    assert record["true_probability"] == recorded[dataset.test.labels[image]]


def test_history_of_a_run_without_one_is_an_error(trained, tmp_path):
    runs_dir, run_id, _ = trained
    shutil.copytree(runs_dir / run_id, tmp_path / run_id)
    (tmp_path / run_id / HISTORY_FILE).unlink()  # as runs recorded before there was a history
    result = cli(tmp_path, "history", run_id, "--image", "0")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "no history" in result.stderr


def test_history_of_an_epoch_whose_output_was_not_a_number_says_so(trained, tmp_path):
    """A diverged model's output is not a number: that epoch's line says it predicted
    nothing, instead of naming the first class at 0.0000."""
    runs_dir, run_id, _ = trained
    shutil.copytree(runs_dir / run_id, tmp_path / run_id)
    history = tmp_path / run_id / HISTORY_FILE
    values = np.frombuffer(history.read_bytes(), dtype="<f2").copy()
    values[:10] = np.nan  # picture 0 in epoch 1, as a diverged model records it
    history.write_bytes(values.tobytes())
    text = cli(tmp_path, "history", run_id, "--image", "0")
    assert text.returncode == 0, text.stderr
    (line,) = text.stdout.splitlines()[1:]
    assert line.split()[0] == "1" and "no prediction" in line, line
    assert not any(name in line for name in CLASS_NAMES), line
    (record,) = json.loads(cli(tmp_path, "history", run_id, "--image", "0", "--json").stdout)
    assert record["predicted"] is None and record["probabilities"] is None
    assert record["right"] is False


@pytest.mark.parametrize("image", ["10000", "-1", "many", "²"])
def test_history_of_a_picture_out_of_range_is_a_usage_error(trained, image):
    runs_dir, run_id, _ = trained
    result = cli(runs_dir, "history", run_id, "--image", image)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "0-9999" in result.stderr
