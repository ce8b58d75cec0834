"""Train: choose settings, start a background job, watch it live, compare and manage runs."""

import streamlit as st

from classifier.figures import train as figures
from classifier.jobs.process import JobBusyError, busy_reason
from classifier.jobs.training_job import continued_config, continued_name, get_job_manager
from classifier.ml.models import PRESETS, TrainConfig
from classifier.store.records import RunError
from classifier.store.runs import RUNNING, RunStore, is_stop_requested
from classifier.views import train as view
from classifier.views.text import escape_markdown, run_labels
from classifier.views.train import Keys
from ui import access, routing, run_widgets, watch, widgets

routing.start_page()
store = RunStore()
manager = get_job_manager(store)
state = st.session_state


def apply_preset() -> None:
    """A new preset resets every setting to the preset's own."""
    state.update(view.preset_state(state[Keys.PRESET]))


def settings_ui() -> tuple[TrainConfig, str, object]:
    """The settings, and the place right under the model's name where the Train button goes
    (on a 768-px screen the sliders would push it out of sight). The config is built from
    what the widgets return: that stays right even when a reconnecting browser hands its
    widget values to a fresh session."""
    preset = st.selectbox("Model", list(PRESETS), key=Keys.PRESET, on_change=apply_preset)
    defaults = PRESETS[preset].defaults.to_dict()
    st.caption(PRESETS[preset].summary)
    button_place = st.container()
    values = {}
    for setting in view.SETTINGS:
        if not setting.more:
            values[setting.field] = widgets.setting_widget(setting, defaults[setting.field])
    with st.expander("More settings"):
        for setting in view.SETTINGS:
            if setting.more:
                values[setting.field] = widgets.setting_widget(setting, defaults[setting.field])
    name = st.text_input("Run name (optional)", key=Keys.NAME, max_chars=64)
    return view.settings_config(preset, values), name, button_place


@st.fragment(run_every=view.POLL_SECONDS)
def live_panel(run_id: str) -> None:
    """Polls the run store while a job trains; the job itself never touches Streamlit."""
    info = store.get(run_id)
    if info.status != RUNNING:
        state[Keys.SHOWN_RUN] = run_id
        st.rerun()  # the whole page: show the results and enable Train again
    batches, metrics = store.read_batches(run_id), store.read_metrics(run_id)
    st.markdown(f"**Training** {escape_markdown(run_labels([info])[run_id])}")
    run_widgets.progress_bar(info, batches)
    if is_stop_requested(info.path):
        st.info("Stopping after the current batch...")
    elif access.presenter_button("Stop", key="train_stop", icon=":material/stop:"):
        manager.stop(run_id)  # a RunError here (an unwritable store) shows as an error
        st.toast("Asked the training to stop; the model so far is kept.")
    watch.live_predictions(info, metrics, key=Keys.LIVE_SET)  # red captions turning blue
    if batches:
        widgets.chart(figures.batch_curves_figure(batches), key="train_live_batches")
    if metrics:
        widgets.chart(figures.epoch_curves_figure(metrics), key="train_live_epochs")


def results_panel(run_id: str) -> None:
    """A finished run: its scores, curves, epoch table and downloads."""
    try:
        info = store.get(run_id)
    except RunError as error:
        st.warning(escape_markdown(str(error)))
        return
    st.markdown(f"#### {escape_markdown(run_labels([info])[run_id])}")  # never a bare id
    st.badge(info.status, color=view.STATUS_COLORS.get(info.status, "gray"))
    two_rows = [column for _ in range(2) for column in st.columns(2)]  # "3 min 39 s" fits
    for column, (label, value, hint) in zip(two_rows, view.score_cards(info), strict=True):
        column.metric(label, value, help=hint)
    if info.error and info.status != "completed":
        st.warning(escape_markdown(info.error))
    if len(line := store.lineage(run_id)) > 1:  # a continued run: its curves joined
        names = run_labels(line)
        st.caption(
            "Continues " + " → ".join(escape_markdown(names[run.run_id]) for run in line[:-1])
        )
    if metrics := store.joined_metrics(run_id):
        widgets.chart(figures.epoch_curves_figure(metrics), key="train_result_epochs")
        st.caption(view.curves_note(info.config))
        # A toggle, not an expander: an expander's content is built on every rerun, and a
        # long run's batch log is tens of megabytes.
        if st.toggle("Show the per-batch curves and the epoch table", key=Keys.DETAILS):
            batches = figures.batch_curves_figure(store.read_batches(run_id))
            widgets.chart(batches, key="train_result_batches")
            st.dataframe(view.epoch_table(metrics), hide_index=True)
    run_widgets.run_downloads(store, info, bool(metrics))
    next_steps_section(info)


def next_steps_section(info) -> None:
    """Train the same again from a link, or train this model further (a linked new run)."""
    link = view.settings_params(TrainConfig.from_dict(info.config))
    st.page_link(
        "pages/train.py", label=view.AGAIN_LABEL, query_params=link, icon=":material/replay:"
    )
    if info.usable and access.is_presenter():
        how_many, continue_column = st.columns(2, vertical_alignment="bottom")
        epochs = how_many.number_input("More epochs", 1, 50, 5, key=Keys.MORE_EPOCHS)
        with continue_column:
            if access.presenter_button("Continue training", "train_continue"):
                start(lambda: continued_config(store, info.run_id, epochs), continued_name(info))


def start(make_config, name: str) -> None:
    """Start a training job; the page then shows it live. The job manager validates the
    config once, and the worker again."""
    try:
        state[Keys.SHOWN_RUN] = manager.start(make_config(), name)
        st.rerun()
    except (JobBusyError, ValueError, RunError) as error:
        st.error(escape_markdown(str(error)))


def shown_run(runs) -> str:
    """The run whose results are shown: a job that just ended, a link, or the user's choice;
    the URL follows it."""
    view.choose_shown_run(state, st.query_params.get("run"), [run.run_id for run in runs])
    shown = widgets.run_picker("Show run", runs, key=Keys.VIEW_RUN).run_id
    st.query_params["run"] = state[Keys.URL_RUN] = shown
    return shown


if "preset" in st.query_params:  # a link with settings ("Train again with these settings")
    state.update(view.settings_from_link(st.query_params.to_dict()))
    # Applied once: the form is the user's again, and the same link applies again later.
    widgets.sync_query_params({field: None for field in view.LINK_FIELDS})
st.title("Train a model")
st.expander("What is training? (plain-language explanation)").markdown(view.TRAINING_EXPLAINED)
active = store.active_runs()
runs = store.list_runs()
settings, main = st.columns([1, 2], gap="large")
with settings:
    config, name, button_place = settings_ui()
    st.caption(view.config_summary(config))
    busy = busy_reason(store, active)  # another run, or a label check, is training
    with button_place:
        if access.presenter_button(
            "Train",
            "train_start",
            type="primary",
            disabled=bool(busy),
            icon=":material/play_arrow:",
        ):
            start(lambda: config, name)
        if busy:
            st.caption(escape_markdown(busy))
with main:
    if active:
        live_panel(active[0].run_id)
    elif runs:
        results_panel(shown_run(runs))
    else:
        st.info("Pick a model and press **Train**. The curves appear here as it learns.")
st.divider()
run_widgets.runs_overview(store, runs)
