"""The runs table, its downloads and deletion, and a run's progress bar."""

from __future__ import annotations

from functools import partial

import streamlit as st

from classifier.store.records import RunError
from classifier.store.runs import RunInfo, RunStore
from classifier.views.text import escape_markdown, run_labels
from classifier.views.train import training_progress
from ui.access import is_presenter, presenter_button
from ui.widgets import chart, run_picker


def runs_overview(store: RunStore, runs: list[RunInfo]) -> None:
    """Every run: a table, curves to compare, and (for the presenter) deleting one."""
    from classifier.figures import train as train_figures
    from classifier.views import train as train_view

    st.subheader("Runs")
    if not runs:
        st.info("No runs yet. Choose settings above and press Train.")
        return
    # Wide name and time columns: nothing a presenter reads is cut off.
    columns = {
        "name": st.column_config.TextColumn(width="medium"),
        "started": st.column_config.TextColumn(width="medium"),
    }
    st.dataframe(train_view.run_table(runs), hide_index=True, column_config=columns)
    labels = run_labels(runs)
    compare = st.multiselect(
        "Compare runs", list(labels), format_func=labels.get, key=train_view.Keys.COMPARE
    )
    if compare:
        metrics = {run: (labels[run], store.read_metrics(run)) for run in compare}
        curves = train_view.compare_curves([rows for _, rows in metrics.values()])
        if not curves:
            st.info("These runs have no finished epoch to compare yet.")
        else:
            metric = st.segmented_control(
                "Curve",
                curves,
                format_func=train_view.METRIC_NAMES.get,
                default=curves[0],
                key=train_view.Keys.COMPARE_METRIC,
            )
            if metric not in curves:  # a curve these runs did not record
                metric = curves[0]
            figure = train_figures.compare_runs_figure(metrics, metric)
            chart(figure, key="train_compare_fig")
    if is_presenter():  # viewers cannot delete
        _delete_section(store, runs)


def _delete_section(store: RunStore, runs: list[RunInfo]) -> None:
    from classifier.views import train as train_view

    with st.expander("Delete a run"):
        doomed = run_picker("Run to delete", runs, key=train_view.Keys.DELETE_RUN).run_id
        sure = "Yes, delete this run and its model for good"
        confirm = st.checkbox(sure, key=train_view.Keys.DELETE_CONFIRM)
        if presenter_button("Delete", key="train_delete", disabled=not confirm, type="primary"):
            try:
                store.delete(doomed)
                st.session_state.pop(train_view.Keys.DELETE_CONFIRM, None)
                st.rerun()
            except RunError as error:
                st.error(escape_markdown(str(error)))


def run_downloads(store: RunStore, info: RunInfo, has_metrics: bool) -> None:
    """The downloads of a finished run: its model and its epoch table."""
    from classifier.store.files import read_run_file

    run_id = info.run_id
    left, right = st.columns(2)
    if info.has_model:
        with left:
            model = partial(read_run_file, store.model_path(run_id))
            run_download("Model (.keras)", store, run_id, model, f"{run_id}.keras")
    if has_metrics:
        with right:
            csv = partial(store.metrics_csv, run_id)
            run_download("Metrics (CSV)", store, run_id, csv, f"{run_id}-metrics.csv")


def run_download(label: str, store: RunStore, run_id: str, produce, file_name: str) -> None:
    """A download of one of a run's files. `produce` runs on the click, not on every rerun
    (no megabytes read for nothing). The click does not rerun the page: a rerun replaces
    the file Streamlit is about to hand to the browser, and the download then silently does
    not start (seen under load). A run deleted meanwhile gives no file (not an empty one)."""

    def produce_if_still_there():
        if not store.run_dir(run_id).is_dir():
            raise RunError("This run was deleted meanwhile: there is nothing to download.")
        return produce()

    key = "download_" + file_name.replace(".", "_")
    mime = "text/csv" if file_name.endswith(".csv") else "application/octet-stream"
    st.download_button(
        label,
        produce_if_still_there,
        file_name=file_name,
        mime=mime,
        key=key,
        on_click="ignore",
        icon=":material/download:",  # the icon says "download": the label fits a narrow column
    )


def progress_bar(info: RunInfo, batches: list[dict]) -> None:
    """Where a live run stands (or the step after its last epoch): the same bar on every
    page that watches a run."""
    progress = training_progress(info, batches)
    st.progress(progress.fraction, text=progress.text)
