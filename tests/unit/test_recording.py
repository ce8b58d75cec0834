"""What the worker records while a model learns: the test set's probabilities after every
epoch, the live sample during it, and the steps after the last epoch."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.data import scale_images
from classifier.ml.inference import probabilities
from classifier.ml.models import preset_config
from classifier.ml.training import run_training
from classifier.store.history import HISTORY_FILE, LIVE_FILE, read_history, read_live
from classifier.store.runs import COMPLETED, RunStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def three_epochs(tmp_path_factory):
    root = tmp_path_factory.mktemp("recording")
    config = preset_config("Tutorial MLP", epochs=3, train_limit=2000)
    writer = RunStore(root).create_run(config.to_dict(), "three epochs")
    run_training(writer)
    return RunStore(root), writer.run_id


def test_every_epoch_holds_the_whole_test_set(three_epochs, dataset):
    store, run_id = three_epochs
    history = read_history(store.run_dir(run_id) / HISTORY_FILE)
    assert history.shape == (3, 10_000, 10)
    np.testing.assert_allclose(history.astype(np.float32).sum(axis=2), 1.0, atol=0.01)
    # Learning shows: the later epochs are right more often than the first.
    right = (history.argmax(axis=2) == dataset.test.labels).mean(axis=1)
    assert right[-1] > right[0] > 0.5


def test_the_last_epoch_is_the_saved_model_and_its_test_score(three_epochs, dataset):
    store, run_id = three_epochs
    info = store.get(run_id)
    assert info.status == COMPLETED
    last = read_history(store.run_dir(run_id) / HISTORY_FILE)[-1].astype(np.float32)
    saved = probabilities(store.load_model(run_id), scale_images(dataset.test.images))
    np.testing.assert_allclose(last, saved, atol=2e-3)  # float16 rounding
    assert info.test_accuracy == pytest.approx(np.mean(saved.argmax(1) == dataset.test.labels))
    metrics = store.read_metrics(run_id)
    assert [row["test_accuracy"] for row in metrics][-1] == pytest.approx(info.test_accuracy)
    assert info.status_data.get("phase") == "saving"  # the last step it announced


def test_the_live_sample_holds_the_tutorials_first_pictures(three_epochs):
    store, run_id = three_epochs
    live = read_live(store.run_dir(run_id) / LIVE_FILE)
    assert live is not None and set(range(15)) <= set(live["indices"])
    assert 1 <= live["epoch"] <= 3 and live["probabilities"].shape == (len(live["indices"]), 10)
