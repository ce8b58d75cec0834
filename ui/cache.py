"""Cached resources: the dataset, models, predictions, recorded histories and features.

Keyed by the run store's folder, the run id and the model's sha256 (or a history file's
size), never by an array (README, "Caching").
"""

from __future__ import annotations

import streamlit as st

from classifier.data import DatasetError, FashionMNIST, load_dataset
from classifier.figures import grid as grid_figures
from classifier.store.records import ModelLoadError
from classifier.store.runs import RunInfo, RunStore
from classifier.views.dataset import SplitStats, compute_split_stats
from classifier.views.text import escape_markdown


@st.cache_resource(show_spinner="Loading Fashion-MNIST...")
def _cached_dataset() -> FashionMNIST:
    # cache_resource, not cache_data: one shared read-only copy, no pickling per rerun.
    return load_dataset()


def get_dataset() -> FashionMNIST:
    """The dataset, loaded once per server; on failure, explain how to fix it and stop."""
    try:
        return _cached_dataset()
    except DatasetError as error:
        st.error(f"The Fashion-MNIST dataset could not be loaded. {error}")
        st.stop()
        raise  # unreachable: st.stop() ends the script run


@st.cache_data(max_entries=512, show_spinner=False)
def test_picture_uri(index: int, scale: int) -> str:
    """Test picture `index`, enlarged `scale` times, dark on white, as a data URI for
    st.image (Present and the room's phones: no media file that can go missing)."""
    return grid_figures.big_picture_uri(get_dataset().test.images[int(index)], scale)


@st.cache_resource(show_spinner="Computing statistics...")
def get_split_stats(split_name: str) -> SplitStats:
    """Statistics of one split, computed once per server. Keyed by the split's NAME: a big
    array as a cache argument would be hashed from a sample and could give a stale hit."""
    return compute_split_stats(get_dataset().split(split_name))


def test_probabilities(store: RunStore, run: RunInfo):
    """The run's probabilities on the test set; if its model cannot be loaded, say why and
    stop the page."""
    try:
        return get_test_probabilities(str(store.root.resolve()), run.run_id, run.model_sha256)
    except ModelLoadError as error:
        st.error(escape_markdown(f"{error} Choose another model above."))
        st.stop()


_frozen = False  # whether get_model has frozen the garbage collector's long-lived objects


@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def get_model(runs_root: str, run_id: str, model_sha256: str | None):
    """A run's Keras model, loaded once per server (raises ModelLoadError, never cached)."""
    import gc

    model = RunStore(runs_root).load_model(run_id)
    # README, "Streamlit calls keras.backend.clear_session() after every script run": its
    # gc.collect() over TensorFlow's objects costs 0.1-1 s a rerun. Freezing what exists
    # after the first load (modules, TensorFlow: long-lived) makes later collections
    # milliseconds. Only once: frozen objects are never freed, and later models come and go
    # with the cache.
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True
    return model


@st.cache_resource(show_spinner="Predicting the 10,000 test images...", max_entries=4)
def get_test_probabilities(runs_root: str, run_id: str, model_sha256: str | None):
    """Softmax probabilities (10000, 10) of a run's model on the test set, read-only.

    A completed run recorded them at its last epoch (history.py), from the very weights it
    saved: those are used (float16, as float32) when every epoch is there and the model file
    is intact, so the grid opens without loading TensorFlow; otherwise the model predicts.
    """
    from classifier.data import scale_images
    from classifier.ml.inference import probabilities
    from classifier.store.history import recorded_final_epoch

    recorded = recorded_final_epoch(RunStore(runs_root), run_id)
    if recorded is not None:
        epoch, size = recorded
        return get_epoch_probabilities(runs_root, run_id, size, epoch)
    model = get_model(runs_root, run_id, model_sha256)
    probs = probabilities(model, scale_images(get_dataset().test.images))
    probs.setflags(write=False)
    return probs


@st.cache_resource(show_spinner="Reading the recorded predictions...", max_entries=3)
def get_replay(runs_root: str, run_id: str, size: int):
    """A run's history with what it says (verify_view.Replay), read once; None without one."""
    from classifier.store.history import HISTORY_FILE, read_history
    from classifier.views.verify import Replay

    store = RunStore(runs_root)
    # Read no more epochs than the run says it finished: the file's size is not trusted.
    epochs_done = store.get(run_id).epochs_done
    history = read_history(store.run_dir(run_id) / HISTORY_FILE, max_epochs=epochs_done)
    return Replay(history, get_dataset().test.labels) if len(history) else None


