"""Browser fixtures: a live app (`streamlit run app.py`, tests.support.server.AppServer) and
Debian's Chromium through Playwright. Session fixtures are made once per pytest process: with
`pytest -n 2` each worker has its own server on its own free port, and its own run store."""

from __future__ import annotations

import shutil

import pytest

from tests.support.browser import launch_options, new_context
from tests.support.server import AppServer


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The live app with an empty run store of its own; tests may add runs to it (and
    remove those that other tests would trip over)."""
    runs_dir = tmp_path_factory.mktemp("browser-runs")
    with AppServer(runs_dir, tmp_path_factory.mktemp("logs") / "streamlit.log") as server:
        yield server


@pytest.fixture(scope="session")
def verify_server(app_server, trained_run):
    """The live app with the trained run in its store (copied: the same files training
    would write there, without training a second time)."""
    target = app_server.runs_dir / trained_run.run_id
    if not target.exists():
        shutil.copytree(trained_run.root / trained_run.run_id, target)
    return app_server


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options())
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page (its own context: no cookies or session shared with other tests) that
    tracks the app's script runs, so tests.support.browser.wait_for_app knows when the app
    has answered."""
    context = new_context(browser)
    page = context.new_page()
    yield page
    context.close()
