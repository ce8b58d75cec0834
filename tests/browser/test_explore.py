"""The Explore page in a real browser: draw a box on the map, review a suspect, compare two
models. Its own `streamlit run app.py` with two small trained runs, in Debian's Chromium."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from classifier.store import reviews as label_reviews
from classifier.store.runs import RunStore
from classifier.views.text import run_labels
from tests.support.browser import (
    assert_no_exception,
    chart,
    choose,
    click_marker,
    open_page,
    save_screenshot,
    wait_for_app,
    wait_for_layout,
)
from tests.support.layout import CHART_PROBLEMS, CUT_LABELS
from tests.support.server import AppServer

TIMEOUT_MS = 90_000  # the first visit loads TensorFlow and reads 60,000 training pictures
# No chart text overlaps or is cut off, and no widget label is cut (tests.support.layout).
LAID_OUT = f"() => ({CHART_PROBLEMS})().length + ({CUT_LABELS})().length === 0"


@pytest.fixture(scope="module")
def explore_server(two_runs, tmp_path_factory):
    """The app with the session's two runs (tests/conftest.py: a quick one and a better
    one), copied into a store of its own: the reviews made here stay here."""
    source, *run_ids = two_runs
    root = tmp_path_factory.mktemp("explore-browser-runs")
    for run_id in run_ids:
        shutil.copytree(source / run_id, root / run_id)
    with AppServer(root, tmp_path_factory.mktemp("explore-logs") / "streamlit.log") as server:
        yield server


def open_explore(page, server, part: str | None = None) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    url = f"{server.url}/explore" + (f"?part={part}" if part else "")
    open_page(page, url, ready="Explore the model", timeout_ms=TIMEOUT_MS)
    assert_no_exception(page)


def test_a_box_drawn_on_the_map_fills_the_grid(page, explore_server):
    open_explore(page, explore_server)
    expect(page.get_by_text("Draw a box or a lasso on the map")).to_be_visible()
    area = chart(page, "explore_map").locator(".nsewdrag").first
    expect(area).to_be_visible(timeout=TIMEOUT_MS)
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    page.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.25 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.75 * box["height"], steps=12)
    page.mouse.up()
    caption = page.get_by_text("test pictures are in the region you drew")
    expect(caption).to_be_visible(timeout=TIMEOUT_MS)
    wait_for_app(page)
    tiles = chart(page, "explore_region_grid").locator(".scatterlayer .trace").first
    expect(tiles.locator("path.point").first).to_be_attached()
    assert tiles.locator("path.point").count() == 12  # a full first page
    assert_no_exception(page)
    page.set_viewport_size({"width": 1440, "height": 1400})  # the map and the grid beside
    save_screenshot(page, "explore-map.png", show=chart(page, "explore_map"))


def test_a_suspect_is_opened_and_marked(page, explore_server):
    open_explore(page, explore_server, "suspects")
    expect(page.get_by_text("cleanlab estimates that about")).to_be_visible(timeout=TIMEOUT_MS)
    first = page.get_by_role("heading", name="Test picture").first.inner_text()
    click_marker(page, "explore_suspects_grid", 1)  # the second most suspicious
    expect(page.get_by_role("heading", name="Test picture").first).not_to_have_text(
        first, timeout=TIMEOUT_MS
    )
    wait_for_app(page)
    heading = page.get_by_role("heading", name="Test picture").first.inner_text()
    picture = int(heading.split()[-1].replace(",", ""))
    wrong = page.get_by_role("button", name="The label is wrong")
    wrong.click()
    wait_for_app(page)
    expect(page.get_by_text("You have reviewed 1")).to_be_visible()  # the click's rerun ended
    reviews = label_reviews.read_reviews(explore_server.runs_dir)
    assert reviews[f"test:{picture}"]["decision"] == "wrong"
    assert_no_exception(page)
    page.set_viewport_size({"width": 1440, "height": 1000})  # the grid and the review beside
    save_screenshot(page, "explore-suspects.png", show=page.get_by_text("cleanlab estimates"))


def test_two_runs_are_compared_and_only_b_right_fills_the_grid(page, explore_server):
    open_explore(page, explore_server, "compare")
    runs = RunStore(explore_server.runs_dir).usable_runs()  # the better one first
    labels = run_labels(runs)
    choose(page, "Model A", labels[runs[1].run_id])
    choose(page, "Model B", labels[runs[0].run_id])
    expect(page.get_by_text("B is better than A on these 10,000 pictures")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.get_by_text("Both wrong:")).to_be_visible()  # the table's first choice
    click_marker(page, "explore_table_", 2)  # the cells: both, only A, only B, neither
    caption = page.locator("[data-testid='stMarkdownContainer']", has_text="Only B right:")
    expect(caption).to_be_visible(timeout=TIMEOUT_MS)
    wait_for_app(page)
    tiles = chart(page, "explore_cell_grid").locator(".scatterlayer .trace").first
    assert tiles.locator("path.point").count() == 12
    assert_no_exception(page)
    save_screenshot(page, "explore-compare.png", show=chart(page, "explore_table_"))


@pytest.mark.parametrize("width,height", [(1024, 768), (1280, 720), (1920, 1080)])
@pytest.mark.parametrize("part", ["map", "suspects", "compare"])
def test_no_label_overlaps_or_is_cut_off(page, explore_server, part, width, height):
    """The checks of tests/browser/test_layout.py on each part of the page, at a projector's
    sizes: the pictures and the grid stack where two columns would be too narrow."""
    page.set_viewport_size({"width": width, "height": height})
    url = f"{explore_server.url}/explore?part={part}"
    open_page(page, url, ready="Explore the model", timeout_ms=TIMEOUT_MS)
    assert_no_exception(page)
    wait_for_layout(page)  # charts lay out after the script run
    try:  # a chart still laying itself out on a busy machine: give it time to settle
        page.wait_for_function(LAID_OUT, timeout=10_000, polling=500)
    except PlaywrightTimeout:
        pass  # the assertion below lists what is wrong
    problems = page.evaluate(CHART_PROBLEMS) + page.evaluate(CUT_LABELS)
    assert problems == []
