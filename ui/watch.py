"""Watching a run live, and the quick demo that trains one from Home, Verify or Present."""

from __future__ import annotations

import streamlit as st

from classifier.jobs.process import JobBusyError
from classifier.store.records import RunError
from classifier.store.runs import RUNNING, RunInfo, RunStore
from classifier.views.text import escape_markdown
from classifier.views.train import QUICK_NAME, quick_config
from ui.access import is_presenter
from ui.cache import get_dataset
from ui.run_widgets import progress_bar
from ui.widgets import chart

QUICK_RUN = "quick_training_run"  # session key: the quick training this session started


QUICK_ERROR = "quick_training_error"


QUICK_LIVE_SET = "quick_training_live_set"  # session key: the pictures the quick demo shows


def live_predictions(info: RunInfo, metrics: list[dict], key: str) -> None:
    """What a live run's model gets right as it learns, on every page that watches one: in
    big type how many test pictures it got right after the last epoch, and the tutorial's
    grid of a fixed set of test pictures (the chooser's `key`), from the live sample."""
    from classifier.figures import train as train_figures
    from classifier.store.history import LIVE_FILE, LIVE_SETS, read_live
    from classifier.views import train as view

    if count := view.right_count(metrics):
        st.markdown(f"### {count.text}\n\n{count.change_text}", anchors=False)
    else:
        st.caption(view.RIGHT_COUNT_WAITING)
    live = read_live(info.path / LIVE_FILE)
    if live is None:
        st.caption(view.LIVE_WAITING)
        return
    test = get_dataset().test
    if not (rows := view.live_set_rows(live["indices"], test.labels)):
        return
    grid = st.container()  # right under the count; the chooser goes under the grid
    hint = "The hardest pictures come from the last run recorded before this one."
    options = {"format_func": LIVE_SETS.get, "default": next(iter(rows)), "help": hint}
    wanted = st.segmented_control("Pictures", list(rows), key=key, required=True, **options)
    chosen = view.chosen_live_set(rows, wanted)
    indices = [live["indices"][row] for row in rows[chosen]]
    probabilities = live["probabilities"][rows[chosen]]
    figure = train_figures.live_grid_figure(
        test.images[indices], probabilities, test.labels[indices], indices
    )
    with grid:
        chart(figure, f"{key}_grid", width="content")
        st.caption(view.live_caption(live, info))


@st.fragment(run_every=1)
def watch_run(store: RunStore, run_id: str) -> None:
    """The progress of a live run and what its model gets right, every second; reruns the
    whole page when it has ended."""
    try:
        info = store.get(run_id)
    except RunError:  # deleted meanwhile
        st.rerun()
    if info.status != RUNNING:
        st.rerun()
    progress_bar(info, store.read_batches(run_id))
    live_predictions(info, store.read_metrics(run_id), key=QUICK_LIVE_SET)


def start_quick_training() -> None:
    """Start the first-run demo's training in a worker (a button's callback)."""
    from classifier.jobs.training_job import get_job_manager

    if not is_presenter():
        return
    try:
        st.session_state[QUICK_RUN] = get_job_manager().start(quick_config(), QUICK_NAME)
        st.session_state.pop(QUICK_ERROR, None)
    except (JobBusyError, RunError) as error:
        st.session_state[QUICK_ERROR] = str(error)


def quick_training(store: RunStore, note: str) -> None:
    """The first-run demo: a button that trains the tutorial's model in the background,
    then its progress until it ends (the page then reruns and finds the model)."""
    st.info(note)
    st.page_link("pages/train.py", label="Open the Train page", icon=":material/model_training:")
    watched = st.session_state.get(QUICK_RUN)
    watched = watched or next((run.run_id for run in store.active_runs()), None)
    info = store.get(watched) if watched and store.run_dir(watched).is_dir() else None
    if info and info.status == RUNNING:
        watch_run(store, info.run_id)
        return
    if info and info.error:
        st.error(
            escape_markdown(f"The training of {info.spoken_name} did not finish: {info.error}")
        )
    if not is_presenter():
        st.caption("The presenter can start the training here.")
        return
    start = {"on_click": start_quick_training, "type": "primary"}
    st.button("Train a quick model", key="verify_quick_train", **start)
    if message := st.session_state.get(QUICK_ERROR):
        st.warning(escape_markdown(message))
