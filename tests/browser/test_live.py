"""The Train page in Chromium while a real model learns: the tutorial's grid of test pictures
changes with the live sample, the right-count appears after each epoch, the set of pictures
can be switched. The test leaves the session's run store as it found it."""

import re

import numpy as np

from classifier.store.history import HISTORY_FILE, append_epoch
from classifier.store.runs import COMPLETED, METRICS_FILE, RUNNING, RunStore
from tests.support import wait_until
from tests.support.browser import (
    assert_no_exception,
    open_page,
    save_screenshot,
    set_slider,
    status_badge,
)

# The captions of the live grid, one line each, read from plotly's own data: the traces
# "captions right" (blue) and "captions wrong" (red) of the chart that has them.
LIVE_CAPTIONS = """() => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    const grid = plots.find(p => p.data && p.data.some(t => t.name === 'captions right'));
    if (!grid) return [];
    return grid.data.filter(t => (t.name || '').startsWith('captions'))
        .flatMap(t => [...t.text].map(text => text.replace(/<br>/g, ' '))).sort();
}"""
RIGHT_COUNT = re.compile(r"Right on ([\d,]+) of 10,000 test pictures")
EPOCHS = 6  # of the Tutorial MLP, a few seconds each


def live_captions(page) -> list[str]:
    return page.evaluate(LIVE_CAPTIONS)


def right_count(page) -> int | None:
    match = RIGHT_COUNT.search(page.inner_text("body"))
    return int(match.group(1).replace(",", "")) if match else None


def earlier_run(store: RunStore, labels: np.ndarray) -> str:
    """A finished run (no model) whose recorded last epoch found shirts hardest: the new
    run's live sample takes its 15 hardest pictures (shirts after the first 15 pictures, which
    hold the first shirt of all, the one of each class)."""
    shirts = np.flatnonzero(labels == 6)
    shirts = shirts[shirts >= 15][:15]
    probabilities = np.full((len(labels), 10), 0.01)
    probabilities[np.arange(len(labels)), labels] = 0.91
    probabilities[shirts] = 0.01
    probabilities[shirts, 0] = 0.91  # taken for T-shirts
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, "earlier")
    append_epoch(writer.path / HISTORY_FILE, probabilities)
    # Its one epoch is in its metrics: a history is read no further than the epochs a run
    # finished, and the metrics log is what says how many it finished.
    (writer.path / METRICS_FILE).write_text('{"epoch": 1, "loss": 0.4, "accuracy": 0.9}\n')
    writer.write_status(status=COMPLETED)
    writer.release()
    return writer.run_id


def test_the_live_grid_and_the_right_count_follow_the_training(app_server, page, dataset):
    store = RunStore(app_server.runs_dir)
    earlier = earlier_run(store, dataset.test.labels)
    try:
        home = page.get_by_test_id("stSidebarNav").get_by_text("Home", exact=True)
        open_page(page, f"{app_server.url}/train", ready=home)
        # Six epochs on all 60,000 pictures: several live samples per epoch, and time to look.
        # (With three, a loaded machine once finished the run while the test still clicked
        # through the picture sets: the live grid was gone before "the hardest" showed.)
        set_slider(page, "Epochs (passes over all training images)", EPOCHS - 1, EPOCHS)
        page.get_by_label("Run name (optional)").fill("browser live grid")
        page.keyboard.press("Enter")
        page.get_by_text(f"for {EPOCHS} epochs on all 60,000 training images").wait_for(
            timeout=10_000
        )
        page.get_by_role("button", name="Train", exact=True).click()

        # The first live sample: the tutorial's first 15 pictures, captioned.
        first = wait_until(lambda: live_captions(page), 90, "the first live sample", 0.3)
        assert len(first) == 15 and all(re.search(r"\d+% \(", text) for text in first), first

        # After the first epoch: how many test pictures are right, and the captions have moved.
        count = wait_until(lambda: right_count(page), 90, "the right-count after epoch 1", 0.3)
        assert 5000 < count <= 10_000
        wait_until(lambda: live_captions(page) != first, 30, "the captions to change", 0.3)
        assert_no_exception(page)

        # Another set of pictures: one of each class.
        page.get_by_text("One of each class", exact=True).click()
        wait_until(lambda: len(live_captions(page)) == 10, 15, "ten pictures, one per class", 0.3)
        shown_classes = {text.rsplit("(", 1)[1].rstrip(")") for text in live_captions(page)}
        assert len(shown_classes) == 10
        # The hardest of the earlier run: shirts, which this model gets right or wrong.
        page.get_by_text("The hardest of the last run", exact=True).click()
        wait_until(lambda: len(live_captions(page)) == 15, 15, "the earlier run's hardest", 0.3)
        assert all(text.endswith("(Shirt)") for text in live_captions(page))

        # After the second epoch the count says how it changed; keep a picture for the README.
        page.get_by_text(re.compile(r"After epoch 2: .* since epoch 1")).wait_for(timeout=90_000)
        # Epoch 3 under way: its live samples are what the picture shows.
        page.get_by_text(re.compile(rf"Epoch 3 of {EPOCHS}, batch")).first.wait_for(timeout=90_000)
        page.get_by_text(RIGHT_COUNT).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        save_screenshot(page, "train-live-grid.png")

        status_badge(page, "completed").wait_for(timeout=120_000)
        assert_no_exception(page)
        (run,) = [run for run in store.list_runs() if run.name == "browser live grid"]
        assert run.status == COMPLETED and run.epochs_done == EPOCHS
    finally:
        # The other browser tests expect the store as it was: a finished run there would
        # show its "completed" badge before their own run ends.
        for run in store.list_runs():
            if run.run_id == earlier or (run.name == "browser live grid" and run.status != RUNNING):
                store.delete(run.run_id)
