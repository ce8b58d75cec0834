"""Home: "Start the demo" goes to the fastest demo. AppTest with a real job (no model yet)
and with a trained run; and in Chromium, from an empty store to a verified prediction grid."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import AppServer, assert_no_exception, wait_for_app
from streamlit.testing.v1 import AppTest

from classifier.jobs.training_job import get_job_manager
from classifier.store.runs import RunStore

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_home() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.run()  # the first run reroutes through app.py once (ui.route_through_app)
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.mark.slow
def test_without_a_model_the_demo_trains_one(runs_root):
    app = open_home()
    assert "about a minute" in app.caption[0].value
    app.button(key="home_start").click().run()
    assert not app.exception
    run_id = app.session_state["quick_training_run"]
    assert RunStore(runs_root).get(run_id).name == "Quick MLP"
    assert get_job_manager(RunStore(runs_root)).wait(run_id, timeout=240) == 0


def test_with_a_model_the_demo_opens_the_present_page(trained_run, monkeypatch):
    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(trained_run.root))
    app = open_home()
    assert "Present page" in app.caption[0].value
    app.button(key="home_start").click().run()
    assert not app.exception
    assert any(expander.label == "Settings" for expander in app.expander)  # the Present page
    assert len(RunStore(trained_run.root).list_runs()) == 1  # nothing new was trained


@pytest.mark.browser
def test_from_an_empty_store_one_click_reaches_a_verified_grid(tmp_path, browser):
    """The first-time user's path, timed (docs/benchmarks.md records the figure)."""
    server = AppServer(tmp_path / "runs", tmp_path / "streamlit.log")
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        server.wait_healthy()
        page.goto(server.url)
        wait_for_app(page)
        started = time.monotonic()
        page.get_by_role("button", name="Start the demo").click()  # the one click
        page.get_by_text("Test accuracy").first.wait_for(timeout=240_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        seconds = time.monotonic() - started
        print(f"\nHome to a verified prediction grid: 1 click, {seconds:.1f} s")
        assert "/verify" in page.url
        assert_no_exception(page)
    finally:
        page.close()
        server.stop()
