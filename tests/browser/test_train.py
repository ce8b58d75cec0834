"""The Train page in Chromium: a real job, live charts, page switches, a second tab, Stop."""

import re
import shutil
import time

import pytest
from conftest import (
    assert_no_exception,
    choose,
    save_screenshot,
    set_slider,
    status_badge,
    wait_for_app,
)

from classifier.ml.models import PRESETS
from classifier.store.runs import RunStore

SMALL_CNN_EPOCHS = PRESETS["Small CNN"].defaults.epochs

pytestmark = pytest.mark.browser


def open_page(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    # The sidebar lists our pages once app.py's st.navigation has run.
    page.get_by_test_id("stSidebarNav").get_by_text("Home", exact=True).wait_for()


def batch_points(page) -> int:
    """How many points the live per-batch loss curve has (read from plotly's own data)."""
    return page.evaluate(
        """() => {
            const plots = [...document.querySelectorAll('.js-plotly-plot')];
            const live = plots.find(p => p.layout && p.layout.annotations &&
                p.layout.annotations.some(a => a.text === 'Loss per batch'));
            return live ? live.data[0].x.length : 0;
        }"""
    )


def test_one_epoch_run_on_a_slice_shows_its_results(app_server, page):
    open_page(page, f"{app_server.url}/train")
    set_slider(page, "Epochs (passes over all training images)", 0, 1)
    page.get_by_text("More settings").click()
    set_slider(page, "Training images (0 = all 60,000)", 5, 5000)
    page.get_by_label("Run name (optional)").fill("browser one epoch")
    page.keyboard.press("Enter")
    # The server's view of the settings, before pressing Train.
    page.get_by_text("for 1 epoch on 5,000 training images").wait_for(timeout=10_000)
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_app(page)
    run = RunStore(app_server.runs_dir).list_runs()[0]
    assert (run.config["epochs"], run.config["train_limit"]) == (1, 5000)

    # Its own results (the store may hold other finished runs, shown before it started).
    page.locator("h4", has_text="browser one epoch").wait_for(timeout=90_000)
    status_badge(page, "completed").wait_for(timeout=30_000)
    wait_for_app(page)
    body = page.inner_text("body")
    accuracy = re.search(r"Test accuracy\s*(\d+\.\d+)%", body)
    assert accuracy and float(accuracy.group(1)) > 50, body[:1500]
    assert_no_exception(page)
    save_screenshot(page, "train-results.png", show=page.locator("h4"))

    # The downloads are produced on click: the metrics CSV, then a real .keras archive.
    with page.expect_download() as download:
        page.get_by_role("button", name="Metrics (CSV)").click()
    csv_lines = open(download.value.path()).read().splitlines()
    assert csv_lines[0].startswith("epoch,loss,accuracy") and len(csv_lines) == 2
    page.wait_for_timeout(500)  # the click reruns the page: let that run start and end
    wait_for_app(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Model (.keras)").click()
    assert open(download.value.path(), "rb").read(2) == b"PK"  # a .keras file is a zip

    # Deleted meanwhile (another tab, the command line): the click says so, it did nothing.
    page.wait_for_timeout(500)
    wait_for_app(page)
    shutil.rmtree(RunStore(app_server.runs_dir).run_dir(run.run_id))
    page.get_by_role("button", name="Metrics (CSV)").click()
    page.get_by_text("This run was deleted meanwhile").wait_for(timeout=15_000)


def test_live_job_survives_page_switches_and_stops_from_a_second_tab(app_server, page):
    open_page(page, f"{app_server.url}/train")
    choose(page, "Model", "Small CNN")
    page.get_by_role("button", name="Train", exact=True).click()

    # Live charts gain points while it trains.
    page.get_by_text("Loss per batch").first.wait_for(timeout=60_000)
    first = batch_points(page)
    page.wait_for_timeout(2500)
    assert batch_points(page) > first > 0
    save_screenshot(page, "train-live.png")

    # Away to the Dataset page and back: the job goes on and the page finds it again.
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Dataset").click()
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Train").click()
    page.get_by_text(re.compile(rf"Epoch \d+ of {SMALL_CNN_EPOCHS}")).wait_for(timeout=30_000)
    assert_no_exception(page)

    # A second tab sees the same job and stops it.
    second = page.context.new_page()
    open_page(second, f"{app_server.url}/train")
    second.get_by_text(re.compile(rf"Epoch \d+ of {SMALL_CNN_EPOCHS}")).wait_for(timeout=30_000)
    second.get_by_role("button", name="Stop").click()
    status_badge(second, "stopped").wait_for(timeout=60_000)
    # The first tab's polling notices too.
    status_badge(page, "stopped").wait_for(timeout=30_000)
    assert_no_exception(page)
    assert_no_exception(second)

    stopped = [run for run in RunStore(app_server.runs_dir).list_runs() if run.status == "stopped"]
    assert stopped and stopped[0].has_model and stopped[0].preset == "Small CNN"
    deadline = time.monotonic() + 5
    while RunStore(app_server.runs_dir).active_runs() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not RunStore(app_server.runs_dir).active_runs()
