"""Train: choose settings, start a background job, watch it live, compare and manage runs."""

from dataclasses import replace

import streamlit as st

import ui
from classifier.jobs import JobBusyError, get_job_manager
from classifier.models import OPTIMIZERS, PRESETS, SCHEDULES, TrainConfig
from classifier.reporting import (
    batch_curves_figure,
    compare_runs_figure,
    config_summary,
    epoch_curves_figure,
    escape_markdown,
    format_duration,
    run_table,
    training_progress,
)
from classifier.runs import RUNNING, STOP_FILE, RunError, RunStore, read_run_file

ui.route_through_app()

POLL_SECONDS = 1.0
SHOWN_RUN = "train_shown_run"  # session key: the run whose results are shown
URL_RUN = "train_url_run"  # session key: the ?run= value this session last wrote or followed
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
        if field != "preset":
            st.session_state[f"train_{field}"] = value


def settings_ui() -> tuple[TrainConfig, str]:
    """The settings, each widget starting at the chosen preset's value. The config is built
    from what the widgets return: that stays right even when a reconnecting browser hands
    its widget values to a fresh session."""
    preset = st.selectbox("Model", list(PRESETS), key="train_preset", on_change=apply_preset)
    defaults = PRESETS[preset].defaults
    st.caption(PRESETS[preset].summary)
    values = {
        "preset": preset,
        "epochs": st.slider(
            "Epochs (passes over all training images)", 1, 50, defaults.epochs, key="train_epochs"
        ),
        "batch_size": st.select_slider(
            "Batch size (images per update)",
            BATCH_SIZES,
            defaults.batch_size,
            key="train_batch_size",
        ),
        "learning_rate": st.select_slider(
            "Learning rate (step size)",
            LEARNING_RATES,
            defaults.learning_rate,
            key="train_learning_rate",
        ),
    }
    with st.expander("More settings"):
        values["optimizer"] = st.selectbox(
            "Optimizer", OPTIMIZERS, OPTIMIZERS.index(defaults.optimizer), key="train_optimizer"
        )
        values["schedule"] = st.selectbox(
            "Learning-rate schedule",
            SCHEDULES,
            SCHEDULES.index(defaults.schedule),
            key="train_schedule",
        )
        values["hidden_units"] = st.select_slider(
            "Hidden units", HIDDEN_UNITS, defaults.hidden_units, key="train_hidden_units"
        )
        values["dropout"] = st.slider(
            "Dropout", 0.0, 0.7, defaults.dropout, step=0.05, key="train_dropout"
        )
        values["validation_split"] = st.slider(
            "Validation split (held out to check for overfitting)",
            0.0,
            0.3,
            defaults.validation_split,
            step=0.05,
            key="train_validation_split",
        )
        values["train_limit"] = st.slider(
            "Training images (0 = all 60,000)",
            0,
            60_000,
            defaults.train_limit,
            step=1000,
            key="train_train_limit",
        )
        values["augment"] = st.checkbox(
            "Augment (random flips and small shifts)", defaults.augment, key="train_augment"
        )
        values["seed"] = int(
            st.number_input("Random seed", 0, 2**31 - 1, defaults.seed, key="train_seed")
        )
    name = st.text_input("Run name (optional)", key="train_name", max_chars=64)
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
            # Callables defer the read to the click: no megabytes read on every rerun.
            lambda: read_run_file(store.model_path(run_id)),
            file_name=f"{run_id}.keras",
            key="train_download_model",
        )
    if metrics:
        right.download_button(
            "Download metrics (CSV)",
            lambda: store.metrics_csv(run_id),
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
    st.caption(config_summary(config))
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
        url_run = st.query_params.get("run")
        if wanted is None and url_run != st.session_state.get(URL_RUN):
            wanted = url_run  # a link (new, or edited in the address bar) chooses the run
        if wanted in labels:
            st.session_state.train_view_run = wanted
        shown = st.selectbox("Show run", list(labels), format_func=labels.get, key="train_view_run")
        st.query_params["run"] = st.session_state[URL_RUN] = shown
        results_panel(shown)
    else:
        st.info("Pick a model and press **Train**. The curves appear here as it learns.")

st.divider()
runs_section(runs)
