"""Train: choose settings, start a background job, watch it live, compare and manage runs."""

import streamlit as st

import ui
from classifier import train_figures as figures
from classifier import train_view as view
from classifier.jobs import JobBusyError, get_job_manager
from classifier.models import PRESETS, TrainConfig
from classifier.runs import RUNNING, RunError, RunStore, is_stop_requested, read_run_file
from classifier.text import escape_markdown, run_labels
from classifier.train_view import Keys

ui.start_page()
store = RunStore()
manager = get_job_manager(store)
state = st.session_state


def settings_ui() -> tuple[TrainConfig, str]:
    """The settings. The config is built from what the widgets return: that stays right even
    when a reconnecting browser hands its widget values to a fresh session."""
    reset = {"on_change": lambda: state.update(view.preset_state(state[Keys.PRESET]))}
    preset = st.selectbox("Model", list(PRESETS), key=Keys.PRESET, **reset)  # all settings reset
    defaults = PRESETS[preset].defaults.to_dict()
    st.caption(PRESETS[preset].summary)
    widgets = {s.field: s for s in view.SETTINGS}
    values = {f: ui.setting_widget(s, defaults[f]) for f, s in widgets.items() if not s.more}
    with st.expander("More settings"):
        values |= {f: ui.setting_widget(s, defaults[f]) for f, s in widgets.items() if s.more}
    name = st.text_input("Run name (optional)", key=Keys.NAME, max_chars=64)
    return view.settings_config(preset, values), name


@st.fragment(run_every=view.POLL_SECONDS)
def live_panel(run_id: str) -> None:
    """Polls the run store while a job trains; the job itself never touches Streamlit."""
    info = store.get(run_id)
    if info.status != RUNNING:
        state[Keys.SHOWN_RUN] = run_id
        st.rerun()  # the whole page: show the results and enable Train again
    batches, metrics = store.read_batches(run_id), store.read_metrics(run_id)
    st.markdown(f"**Training** {escape_markdown(info.name)} ({escape_markdown(info.preset)})")
    ui.progress_bar(info, batches)
    if is_stop_requested(info.path):
        st.info("Stopping after the current batch...")
    elif ui.presenter_button("Stop", key="train_stop", icon=":material/stop:"):
        manager.stop(run_id)  # a RunError here (an unwritable store) shows as an error
        st.toast("Asked the training to stop; the model so far is kept.")
    ui.live_predictions(info, metrics, key=Keys.LIVE_SET)  # red captions turning blue
    if batches:
        st.plotly_chart(figures.batch_curves_figure(batches), key="train_live_batches")
    if metrics:
        st.plotly_chart(figures.epoch_curves_figure(metrics), key="train_live_epochs")


def results_panel(run_id: str) -> None:
    """A finished run: its scores, curves, epoch table and downloads."""
    try:
        info = store.get(run_id)
    except RunError as error:
        st.warning(escape_markdown(str(error)))
        return
    st.markdown(f"#### {escape_markdown(info.name)}")
    st.badge(info.status, color=view.STATUS_COLORS.get(info.status, "gray"))
    two_rows = [column for _ in range(2) for column in st.columns(2)]  # "3 min 39 s" fits
    for column, (label, value, hint) in zip(two_rows, view.score_cards(info), strict=True):
        column.metric(label, value, help=hint)
    if info.error and info.status != "completed":
        st.warning(escape_markdown(info.error))
    if metrics := store.read_metrics(run_id):
        st.plotly_chart(figures.epoch_curves_figure(metrics), key="train_result_epochs")
        st.caption(view.OVERFITTING_NOTE)
        # A toggle, not an expander: an expander's content is built on every rerun, and a
        # long run's batch log is tens of megabytes.
        if st.toggle("Show the per-batch curves and the epoch table", key=Keys.DETAILS):
            batches = figures.batch_curves_figure(store.read_batches(run_id))
            st.plotly_chart(batches, key="train_result_batches")
            st.dataframe(view.epoch_table(metrics), hide_index=True)
    left, right = st.columns(2)
    if info.has_model:
        model = lambda: read_run_file(store.model_path(run_id))  # noqa: E731
        with left:
            ui.run_download("Download model (.keras)", store, run_id, model, f"{run_id}.keras")
    if metrics:
        with right:
            csv = lambda: store.metrics_csv(run_id)  # noqa: E731
            ui.run_download("Download metrics (CSV)", store, run_id, csv, f"{run_id}-metrics.csv")


def runs_section(runs) -> None:
    """Every run: a table, curves to compare, and deleting one."""
    st.subheader("Runs")
    if not runs:
        st.info("No runs yet. Choose settings above and press Train.")
        return
    st.dataframe(view.run_table(runs), hide_index=True)
    labels = run_labels(runs)
    compare = st.multiselect("Compare runs", list(labels), format_func=labels.get, key=Keys.COMPARE)
    if compare:
        curves, names = view.COMPARE_CURVES, view.METRIC_NAMES
        metric = st.segmented_control(
            "Curve", curves, format_func=names.get, default="test_accuracy", key=Keys.COMPARE_METRIC
        )
        metrics = {run: (labels[run], store.read_metrics(run)) for run in compare}
        figure = figures.compare_runs_figure(metrics, metric or "test_accuracy")
        st.plotly_chart(figure, key="train_compare_fig")
    if ui.is_presenter():  # viewers cannot delete
        delete_section(runs)


def delete_section(runs) -> None:
    with st.expander("Delete a run"):
        doomed = ui.run_picker("Run to delete", runs, key=Keys.DELETE_RUN).run_id
        sure = "Yes, delete this run and its model for good"
        confirm = st.checkbox(sure, key=Keys.DELETE_CONFIRM)
        if ui.presenter_button("Delete", key="train_delete", disabled=not confirm, type="primary"):
            try:
                store.delete(doomed)
                state.pop(Keys.DELETE_CONFIRM, None)
                st.rerun()
            except RunError as error:
                st.error(escape_markdown(str(error)))


def shown_run(runs) -> str:
    """The run whose results are shown: a job that just ended, a link, or the user's choice;
    the URL follows it."""
    view.choose_shown_run(state, st.query_params.get("run"), [run.run_id for run in runs])
    shown = ui.run_picker("Show run", runs, key=Keys.VIEW_RUN).run_id
    st.query_params["run"] = state[Keys.URL_RUN] = shown
    return shown


st.title("Train a model")
st.expander("What is training? (plain-language explanation)").markdown(view.TRAINING_EXPLAINED)
active = store.active_runs()
runs = store.list_runs()
settings, main = st.columns([1, 2], gap="large")
with settings:
    config, name = settings_ui()
    st.caption(view.config_summary(config))
    train = {"type": "primary", "disabled": bool(active), "icon": ":material/play_arrow:"}
    if ui.presenter_button("Train", "train_start", **train):
        try:  # the job manager validates the config once, and the worker again
            state[Keys.SHOWN_RUN] = manager.start(config, name)
            st.rerun()
        except (JobBusyError, ValueError, RunError) as error:
            st.error(escape_markdown(str(error)))
    if active:
        st.caption("One model trains at a time on this machine.")
with main:
    if active:
        live_panel(active[0].run_id)
    elif runs:
        results_panel(shown_run(runs))
    else:
        st.info("Pick a model and press **Train**. The curves appear here as it learns.")
st.divider()
runs_section(runs)
