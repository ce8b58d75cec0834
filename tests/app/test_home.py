"""Home: "Start the demo" goes to the fastest demo. AppTest with a real job (no model yet)
and with a trained run (in Chromium, trained to the end: journey a of
tests/browser/test_journeys.py)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from classifier.jobs.training_job import get_job_manager
from classifier.store.runs import RunStore
from tests.support import APP


def open_home() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.run()  # the first run reroutes through app.py once (ui.route_through_app)
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.mark.slow
def test_without_a_model_the_demo_trains_one(runs_root):
    app = open_home()
    assert "about 20 seconds" in app.caption[0].value  # measured: tests/browser/test_journeys.py
    app.button(key="home_start").click().run()
    assert not app.exception
    run_id = app.session_state["quick_training_run"]
    assert RunStore(runs_root).get(run_id).name == "Quick MLP"
    # It trains in a worker: stopped here (journey a waits for it to finish and verifies it).
    manager = get_job_manager(RunStore(runs_root))
    manager.stop(run_id)
    assert manager.wait(run_id, timeout=240) == 0


def test_with_a_model_the_demo_opens_the_present_page(trained_run, monkeypatch):
    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(trained_run.root))
    app = open_home()
    assert "Present page" in app.caption[0].value
    app.button(key="home_start").click().run()
    assert not app.exception
    assert any(expander.label == "Settings" for expander in app.expander)  # the Present page
    assert len(RunStore(trained_run.root).list_runs()) == 1  # nothing new was trained