@st.cache_resource(show_spinner=False, max_entries=8)
def get_epoch_probabilities(runs_root: str, run_id: str, size: int, epoch: int):
    """The recorded probabilities (10000, 10) of one 1-based epoch as float32, read-only:
    only the epochs shown are converted, the last few kept."""
    return get_replay(runs_root, run_id, size).probabilities(epoch)


def run_replay(store: RunStore, run: RunInfo):
    """The chosen run's Replay (cached), or None when it recorded no history."""
    from classifier.store.history import HISTORY_FILE, file_size, record_bytes

    size = file_size(store.run_dir(run.run_id) / HISTORY_FILE)
    if size < record_bytes():
        return None
    return get_replay(str(store.root.resolve()), run.run_id, size)


def epoch_probabilities(store: RunStore, run: RunInfo, replay, epoch: int | None):
    """The test probabilities the page shows: the run's model's (at the last epoch, or
    without a history), or those recorded at an earlier `epoch`."""
    if replay is None or epoch is None or epoch >= replay.epochs:
        return test_probabilities(store, run)
    from classifier.store.history import HISTORY_FILE, file_size

    size = file_size(store.run_dir(run.run_id) / HISTORY_FILE)
    return get_epoch_probabilities(str(store.root.resolve()), run.run_id, size, epoch)


@st.cache_data(show_spinner=False, max_entries=256)
def get_saliency(runs_root: str, run_id: str, model_sha256: str | None, index: int, method: str):
    """The saliency map of one test image for its predicted class (small: cache_data)."""
    from classifier.data import scale_images
    from classifier.ml.inference import saliency

    model = get_model(runs_root, run_id, model_sha256)
    return saliency(model, scale_images(get_dataset().test.images[index]), method=method)


@st.cache_resource(show_spinner="Looking at the pictures through the model...", max_entries=4)
def get_features(runs_root: str, run_id: str, model_sha256: str | None, split: str):
    """The model's features (its last hidden layer) for every picture of a split, (N, d), read-only:
    those the map worker stored for this very model (no model to load), else computed."""
    from classifier.data import scale_images
    from classifier.ml.features import MAX_FEATURE_WIDTH, feature_model, features, read_features
    from classifier.ml.models import feature_width
    from classifier.store.records import as_int

    store, split_size = RunStore(runs_root), len(get_dataset().split(split))
    config = store.get(run_id).config
    units = as_int(config.get("hidden_units"), 1, MAX_FEATURE_WIDTH)
    width = None if units is None else feature_width(config.get("architecture"), units)
    stored = read_features(store.run_dir(run_id), split, model_sha256, split_size, width)
    if stored is not None:
        stored.setflags(write=False)
        return stored
    model = get_model(runs_root, run_id, model_sha256)
    values = features(feature_model(model), scale_images(get_dataset().split(split).images))
    values.setflags(write=False)
    return values


@st.cache_resource(show_spinner="Indexing the 60,000 training pictures...", max_entries=4)
def get_neighbour_index(runs_root: str, run_id: str, model_sha256: str | None):
    """The nearest-picture index over the training pictures' features, built once per run."""
    from classifier.ml.features import NeighbourIndex

    return NeighbourIndex(get_features(runs_root, run_id, model_sha256, "train"))


@st.cache_resource(show_spinner=False, max_entries=4)
def get_pca_map(runs_root: str, run_id: str, model_sha256: str | None):
    from classifier.ml.features import principal_components

    points = principal_components(get_features(runs_root, run_id, model_sha256, "test"))
    points.setflags(write=False)
    return points


@st.cache_resource(show_spinner=False, max_entries=8)
def get_test_suspects(runs_root: str, run_id: str, model_sha256: str | None):
    """cleanlab's suspects of the test set with a run's model (label_ranking.Ranking)."""
    from classifier.ml.label_ranking import rank_suspects

    probs = get_test_probabilities(runs_root, run_id, model_sha256)
    return rank_suspects(probs, get_dataset().test.labels)


@st.cache_resource(show_spinner=False, max_entries=4)
def get_train_suspects(runs_root: str, key: str, stamp: int, preset: str, folds: int):
    """The cross-validated probabilities of a complete job (the preset's epochs, all
    training pictures) and their suspects, or None. `stamp`: the result file's mtime."""
    from pathlib import Path

    from classifier.jobs.label_check import CrossValidation, read_result
    from classifier.ml.label_ranking import rank_suspects

    probs = read_result(Path(runs_root), CrossValidation(preset, folds))
    if probs is None:
        return None
    probs.setflags(write=False)
    return rank_suspects(probs, get_dataset().train.labels[: len(probs)]), probs
