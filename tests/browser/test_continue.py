"""Issue 13 in Chromium: a "train again" link opens the Train page with a run's settings;
a finished run is continued from the Train page and its curves join its parent's."""

from __future__ import annotations

import shutil
from dataclasses import replace
from urllib.parse import urlencode

import pytest

from classifier.ml.models import preset_config
from classifier.store.runs import RunStore
from classifier.views.train import settings_params
from tests.support.browser import assert_no_exception, open_page, wait_for_app
from tests.support.server import AppServer


@pytest.fixture(scope="module")
def continue_server(tmp_path_factory, trained_run):
    """A server of its own: a store holding only the trained run, to continue."""
    runs = tmp_path_factory.mktemp("continue-runs")
    shutil.copytree(trained_run.root / trained_run.run_id, runs / trained_run.run_id)
    with AppServer(runs, tmp_path_factory.mktemp("continue-logs") / "streamlit.log") as server:
        yield server


def test_a_train_again_link_opens_the_page_with_those_settings(continue_server, page):
    config = replace(preset_config("Small CNN"), epochs=7, batch_size=64, optimizer="sgd")
    open_page(page, f"{continue_server.url}/train?{urlencode(settings_params(config))}")
    page.get_by_text("Will train the Small CNN for 7 epochs").wait_for(timeout=30_000)
    assert (
        page.get_by_role("slider", name="Epochs (passes over all training images)").input_value()
        == "7"
    )
    assert "64 images per batch" in page.inner_text("body")
    assert_no_exception(page)


def test_continuing_a_run_joins_its_curves(continue_server, page, trained_run):
    open_page(page, f"{continue_server.url}/train")
    page.get_by_role("link", name="Train again with these settings").wait_for(timeout=30_000)
    page.get_by_role("button", name="Continue training").click()
    page.get_by_text("Continues verify-test").wait_for(timeout=180_000)
    wait_for_app(page)
    runs = RunStore(continue_server.runs_dir).list_runs()
    child = next(run for run in runs if run.run_id != trained_run.run_id)
    assert child.config["parent"] == trained_run.run_id and child.status == "completed"
    epochs = page.evaluate(
        """() => Math.max(...[...document.querySelectorAll('.js-plotly-plot')]
            .flatMap(p => (p.data || []).flatMap(t => t.x || []))
            .filter(x => typeof x === 'number'))"""
    )
    assert epochs == 1 + 5  # the parent's epoch, then the five more (the box's default)
    assert_no_exception(page)
