"""The t-SNE map runs in a worker process: a crash there never reaches the server, a failed
map says why once and is not started again on every rerun, and a model that learned
nothing gets a plain message."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

from classifier.jobs import embedding
from classifier.ml.features import (
    FEATURES_FILES,
    FEATURES_NOTE,
    principal_components,
    read_features,
    read_map,
    write_features,
)
from classifier.store.runs import RunStore


def test_features_that_do_not_vary_get_a_plain_message_not_a_native_crash():
    with pytest.raises(embedding.DegenerateFeatures, match="did not learn"):
        embedding.compute_map(np.zeros((500, 32), dtype=np.float32))


def test_a_model_with_one_feature_still_gets_a_two_column_map():
    values = np.random.default_rng(0).random((100, 1)).astype(np.float32)
    points = principal_components(values)
    assert points.shape == (100, 2)
    assert np.all(points[:, 1] == 0)


def test_an_unreadable_status_is_no_map_and_never_raises(tmp_path):
    (tmp_path / embedding.STATUS_FILE).write_text('{"status": "running", "started_at": 1e400}')
    assert embedding.map_state(tmp_path, 10).status == embedding.FAILED  # nobody holds the lock
    (tmp_path / embedding.STATUS_FILE).write_text("[" * 100_000)
    assert embedding.map_state(tmp_path, 10).status == embedding.NONE
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / embedding.STATUS_FILE).unlink()
    (tmp_path / embedding.STATUS_FILE).symlink_to(tmp_path / "fifo")
    assert embedding.map_state(tmp_path, 10).status == embedding.NONE  # no hang on a FIFO


@pytest.mark.slow
def test_a_crashed_map_worker_leaves_the_server_alive_and_reads_as_failed(trained_run):
    store = RunStore(trained_run.root)
    path = store.run_dir(trained_run.run_id)
    state = embedding.start_map(path, store.root)
    assert state.status == embedding.RUNNING
    process = embedding._workers[path]
    os.kill(process.pid, signal.SIGSEGV)
    assert embedding.wait_for_map(path, 30)
    failed = embedding.map_state(path, 10_000)
    assert failed.status == embedding.FAILED and "crashed" in failed.error
    # A failed map stays failed until someone asks again: no restart on every rerun.
    assert embedding.map_state(path, 10_000).status == embedding.FAILED
    assert process.poll() == -signal.SIGSEGV  # reaped, not a zombie


@pytest.mark.slow
def test_a_finished_training_job_leaves_its_map_and_features_ready_for_explore(
    tmp_path, monkeypatch
):
    """The worker's whole path once (a real model, a real t-SNE): the training job maps its
    run when it completes, so Explore's first map needs neither a worker nor the model."""
    from classifier.data import load_dataset, scale_images
    from classifier.jobs.training_job import MAP_AFTER_TRAINING_ENV, JobManager
    from classifier.ml.features import feature_model, features
    from classifier.ml.models import preset_config

    monkeypatch.setenv(MAP_AFTER_TRAINING_ENV, "1")  # the suite turns it off elsewhere
    store = RunStore(tmp_path)
    manager = JobManager(store)
    run_id = manager.start(preset_config("Tutorial MLP", epochs=1, train_limit=1000))
    assert manager.wait(run_id, 300) == 0
    run, path = store.get(run_id), store.run_dir(run_id)
    assert run.status == "completed"
    state = embedding.map_state(path, 10_000)
    assert state.status == embedding.READY, state.error
    assert read_map(path, 10_000).shape == (10_000, 2)
    # The features too, those of this very model.
    digest, width = run.model_sha256, run.config["hidden_units"]
    stored = read_features(path, "test", digest, 10_000, width)
    model = store.load_model(run_id)
    computed = features(feature_model(model), scale_images(load_dataset().test.images[:500]))
    assert np.allclose(stored[:500], computed, atol=1e-4)
    assert read_features(path, "train", digest, 60_000, width).shape == (60_000, width)
    assert read_features(path, "test", "0" * 64, 10_000, width) is None  # another model's


def test_stored_features_are_read_only_for_their_model_and_their_size(tmp_path):
    digest = "a" * 64
    values = np.random.default_rng(0).random((50, 8), dtype=np.float32)
    write_features(tmp_path, digest, {"test": values, "train": values[:40]})
    assert np.array_equal(read_features(tmp_path, "test", digest, 50, 8), values)
    assert read_features(tmp_path, "train", digest, 40, 8).shape == (40, 8)
    assert read_features(tmp_path, "test", "b" * 64, 50, 8) is None  # another model
    assert read_features(tmp_path, "test", None, 50, 8) is None  # a run without a checksum
    assert read_features(tmp_path, "test", digest, 49, 8) is None  # not the split's size
    assert read_features(tmp_path, "test", digest, 50, 16) is None  # not the run's width
    assert read_features(tmp_path, "test", digest, 50, None) is None  # the run says none
    assert read_features(tmp_path, "../x", digest, 50, 8) is None  # not a split
    # A note that lies about the width, or is damaged: nothing is read.
    (tmp_path / FEATURES_NOTE).write_text(json.dumps({"model_sha256": digest, "width": 9}))
    assert read_features(tmp_path, "test", digest, 50, 8) is None
    (tmp_path / FEATURES_NOTE).write_text(json.dumps({"model_sha256": digest, "width": 1e9}))
    assert read_features(tmp_path, "test", digest, 50, 8) is None
    (tmp_path / FEATURES_NOTE).write_text("[")
    assert read_features(tmp_path, "test", digest, 50, 8) is None
    # Features behind a link are not followed.
    write_features(tmp_path, digest, {"test": values})
    elsewhere = tmp_path / "elsewhere.npy"
    (tmp_path / FEATURES_FILES["test"]).rename(elsewhere)
    (tmp_path / FEATURES_FILES["test"]).symlink_to(elsewhere)
    assert read_features(tmp_path, "test", digest, 50, 8) is None


@pytest.mark.slow
def test_explore_reads_the_best_cnn_twins_stored_features_without_loading_the_model(tmp_path):
    """The Best CNN's features are both twin networks' hidden layers, twice its hidden
    units: checked against the hidden units alone, they read as "damaged", and Explore
    loaded the model to compute them again on every first map."""
    from classifier.ml.models import preset_config
    from classifier.ml.training import run_training
    from ui import cache

    store = RunStore(tmp_path)
    config = preset_config("Best CNN", epochs=1, train_limit=256)
    writer = store.create_run(config.to_dict(), "twins")
    run_training(writer)
    run = store.get(writer.run_id)
    width = 2 * config.hidden_units
    stored = np.random.default_rng(0).random((10_000, width), dtype=np.float32)
    # What the map worker stores after training (the suite turns that step off).
    write_features(store.run_dir(run.run_id), run.model_sha256, {"test": stored})

    def no_model(*args):
        raise AssertionError("Explore loaded the model: the stored features were not used")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "get_model", no_model)
        values = cache.get_features(str(tmp_path), run.run_id, run.model_sha256, "test")
    assert np.array_equal(values, stored)
