"""The presenter role in Chromium: with a presenter password set, a viewer sees no Train,
Stop or Delete, even while a run trains and a finished run could be deleted; after logging
in, the presenter sees all three, trains and stops."""

from __future__ import annotations

import pytest

from classifier.auth import ENV_PASSWORD_HASH, hash_password
from classifier.store.runs import RUNNING, RunStore
from tests.support import wait_until
from tests.support.browser import assert_no_exception, new_page, open_page, wait_for_app
from tests.support.runs import completed_run
from tests.support.server import AppServer

PASSWORD = "correct horse battery staple"
FINISHED = "finished before the talk"


@pytest.fixture(scope="module")
def presenter_server(tmp_path_factory):
    """A server with a presenter password, and a finished run that Delete could remove."""
    runs_dir = tmp_path_factory.mktemp("presenter-runs")
    completed_run(RunStore(runs_dir), FINISHED)
    log = tmp_path_factory.mktemp("presenter-logs") / "streamlit.log"
    with AppServer(runs_dir, log, env={ENV_PASSWORD_HASH: hash_password(PASSWORD)}) as server:
        yield server


def stop_button(page):
    """The page's Stop (not Streamlit's own, in the header while a script runs)."""
    return page.locator(".st-key-train_stop").get_by_role("button", name="Stop")


def presenter_controls(page) -> dict[str, int]:
    """How many of each presenter control the page shows."""
    return {
        "Train": page.locator(".st-key-train_start").get_by_role("button", name="Train").count(),
        "Stop": stop_button(page).count(),
        "Delete a run": page.get_by_test_id("stMain").get_by_text("Delete a run").count(),
    }


def test_a_viewer_watches_and_the_presenter_trains(presenter_server, browser):
    url = f"{presenter_server.url}/train"
    store = RunStore(presenter_server.runs_dir)
    viewer, presenter = new_page(browser), new_page(browser)
    try:
        open_page(viewer, url, ready="You are watching")
        assert presenter_controls(viewer) == {"Train": 0, "Stop": 0, "Delete a run": 0}

        open_page(presenter, url, ready="You are watching")
        presenter.get_by_label("Presenter password").fill(PASSWORD)
        presenter.get_by_role("button", name="Log in as presenter").click()
        presenter.get_by_text("You are the presenter").wait_for(timeout=30_000)
        wait_for_app(presenter)
        assert presenter_controls(presenter) == {"Train": 1, "Stop": 0, "Delete a run": 1}
        presenter.locator(".st-key-train_start").get_by_role("button", name="Train").click()
        wait_for_app(presenter)
        assert_no_exception(presenter)
        (run,) = wait_until(lambda: store.active_runs(), 30, "the presenter's run")
        assert run.preset == "Tutorial MLP" and run.status == RUNNING
        stop_button(presenter).wait_for(timeout=60_000)

        # The viewer opens the page while the run trains: the live run, and still no controls.
        open_page(viewer, url, ready=viewer.get_by_text("Training", exact=True))
        assert store.get(run.run_id).status == RUNNING
        assert presenter_controls(viewer) == {"Train": 0, "Stop": 0, "Delete a run": 0}
        assert_no_exception(viewer)

        stop_button(presenter).click()  # the presenter can
        presenter.get_by_text("Stopping after the current batch").wait_for(timeout=30_000)
    finally:
        for page in (viewer, presenter):
            page.context.close()
