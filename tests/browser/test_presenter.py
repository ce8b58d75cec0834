"""The presenter role in Chromium: with a presenter password set, a viewer sees no Train,
Stop or Delete; after logging in, the presenter trains."""

from __future__ import annotations

import pytest
from conftest import AppServer, assert_no_exception, wait_for_app

from classifier.auth import ENV_PASSWORD_HASH, hash_password
from classifier.store.runs import RunStore

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def presenter_server(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("presenter-runs")
    log = tmp_path_factory.mktemp("presenter-logs") / "streamlit.log"
    with AppServer(runs_dir, log, env={ENV_PASSWORD_HASH: hash_password(PASSWORD)}) as server:
        yield server


def test_a_viewer_watches_and_the_presenter_trains(presenter_server, page):
    page.goto(f"{presenter_server.url}/train")
    page.get_by_text("You are watching").wait_for(timeout=30_000)
    wait_for_app(page)
    for name in ("Train", "Stop", "Delete"):
        assert page.get_by_role("button", name=name, exact=True).count() == 0, name
    assert page.get_by_text("Delete a run").count() == 0

    page.get_by_label("Presenter password").fill(PASSWORD)
    page.get_by_role("button", name="Log in as presenter").click()
    page.get_by_text("You are the presenter").wait_for(timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_app(page)
    assert_no_exception(page)
    runs = RunStore(presenter_server.runs_dir).list_runs()
    assert len(runs) == 1 and runs[0].preset == "Tutorial MLP"
    page.get_by_role("button", name="Stop").wait_for(timeout=60_000)
    page.get_by_role("button", name="Stop").click()  # the presenter can stop it too
    page.get_by_text("Stopping after the current batch").wait_for(timeout=30_000)
