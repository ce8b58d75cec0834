"""The one Streamlit helper module shared by the pages: cached resources and state keys.

Everything here is thin glue; the logic lives in the plain-Python package `classifier`.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from classifier.data import DatasetError, FashionMNIST, load_dataset
from classifier.dataset_view import SplitStats, compute_split_stats

ROUTED_ONCE = "ui_routed_once"  # session key: this session was sent through app.py once


def route_through_app() -> None:
    """Make a deep link (e.g. /dataset) on a fresh server go through app.py's router.

    Streamlit still supports the old "pages/ folder" mode: until some run calls
    st.navigation, it runs a page file directly, without app.py (no page config, a raw
    sidebar). Every page calls this first: it switches that mode off and reruns once, and
    the rerun goes through st.navigation to the same page. Once per session only: AppTest
    turns the mode back on before every run, and a rerun there would swallow clicks.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if not st.session_state.get(ROUTED_ONCE):
            st.session_state[ROUTED_ONCE] = True
            st.rerun()


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


@st.cache_resource(show_spinner="Computing statistics...")
def get_split_stats(split_name: str) -> SplitStats:
    """Statistics of one split, computed once per server. Keyed by the split's NAME: a big
    array as a cache argument would be hashed from a sample and could give a stale hit."""
    return compute_split_stats(get_dataset().split(split_name))


def sync_query_params(values: Mapping[str, str | None]) -> None:
    """Set these URL query parameters (None removes one), leaving any others alone.

    Writes only what changed: each write is a message to the browser, which then updates
    its address bar, so a copied link reopens the same view.
    """
    for name, value in values.items():
        if value is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != value:
            st.query_params[name] = value


# --- Verify page: cached model, predictions and saliency (added for pages/verify.py) --------
# Every cache is keyed by the run store's folder, the run id and the model's sha256, never by
# an array: a retrained or replaced model gets new entries, and nothing big is hashed.


@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def get_model(runs_root: str, run_id: str, model_sha256: str | None):
    """A run's Keras model, loaded once per server (raises ModelLoadError, never cached)."""
    import gc

    from classifier.runs import RunStore

    model = RunStore(runs_root).load_model(run_id)
    # Once Keras is imported, Streamlit calls keras.backend.clear_session() after every
    # script run, and that runs gc.collect() over TensorFlow's ~350,000 objects: 0.1-1 s
    # per rerun on this machine. Freezing what exists now (modules, TensorFlow, the model:
    # all long-lived) takes it out of every later collection, which then takes milliseconds.
    gc.collect()
    gc.freeze()
    return model


@st.cache_resource(show_spinner="Predicting the 10,000 test images...", max_entries=4)
def get_test_probabilities(runs_root: str, run_id: str, model_sha256: str | None):
    """Softmax probabilities (10000, 10) of a run's model on the test set, read-only."""
    from classifier.data import scale_images
    from classifier.predictions import probabilities

    model = get_model(runs_root, run_id, model_sha256)
    probs = probabilities(model, scale_images(get_dataset().test.images))
    probs.setflags(write=False)
    return probs


@st.cache_data(show_spinner=False, max_entries=256)
def get_saliency(runs_root: str, run_id: str, model_sha256: str | None, index: int, method: str):
    """The saliency map of one test image for its predicted class (small: cache_data)."""
    from classifier.data import scale_images
    from classifier.predictions import saliency

    model = get_model(runs_root, run_id, model_sha256)
    return saliency(model, scale_images(get_dataset().test.images[index]), method=method)


# --- End of the Verify page block -----------------------------------------------------------
