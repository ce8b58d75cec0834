"""Ready for a room full of people, in Chromium: a server killed during training comes back
with the run interrupted, and the finished run intact."""

from __future__ import annotations

import os
import shutil
import signal
import time

import pytest

from classifier.store.runs import COMPLETED, INTERRUPTED, RUNNING, RunStore
from tests.support import process_gone, wait_until
from tests.support.browser import (
    assert_no_exception,
    choose,
    open_page,
    set_slider,
    status_badge,
    wait_for_app,
)
from tests.support.server import AppServer


@pytest.mark.slow
def test_a_server_killed_mid_training_comes_back_with_the_run_interrupted(cli_run, tmp_path, page):
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    shutil.copytree(cli_run[0] / cli_run[1], runs_dir / cli_run[1])
    completed_id = cli_run[1]
    store = RunStore(runs_dir)
    first = AppServer(runs_dir, tmp_path / "first.log")
    second = None
    worker_pid = None
    try:
        first.wait_healthy()
        open_page(page, f"{first.url}/train")
        choose(page, "Model", "Small CNN")
        page.get_by_text("More settings").click()
        set_slider(page, "Training images (0 = all 60,000)", 6, 6000)  # short epochs
        page.get_by_label("Run name (optional)").fill("killed with the server")
        page.keyboard.press("Enter")
        wait_for_app(page)
        page.get_by_role("button", name="Train", exact=True).click()

        def first_epoch_saved():
            live = [run for run in store.list_runs() if run.preset == "Small CNN"]
            # The worker writes epochs_done to its status after the epoch's model is saved.
            if live and live[0].status_data.get("epochs_done", 0) >= 1:
                return live[0]
            return None

        run = wait_until(first_epoch_saved, 90, "the first epoch of the job")
        assert (run.name, run.config["train_limit"]) == ("killed with the server", 6000)
        worker_pid = run.status_data["pid"]
        assert worker_pid not in (first.process.pid, os.getpid())
        assert run.status == RUNNING

        first.process.kill()  # SIGKILL: no cleanup of any kind in the server
        first.process.wait()
        killed = time.monotonic()
        wait_until(lambda: process_gone(worker_pid), 5, "the worker to exit with its server")
        # Its lock goes when its last thread does (the main thread may be a zombie first).
        wait_until(lambda: store.get(run.run_id).status == INTERRUPTED, 5, "interrupted")
        assert time.monotonic() - killed < 5
        info = store.get(run.run_id)
        assert "ended without finishing" in info.error
        assert info.epochs_done >= 1 and info.epochs_done == len(store.read_metrics(run.run_id))
        assert info.has_model and not info.usable and info.test_accuracy is None
        assert store.active_runs() == []
        assert [name for name in os.listdir(info.path) if "tmp" in name] == []

        second = AppServer(runs_dir, tmp_path / "second.log")
        second.wait_healthy()
        open_page(page, f"{second.url}/train")  # the newest run is shown: the interrupted one
        status_badge(page, "interrupted").wait_for(timeout=30_000)
        page.get_by_text("ended without finishing").first.wait_for(timeout=10_000)
        assert page.locator(".st-key-train_start button").is_enabled()  # nothing blocks a job
        assert page.locator(".st-key-train_stop").count() == 0  # no live job to stop
        assert_no_exception(page)

        open_page(page, f"{second.url}/train?run={completed_id}")
        status_badge(page, "completed").wait_for(timeout=30_000)
        page.get_by_text("Model (.keras)").wait_for(timeout=30_000)
        assert_no_exception(page)
        completed = store.get(completed_id)
        assert (completed.status, completed.epochs_done, completed.usable) == (COMPLETED, 1, True)
        assert store.load_model(completed_id).output_shape == (None, 10)
    finally:
        for server in (first, second):
            if server is not None:
                server.stop()
        if worker_pid and not process_gone(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)
