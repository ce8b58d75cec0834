"""Train: choose settings, start a background job, watch it live, compare and manage runs."""

from dataclasses import replace

import streamlit as st

import ui
from classifier.jobs import JobBusyError, get_job_manager
from classifier.models import OPTIMIZERS, PRESETS, SCHEDULES, TrainConfig
from classifier.reporting import (
    batch_curves_figure,
    compare_runs_figure,
    epoch_curves_figure,
    escape_markdown,
    format_duration,
    run_table,
    training_progress,
)
from classifier.runs import RUNNING, STOP_FILE, RunError, RunStore

ui.route_through_app()

POLL_SECONDS = 1.0
SHOWN_RUN = "train_shown_run"  # session key: the run whose results are shown
BATCH_SIZES = [16, 32, 64, 128, 256, 512]
LEARNING_RATES = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]
HIDDEN_UNITS = [32, 64, 128, 256, 512]
STATUS_COLORS = {"completed": "green", "stopped": "orange", "failed": "red", "interrupted": "red"}

store = RunStore()
manager = get_job_manager(store)


def apply_preset() -> None:
    """Reset every setting to the chosen preset's values (the preset box's on_change)."""
    defaults = PRESETS[st.session_state.train_preset].defaults
    for field, value in defaults.to_dict().items():
        st.session_state[f"train_{field}"] = value


def settings_ui() -> tuple[TrainConfig, str]:
    if "train_preset" not in st.session_state:
        st.session_state.train_preset = "Tutorial MLP"
        apply_preset()
    preset = st.selectbox("Model", list(PRESETS), key="train_preset", on_change=apply_preset)
    st.caption(PRESETS[preset].summary)
    st.slider("Epochs (passes over all training images)", 1, 50, key="train_epochs")
    st.select_slider("Batch size (images per update)", BATCH_SIZES, key="train_batch_size")
    st.select_slider("Learning rate (step size)", LEARNING_RATES, key="train_learning_rate")
    with st.expander("More settings"):
        st.selectbox("Optimizer", OPTIMIZERS, key="train_optimizer")
        st.selectbox("Learning-rate schedule", SCHEDULES, key="train_schedule")
        st.select_slider("Hidden units", HIDDEN_UNITS, key="train_hidden_units")
        st.slider("Dropout", 0.0, 0.7, step=0.05, key="train_dropout")
        st.slider(
            "Validation split (held out to check for overfitting)",
            0.0,
            0.3,
            step=0.05,
            key="train_validation_split",
        )
        st.slider("Training images (0 = all 60,000)", 0, 60_000, step=1000, key="train_train_limit")
        st.checkbox("Augment (random flips and small shifts)", key="train_augment")
        st.number_input("Random seed", 0, 2**31 - 1, key="train_seed")
    name = st.text_input("Run name (optional)", key="train_name", max_chars=64)
    values = {
        field: st.session_state[f"train_{field}"]
        for field in TrainConfig().to_dict()
        if f"train_{field}" in st.session_state
    }
    return replace(TrainConfig(), **values), name


@st.fragment(run_every=POLL_SECONDS)
def live_panel(run_id: str) -> None:
    """Polls the run store while a job trains; the job itself never touches Streamlit."""
    info = store.get(run_id)
    if info.status != RUNNING:
        st.session_state[SHOWN_RUN] = run_id
        st.rerun()  # the whole page: show the results and enable Train again
    batches = store.read_batches(run_id)
    progress = training_progress(info, batches)
    st.markdown(f"**Training** {escape_markdown(info.name)} ({info.preset})")
    st.progress(progress.fraction, text=progress.text if batches else "Starting TensorFlow...")
    if (info.path / STOP_FILE).exists():
        st.info("Stopping after the current batch...")
    elif st.button("Stop", key="train_stop", icon=":material/stop:"):
        manager.stop(run_id)
        st.toast("Asked the training to stop; the model so far is kept.")
    if batches:
        st.plotly_chart(batch_curves_figure(batches), key="train_live_batches")
    metrics = store.read_metrics(run_id)
    if metrics:
        st.plotly_chart(epoch_curves_figure(metrics), key="train_live_epochs")


