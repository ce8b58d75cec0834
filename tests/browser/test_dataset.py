"""The Dataset page in Chromium: clicking a tile of the plotly grid, and opening a shared link."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from classifier.data import CLASS_NAMES
from tests.support.browser import (
    assert_no_exception,
    chart,
    open_page,
    save_screenshot,
    wait_for_app,
    wait_for_layout,
)
from tests.support.presenter import assert_on_first_screen

GRID_POINTS = "[class*='st-key-dataset_grid_'] .scatterlayer .point"


def open_dataset_page(page, url: str) -> None:
    open_page(page, url, ready=page.locator(GRID_POINTS).first)


def click_tile(page, position: int) -> None:
    """Click the middle of a tile. The marker paths sit under plotly's drag layer, so a real
    mouse click at their position is what plotly turns into a selection. Scroll the tile to
    the middle first: scrolled to the top edge it would sit under Streamlit's header."""
    point = page.locator(GRID_POINTS).nth(position)
    point.evaluate("element => element.scrollIntoView({block: 'center'})")
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def inspector_text(index: int, split: str, label: str) -> str:
    return f"Image {index:,} of the {split} split: {label}"


def test_click_a_tile_to_inspect_it(app_server, page, dataset):
    page.set_viewport_size({"width": 1280, "height": 720})  # a projector: the inspector is below
    open_dataset_page(page, f"{app_server.url}/dataset")
    assert page.locator(GRID_POINTS).count() == 25
    page.get_by_text("Click a picture in the grid").wait_for()

    click_tile(page, 7)
    label = CLASS_NAMES[dataset.train.labels[7]]
    inspected = page.get_by_text(inspector_text(7, "train", label))
    inspected.wait_for(timeout=30_000)
    page.wait_for_url(re.compile(r"[?&]image=7(&|$)"), timeout=10_000)
    assert "split=train" in page.url
    # The page went to the picture clicked: it is on the screen, large.
    wait_for_app(page)
    expect(inspected).to_be_in_viewport()  # wait for the scroll
    wait_for_layout(page)
    assert_on_first_screen(page, inspected, "the inspected picture's line")
    expect(chart(page, "dataset_inspector")).to_be_in_viewport()  # the picture up close

    # Move away with the button, then click the same tile again: it must still respond.
    page.get_by_role("button", name="Next image").click()
    page.get_by_text(inspector_text(8, "train", CLASS_NAMES[dataset.train.labels[8]])).wait_for()
    wait_for_app(page)
    click_tile(page, 7)
    page.get_by_text(inspector_text(7, "train", label)).wait_for(timeout=30_000)
    page.wait_for_url(re.compile(r"[?&]image=7(&|$)"), timeout=10_000)
    assert_no_exception(page)
    save_screenshot(page, "dataset.png")


def test_a_link_opens_the_same_view(app_server, page, dataset):
    bags = [i for i, label in enumerate(dataset.test.labels) if CLASS_NAMES[label] == "Bag"]
    image = bags[30]  # on the second page of bags
    open_dataset_page(page, f"{app_server.url}/dataset?split=test&cls=Bag&image={image}")
    page.get_by_text(inspector_text(image, "test", "Bag")).wait_for(timeout=30_000)
    page.get_by_text("images of class Bag 26-50 of 1,000 in the test split").wait_for()
    captions = page.locator("[class*='st-key-dataset_grid_'] .textpoint text").all_text_contents()
    assert captions == ["Bag"] * 25
    # The URL keeps the view, so the link can be shared again.
    assert f"image={image}" in page.url and "cls=Bag" in page.url and "split=test" in page.url
    assert_no_exception(page)


def test_invalid_link_falls_back_to_defaults(app_server, page):
    open_dataset_page(page, f"{app_server.url}/dataset?split=nope&cls=Hat&image=-5")
    page.get_by_text("Showing images 1-25 of 60,000 in the train split").wait_for()
    page.get_by_text("Click a picture in the grid").wait_for()
    assert_no_exception(page)
