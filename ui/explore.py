"""The Explore page's glue: features, maps, nearest pictures and suspicious labels."""

from __future__ import annotations

import streamlit as st

from classifier.jobs.process import JobBusyError
from classifier.store.records import ModelLoadError
from classifier.store.runs import RunInfo, RunStore
from classifier.views.text import escape_markdown
from ui.access import presenter_button
from ui.cache import (
    get_features,
    get_neighbour_index,
    get_pca_map,
    get_test_suspects,
    get_train_suspects,
    test_probabilities,
)


def explore_features(store: RunStore, run: RunInfo, split: str):
    """A run's features of a split (cached); if its model cannot be loaded, say why and stop."""
    try:
        return get_features(str(store.root.resolve()), run.run_id, run.model_sha256, split)
    except ModelLoadError as error:
        st.error(escape_markdown(f"{error} Choose another model above."))
        st.stop()


def test_suspects(store: RunStore, run: RunInfo):
    """cleanlab's suspects of the test set with the run's model (cached)."""
    test_probabilities(store, run)  # says why, if the model cannot be loaded
    return get_test_suspects(str(store.root.resolve()), run.run_id, run.model_sha256)


def nearest_training_pictures(store: RunStore, run: RunInfo, query, exclude=None, k: int = 8):
    """The k training pictures nearest to a feature vector (features.NeighbourIndex)."""
    explore_features(store, run, "train")  # says why, if the model cannot be loaded
    index = get_neighbour_index(str(store.root.resolve()), run.run_id, run.model_sha256)
    return index.search(query, k, exclude)[0]


def explore_map(store: RunStore, run: RunInfo, method: str):
    """The map's points (N, 2), and the t-SNE map's state (jobs.embedding.MapState) while
    it is not ready: the PCA map meanwhile. The t-SNE map starts in a worker the first
    time it is asked for; a failed one waits for "Try again"."""
    from classifier.data import SPLIT_SIZES
    from classifier.jobs import embedding

    root = str(store.root.resolve())
    explore_features(store, run, "test")  # says why, if the model cannot be loaded
    pca = get_pca_map(root, run.run_id, run.model_sha256)
    if method == "pca":
        return pca, None
    path = store.run_dir(run.run_id)
    state = embedding.map_state(path, SPLIT_SIZES["test"])
    if state.status == embedding.READY:
        return state.points, None
    if state.status == embedding.NONE:
        state = embedding.start_map(path, store.root)
    return pca, state


def train_suspects(store: RunStore, job):
    """(label_ranking.Ranking, probabilities) of a complete cross-validation job, or None."""
    from classifier.jobs.label_check import RESULT_FILE, job_dir

    result = job_dir(store.root, job) / RESULT_FILE
    try:
        stamp = result.lstat().st_mtime_ns
    except OSError:
        return None
    root = str(store.root.resolve())
    return get_train_suspects(root, job.key, stamp, job.preset, job.folds)


@st.fragment(run_every=2)
def map_status(store: RunStore, run: RunInfo, waiting: str, failed: str) -> None:
    """While the t-SNE map is computed: `waiting` and the seconds so far; when it failed,
    `failed`, why, and Try again; the page reruns when it is ready."""
    from classifier.data import SPLIT_SIZES
    from classifier.jobs import embedding

    path = store.run_dir(run.run_id)
    state = embedding.map_state(path, SPLIT_SIZES["test"])
    if state.status == embedding.READY:
        st.rerun()
    elif state.status == embedding.FAILED:
        st.warning(escape_markdown(f"{failed}: {state.error}"))
        if st.button("Try again", key="explore_map_retry"):
            embedding.start_map(path, store.root)
            st.rerun(scope="fragment")
    elif state.status == embedding.NONE:
        embedding.start_map(path, store.root)  # another map finished: this one's turn
    elif state.status == embedding.WAITING:
        st.info(f"{waiting} It starts when the map of another model is done.")
    else:
        st.info(f"{waiting} ({state.seconds:.0f} s so far)")


@st.fragment(run_every=1)
def cross_validation_job(store: RunStore, job) -> None:
    """A cross-validation job (label_check.CrossValidation): Start for the presenter, then its
    progress and Stop; the page reruns when it is done."""
    from classifier.jobs import label_check

    progress = label_check.job_state(store.root, job)
    if progress.status == label_check.COMPLETED:
        st.rerun()
    if progress.status == label_check.RUNNING:
        st.progress(progress.fraction, text=progress.text)
        if presenter_button("Stop", key="cross_validation_stop"):
            label_check.request_stop(store.root, job)
        return
    st.caption(escape_markdown(progress.text))
    st.caption(label_check.estimate_sentence(job))  # before it starts: how long it takes
    if presenter_button("Check the training labels", key="cross_validation_start", type="primary"):
        try:
            label_check.start_job(store.root, job)
            st.rerun()
        except (JobBusyError, OSError, ValueError) as error:
            st.warning(escape_markdown(str(error)))


def review_buttons(store: RunStore, split: str, index: int, given: int, label: int, key: str):
    """A suspect's verdict, for the presenter: what was decided so far, then "The label is
    right" and "The label is wrong: <label>" side by side, or one under the other where the
    column is narrow (each label whole). A click saves the review (never the dataset);
    returns the decision, or None."""
    from classifier.data import CLASS_NAMES
    from classifier.store import reviews as label_reviews
    from classifier.views import explore as explore_view

    saved = label_reviews.read_reviews(store.root).get(label_reviews.review_key(split, index))
    st.caption(explore_view.decision_words(saved))
    words = {
        label_reviews.RIGHT: "The label is right",
        label_reviews.WRONG: f"The label is wrong: {CLASS_NAMES[label]}",
    }
    with st.container(horizontal=True, gap="small"):
        for decision, text in words.items():
            if presenter_button(text, key=f"{key}_{decision}", width="content"):
                label_reviews.save_review(store.root, split, index, given, decision, label)
                return decision
    return None
