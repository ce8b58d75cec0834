"""The command line with odd settings: a damaged TF_CONFIG, a non-chief index without
multi-worker training, and a model saved without its optimizer each end in one line (or
in a normal run), never a traceback or a run lost in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.store.files import sha256_file
from classifier.store.runs import RunStore
from tests.support import ROOT

TINY = ["--preset", "Tutorial MLP", "--epochs", "1", "--train-limit", "500", "--quiet"]


def cli(runs: Path, *args: str, tf_config: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = tf_config
    command = [sys.executable, "-m", "classifier", "--runs-dir", str(runs), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_one_machine_ignores_tf_config_and_keeps_its_run_in_the_store(tmp_path):
    damaged = cli(tmp_path, "train", *TINY, tf_config="{not json")
    assert damaged.returncode == 0, damaged.stderr
    index_one = json.dumps(
        {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    )
    second = cli(tmp_path, "train", *TINY, tf_config=index_one)
    assert second.returncode == 0, second.stderr
    assert len(RunStore(tmp_path).list_runs()) == 2  # both in the store, none in /tmp


def test_multi_worker_training_with_a_damaged_tf_config_says_so_in_one_line(tmp_path):
    result = cli(tmp_path, "train", *TINY, "--strategy", "multi-worker", tf_config="{not json")
    assert result.returncode == 1
    assert "TF_CONFIG" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_continuing_a_model_saved_without_its_optimizer_is_one_plain_line(tmp_path):
    import keras

    assert cli(tmp_path, "train", *TINY).returncode == 0
    store = RunStore(tmp_path)
    run = store.list_runs()[0]
    path = store.model_path(run.run_id)
    keras.models.load_model(path, compile=False).save(path)  # no optimizer in the file
    status = json.loads((run.path / "status.json").read_text())
    status["model_sha256"] = sha256_file(path)
    (run.path / "status.json").write_text(json.dumps(status))
    result = cli(tmp_path, "train", "--continue", run.run_id, "--epochs", "1", "--quiet")
    assert result.returncode == 1
    assert "without its optimizer" in result.stderr and "Traceback" not in result.stderr
