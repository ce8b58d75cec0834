"""Continue training: a new run that trains a finished run's model further, with its
optimizer state, linked to its parent; and its learning-rate schedule."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.jobs.training_job import continued_config
from classifier.ml.models import RESTART_SHARE, preset_config
from classifier.ml.training import run_training
from classifier.store.history import HISTORY_FILE, read_history
from classifier.store.records import RunError
from classifier.store.runs import COMPLETED, RunStore
from tests.support import ROOT

pytestmark = pytest.mark.slow
LIMIT = 2000


@pytest.fixture(scope="module")
def parent_and_child(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("continue"))
    config = preset_config("Tutorial MLP", epochs=1, train_limit=LIMIT, schedule="cosine")
    parent = store.create_run(config.to_dict(), "parent")
    run_training(parent)
    child = store.create_run(continued_config(store, parent.run_id, 1).to_dict(), "child")
    run_training(child)
    return store, parent.run_id, child.run_id


def test_a_continued_run_is_linked_and_its_curves_join_its_parents(parent_and_child):
    store, parent, child = parent_and_child
    info = store.get(child)
    assert info.status == COMPLETED and info.config["parent"] == parent
    assert [run.run_id for run in store.lineage(child)] == [parent, child]
    joined = store.joined_metrics(child)
    assert [(row["epoch"], row["run"]) for row in joined] == [(1, parent), (2, child)]
    assert read_history(store.run_dir(child) / HISTORY_FILE).shape[0] == 1


def test_it_goes_on_from_the_parents_weights_and_optimizer_state(parent_and_child):
    store, parent, child = parent_and_child
    steps = -(-LIMIT // 32)
    parent_model, child_model = store.load_model(parent), store.load_model(child)
    assert int(child_model.optimizer.iterations.numpy()) == 2 * steps  # not restarted at 0
    # Training went on from the parent's model: better than the parent, not a fresh start.
    parent_loss, child_loss = (store.read_metrics(run)[-1]["loss"] for run in (parent, child))
    assert child_loss < parent_loss
    assert not np.allclose(parent_model.get_weights()[0], child_model.get_weights()[0])


def test_a_cosine_schedule_restarts_lower_and_decays_over_the_new_epochs(parent_and_child):
    store, parent, child = parent_and_child
    steps, rate = -(-LIMIT // 32), 0.001
    schedule = store.load_model(child).optimizer._learning_rate
    at = {step: float(schedule(step)) for step in (steps, steps + steps // 2, 2 * steps)}
    assert at[steps] == pytest.approx(RESTART_SHARE * rate, rel=1e-3)
    assert at[steps + steps // 2] == pytest.approx(RESTART_SHARE * rate / 2, rel=0.05)
    assert at[2 * steps] == pytest.approx(0.0, abs=1e-7)


def test_the_best_cnns_recipe_records_reloads_and_continues(tmp_path, dataset):
    """Label smoothing and bfloat16 (the Best CNN's recipe), on the small model: the job
    records what the saved model predicts, and the run continues with one-hot targets."""
    from classifier.data import scale_images
    from classifier.ml.inference import softmax

    store = RunStore(tmp_path)
    recipe = {"label_smoothing": 0.1, "precision": "bfloat16"}
    config = preset_config("Tutorial MLP", epochs=1, train_limit=LIMIT, **recipe)
    parent = store.create_run(config.to_dict(), "smooth")
    assert run_training(parent)["test_accuracy"] > 0.6
    model = store.load_model(parent.run_id)
    assert model.loss.get_config()["label_smoothing"] == pytest.approx(0.1)
    recorded = read_history(store.run_dir(parent.run_id) / HISTORY_FILE)[-1]
    predicted = softmax(model.predict(scale_images(dataset.test.images), verbose=0))
    np.testing.assert_allclose(recorded, predicted, atol=2e-3)

    child = store.create_run(continued_config(store, parent.run_id, 1).to_dict(), "more")
    assert run_training(child)["status"] == COMPLETED
    losses = [store.read_metrics(run)[-1]["loss"] for run in (parent.run_id, child.run_id)]
    assert losses[1] < losses[0]


def test_only_a_finished_run_with_a_model_can_be_continued(runs_root):
    store = RunStore(runs_root)
    writer = store.create_run(preset_config("Tutorial MLP").to_dict(), "running")
    with pytest.raises(RunError, match="cannot be continued"):
        continued_config(store, writer.run_id, 2)
    writer.release()


def test_the_command_line_continues_a_run(parent_and_child):
    import re
    import subprocess
    import sys

    store, parent, _ = parent_and_child
    command = [sys.executable, "-m", "classifier", "--runs-dir", str(store.root), "train"]
    result = subprocess.run(
        [*command, "--continue", parent, "--epochs", "1", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    run_id = re.search(r"^run id: (\S+)$", result.stdout, re.MULTILINE).group(1)
    continued = store.get(run_id)
    assert continued.config["parent"] == parent
    assert continued.name == "parent continued"  # as the Train page names it, not the preset
    missing = subprocess.run([*command, "--continue", parent], capture_output=True, text=True)
    assert missing.returncode == 1 and missing.stderr.startswith("error: Say how many")
