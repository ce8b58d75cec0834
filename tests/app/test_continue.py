"""Issue 13 on the Train page, in AppTest: "Continue training" makes a linked run (a real
job) and its curves join its parent's. (The continuation itself: tests/unit/test_continue.py.)"""

from __future__ import annotations

import json
import shutil

import pytest

from classifier.store.runs import RunStore
from tests.support import wait_until
from tests.support.apptest import open_app_page


@pytest.mark.slow
def test_the_train_page_continues_a_run_and_joins_the_curves(trained_run, runs_root):
    shutil.copytree(trained_run.root / trained_run.run_id, runs_root / trained_run.run_id)
    app = open_app_page("pages/train.py")
    app.number_input(key="train_more_epochs").set_value(1).run()
    app.button(key="train_continue").click().run()
    assert not app.exception, [e.value for e in app.exception]
    store = RunStore(runs_root)
    child = next(run for run in store.list_runs() if run.run_id != trained_run.run_id)
    assert child.config["parent"] == trained_run.run_id and child.name == "verify-test continued"
    wait_until(lambda: store.get(child.run_id).status != "running", 240, "the run", 0.5)
    app.session_state["train_shown_run"] = child.run_id
    app.run()
    assert any("Continues verify-test" in c.value.replace("\\", "") for c in app.caption)
    chart = next(c for c in app.get("plotly_chart") if "train_result_epochs" in c.proto.id)
    epochs = {x for trace in json.loads(chart.proto.spec)["data"] for x in trace["x"]}
    assert epochs == {1, 2}  # the parent's epoch, then the child's, joined
