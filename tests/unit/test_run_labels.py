"""Run labels in pickers and charts: unique, human, and plain text (issue: two runs with the
same label were one option, and "Delete" removed the other run; HTML in a run's name became
a live link in the compare chart)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

from streamlit.testing.v1 import AppTest

from classifier.figures.train import compare_runs_figure
from classifier.store.runs import COMPLETED, RunStore
from classifier.views.text import plotly_text, run_labels

APP = str(Path(__file__).resolve().parent.parent / "app.py")
LINK_NAME = '<a href="https://evil.example/p">Click <b>here</b></a>'


def run(run_id, name=None, started=1_764_463_000.0, accuracy=0.8731, status=COMPLETED):
    return SimpleNamespace(
        run_id=run_id,
        name=name or run_id,
        preset="Tutorial MLP",
        test_accuracy=accuracy,
        status=status,
        started_at=started,
    )


def test_labels_are_human_and_unique_and_older_runs_keep_theirs():
    older, newer = run("a", "Quick MLP"), run("b", "Quick MLP", started=1_764_463_010.0)
    labels = run_labels([newer, older])  # the store lists newest first
    assert labels["a"].startswith("Quick MLP · Tutorial MLP · 87.3% · ")
    assert labels["b"] == labels["a"] + " (2)"
    assert run_labels([older])["a"] == labels["a"]  # stable when a newer run appears
    unnamed = run_labels([run("20261130-003601-Small-CNN", accuracy=None, status="failed")])
    assert "20261130" not in unnamed["20261130-003601-Small-CNN"]  # an id is no name
    assert "failed" in unnamed["20261130-003601-Small-CNN"]
    # A name that already ends like a suffix still gives unique labels.
    tricky = [run("x", "m"), run("y", "m"), run("z", "m · Tutorial MLP · 87.3% · (2)")]
    assert len(set(run_labels(tricky).values())) == 3
    weird = run_labels([run("w", started=float("nan")), run("v", started=1e300)])
    assert all(isinstance(label, str) for label in weird.values())


def test_run_names_reach_plotly_as_text_not_html():
    figure = compare_runs_figure(
        {"run-a": (LINK_NAME, [{"epoch": 1, "accuracy": 0.8}])}, "accuracy"
    )
    trace = figure.data[0]
    assert "<a" not in trace.name and "<b>" not in trace.name
    assert trace.name == plotly_text(LINK_NAME)
    assert "%{fullData.name}" in trace.hovertemplate and "evil" not in trace.hovertemplate


def completed_run(store: RunStore, name: str) -> str:
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, name)
    writer.write_status(status=COMPLETED, test_accuracy=0.85, epochs_done=1)
    writer.release()
    return writer.run_id


def test_deleting_the_first_of_two_runs_with_the_same_name_deletes_that_run(runs_root):
    store = RunStore(runs_root)
    first = completed_run(store, "Quick MLP")
    time.sleep(0.01)
    second = completed_run(store, "Quick MLP")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/train.py").run()
    picker = app.selectbox(key="train_delete_run")
    assert len(set(picker.options)) == 2  # two options, not one
    picker.set_value(first).run()
    app.checkbox(key="train_delete_confirm").check().run()
    app.button(key="train_delete").click().run()
    assert not app.exception
    assert {info.run_id for info in store.list_runs()} == {second}
