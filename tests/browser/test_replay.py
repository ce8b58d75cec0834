"""Replay on the Verify page in a real browser: the epoch slider, Play, a picture's history.

The session's replay run (tests/conftest.py: a Tutorial MLP trained for 3 epochs on 3,000
images), served by its own `streamlit run` (tests.support.server.AppServer) in Debian's
Chromium.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from playwright.sync_api import expect

from classifier.store.history import HISTORY_FILE, correct_by_epoch, learned_epoch, read_history
from classifier.views.verify import EPOCH_LABEL
from tests.support.browser import (
    assert_no_exception,
    chart,
    open_page,
    save_screenshot,
    set_slider,
    wait_for_app,
)
from tests.support.server import AppServer

TIMEOUT_MS = 60_000
EPOCHS = 3
# Scroll an element to the top of Streamlit's scrolling container, below its header.
SCROLL_BELOW_HEADER = """element => {
    element.scrollIntoView({block: 'start'});
    let box = element.parentElement;
    while (box && box.scrollHeight <= box.clientHeight) box = box.parentElement;
    if (box) box.scrollTop -= 70;
}"""


@pytest.fixture(scope="module")
def replay_server(replay_run, tmp_path_factory):
    """A server of its own, with a copy of the replay run alone in its store."""
    root = tmp_path_factory.mktemp("replay-browser-runs")
    shutil.copytree(replay_run.root / replay_run.run_id, root / replay_run.run_id)
    with AppServer(root, tmp_path_factory.mktemp("replay-logs") / "streamlit.log") as server:
        server.history = read_history(root / replay_run.run_id / HISTORY_FILE)
        assert len(server.history) == EPOCHS
        yield server


@pytest.fixture(scope="module")
def correct(replay_server, dataset):
    return correct_by_epoch(replay_server.history, dataset.test.labels)


def open_verify(page, server, query: str = "") -> None:
    open_page(page, f"{server.url}/verify{query}", ready="Test accuracy")
    assert_no_exception(page)


def accuracy_caption(page, epoch: int, correct: np.ndarray):
    text = f"Test accuracy {correct[epoch - 1].mean():.1%} after epoch {epoch} of {EPOCHS}."
    return page.locator("[data-testid='stMarkdownContainer']", has_text=text)


def test_moving_the_epoch_slider_changes_the_accuracy(page, replay_server, correct):
    open_verify(page, replay_server)
    expect(accuracy_caption(page, EPOCHS, correct)).to_be_visible()
    set_slider(page, EPOCH_LABEL, 0, 1)
    expect(accuracy_caption(page, 1, correct)).to_be_visible(timeout=TIMEOUT_MS)
    assert "epoch=1" in page.url
    set_slider(page, EPOCH_LABEL, 1, 2)
    expect(accuracy_caption(page, 2, correct)).to_be_visible(timeout=TIMEOUT_MS)
    assert_no_exception(page)


def test_play_steps_through_the_epochs_and_stops_at_the_last(page, replay_server, correct):
    open_verify(page, replay_server)
    page.get_by_role("button", name="Play").click()
    expect(accuracy_caption(page, 1, correct)).to_be_visible(timeout=TIMEOUT_MS)
    player = page.locator(".st-key-verify_epoch_button")  # not the header's own Stop
    expect(player.get_by_role("button", name="Stop")).to_be_visible()
    expect(accuracy_caption(page, 2, correct)).to_be_visible(timeout=TIMEOUT_MS)
    expect(accuracy_caption(page, 3, correct)).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=TIMEOUT_MS)
    assert_no_exception(page)


def test_a_picture_shows_its_history(page, replay_server, correct, dataset):
    """The README's screenshot: the pictures learned in epoch 2, one of them with its path."""
    learned_in_2 = np.flatnonzero(learned_epoch(correct) == 2)
    assert len(learned_in_2), "the model learned nothing in epoch 2"
    open_verify(page, replay_server, "?filter=learned_in&epoch=2")
    count = f"(learned in epoch 2) leaves {len(learned_in_2):,} of 10,000 images"
    expect(page.get_by_text(count)).to_be_visible()
    # Click the second picture of the grid: its history opens beside it.
    grid = chart(page, "verify_grid_")
    point = grid.locator(".scatterlayer .trace").first.locator("path.point").nth(1)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    picture = int(learned_in_2[1])
    expect(page.get_by_role("heading", name=f"Image {picture:,}:")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    wait_for_app(page)
    sentence = page.get_by_text(f"First right in epoch {np.argmax(correct[:, picture]) + 1}")
    expect(sentence).to_be_visible()
    history = chart(page, "verify_history_chart")
    expect(history.locator(".scatterlayer .trace")).to_have_count(2)  # true class, wrong class
    expect(history.locator(".xtitle")).to_have_text("epoch")
    assert_no_exception(page)
    # Tall enough for the slider, the grid and the history chart at once.
    page.set_viewport_size({"width": 1400, "height": 1300})
    picker = page.locator("[class*='st-key-verify_run']").first
    picker.evaluate(SCROLL_BELOW_HEADER)
    save_screenshot(page, "verify-replay.png")  # once the charts have laid out again
