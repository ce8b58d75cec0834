"""Run labels in pickers and charts: unique, human, and plain text (issue: two runs with the
same label were one option, and "Delete" removed the other run; HTML in a run's name became
a live link in the compare chart). (Deleting on the Train page: tests/app/test_run_labels.py.)"""

from __future__ import annotations

from types import SimpleNamespace

from classifier.figures.train import compare_runs_figure
from classifier.store.runs import COMPLETED
from classifier.views.text import plotly_text, run_labels

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


def test_messages_name_a_run_by_its_name_or_its_model_never_its_id(tmp_path):
    from classifier.jobs.process import busy_reason
    from classifier.jobs.training_job import continued_name
    from classifier.store.runs import RunStore

    store = RunStore(tmp_path)
    unnamed = store.create_run({"preset": "Small CNN"}, "")
    named = store.create_run({"preset": "Small CNN"}, "My Shirts")
    unnamed_info, named_info = store.get(unnamed.run_id), store.get(named.run_id)
    assert unnamed.run_id not in busy_reason(store)  # both are "running", held by us
    assert busy_reason(store, [unnamed_info]).startswith("The Small CNN run is still training")
    assert "Run 'My Shirts'" in busy_reason(store, [named_info])  # the name as typed
    assert continued_name(unnamed_info) == "Small CNN continued"
    assert continued_name(named_info) == "My Shirts continued"
    unnamed.release()
    named.release()