def results_panel(run_id: str) -> None:
    try:
        info = store.get(run_id)
    except RunError as error:
        st.warning(escape_markdown(str(error)))
        return
    st.markdown(f"#### {escape_markdown(info.name)}")
    st.badge(info.status, color=STATUS_COLORS.get(info.status, "gray"))
    accuracy = f"{info.test_accuracy:.2%}" if info.test_accuracy is not None else "-"
    loss = f"{info.test_loss:.4f}" if info.test_loss is not None else "-"
    cols = st.columns(4)
    cols[0].metric("Test accuracy", accuracy, help="Share of the 10,000 test images right")
    cols[1].metric("Test loss", loss)
    cols[2].metric("Epochs", f"{info.epochs_done} of {info.epochs_planned}")
    cols[3].metric("Training time", format_duration(info.duration_s))
    if info.error and info.status != "completed":
        st.warning(escape_markdown(info.error))
    metrics = store.read_metrics(run_id)
    if metrics:
        st.plotly_chart(epoch_curves_figure(metrics), key="train_result_epochs")
        st.caption(
            "If training accuracy keeps rising while validation accuracy stalls, the model is "
            "memorising the training images (overfitting): more epochs will not help."
        )
        with st.expander("Per-batch curves and the epoch table"):
            st.plotly_chart(
                batch_curves_figure(store.read_batches(run_id)), key="train_result_batches"
            )
            st.dataframe(metrics, hide_index=True)
    left, right = st.columns(2)
    if info.has_model:
        left.download_button(
            "Download model (.keras)",
            store.model_path(run_id).read_bytes(),
            file_name=f"{run_id}.keras",
            key="train_download_model",
        )
    if metrics:
        right.download_button(
            "Download metrics (CSV)",
            store.metrics_csv(run_id),
            file_name=f"{run_id}-metrics.csv",
            mime="text/csv",
            key="train_download_metrics",
        )


def runs_section(runs) -> None:
    st.subheader("Runs")
    if not runs:
        st.info("No runs yet. Choose settings above and press Train.")
        return
    st.dataframe(
        run_table(runs),
        hide_index=True,
        column_config={"test accuracy": st.column_config.NumberColumn(format="percent")},
    )
    labels = {run.run_id: run.label for run in runs}
    compare = st.multiselect(
        "Compare runs", list(labels), format_func=labels.get, key="train_compare"
    )
    if compare:
        metric = st.segmented_control(
            "Curve",
            ["val_accuracy", "accuracy", "val_loss", "loss"],
            default="accuracy",
            key="train_compare_metric",
        )
        curves = {labels[run_id]: store.read_metrics(run_id) for run_id in compare}
        st.plotly_chart(compare_runs_figure(curves, metric or "accuracy"), key="train_compare_fig")
    with st.expander("Delete a run"):
        doomed = st.selectbox(
            "Run to delete", list(labels), format_func=labels.get, key="train_delete_run"
        )
        confirm = st.checkbox(
            "Yes, delete this run and its model for good", key="train_delete_confirm"
        )
        if st.button("Delete", key="train_delete", disabled=not confirm, type="primary"):
            try:
                store.delete(doomed)
                st.session_state.pop("train_delete_confirm", None)
                st.rerun()
            except RunError as error:
                st.error(escape_markdown(str(error)))


st.title("Train a model")
with st.expander("What is training? (plain-language explanation)"):
    st.markdown(
        "The model starts with random guesses. It looks at a **batch** of pictures, "
        "compares its guesses with the right answers (the **loss**: lower is better), and "
        "nudges its numbers to do a bit better. One pass over all training pictures is an "
        "**epoch**. A slice of the training pictures can be held back for **validation**: "
        "the model never learns from them, so they show how well it does on new pictures."
    )

active = store.active_runs()
runs = store.list_runs()
settings, main = st.columns([1, 2], gap="large")
with settings:
    config, name = settings_ui()
    if st.button(
        "Train",
        key="train_start",
        type="primary",
        disabled=bool(active),
        icon=":material/play_arrow:",
    ):
        try:
            st.session_state[SHOWN_RUN] = manager.start(config.validate(), name)
            st.rerun()
        except (JobBusyError, ValueError) as error:
            st.error(escape_markdown(str(error)))
    if active:
        st.caption("One model trains at a time on this machine.")
with main:
    if active:
        live_panel(active[0].run_id)
    elif runs:
        # A finished job, or a link with ?run=..., chooses the run shown; the URL follows.
        labels = {run.run_id: run.label for run in runs}
        wanted = st.session_state.pop(SHOWN_RUN, None)
        if wanted is None and "train_view_run" not in st.session_state:
            wanted = st.query_params.get("run")  # a link, on its first run only
        if wanted in labels:
            st.session_state.train_view_run = wanted
        shown = st.selectbox("Show run", list(labels), format_func=labels.get, key="train_view_run")
        st.query_params["run"] = shown
        results_panel(shown)
    else:
        st.info("Pick a model and press **Train**. The curves appear here as it learns.")

st.divider()
runs_section(runs)
