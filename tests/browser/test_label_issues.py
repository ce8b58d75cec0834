"""Present's "Pictures whose label may be wrong" in Chromium: the sentence about a suspect is
drawn in the "neither right nor wrong" colour, never in red (red means the model is wrong),
with the presenter's review buttons beside it."""

from __future__ import annotations

import pytest

from classifier.figures.style import UNKNOWN_COLOR, WRONG_COLOR
from tests.support.browser import (
    assert_no_exception,
    open_page,
    pick_option,
    script_runs_ended,
    wait_for_app,
)
from tests.support.presenter import assert_on_first_screen

pytestmark = pytest.mark.browser

DOUBT = "The label may be wrong."
# The computed colour of each element that holds the sentence's text itself.
SENTENCE_COLOURS = """(words) => {
    const header = [...document.querySelectorAll('h2')].find(h => h.innerText.includes(words));
    const holders = [header, ...header.querySelectorAll('*')].filter(element =>
        [...element.childNodes].some(n => n.nodeType === 3 && n.textContent.includes(words)));
    return holders.map(element => getComputedStyle(element).color);
}"""


def rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def is_reddish(css: str) -> bool:
    red, green, blue = (int(part) for part in css[css.index("(") + 1 : -1].split(",")[:3])
    return red > 150 and green < 110 and blue < 110


def test_a_suspect_in_present_is_not_red(verify_server, page):
    page.set_viewport_size({"width": 1280, "height": 720})
    open_page(page, f"{verify_server.url}/present", ready="The model says")
    page.get_by_text("Settings").click()
    pick_option(page, "Pictures", "Pictures whose label may be wrong")
    page.get_by_text(DOUBT).first.wait_for(timeout=60_000)
    wait_for_app(page)
    colours = page.evaluate(SENTENCE_COLOURS, DOUBT)
    assert colours and all(colour == rgb(UNKNOWN_COLOR) for colour in colours), colours
    assert not any(is_reddish(colour) for colour in colours)
    assert is_reddish(rgb(WRONG_COLOR))  # the check itself tells red apart
    assert page.get_by_text("The label says").first.is_visible()
    # The verdict on the projector's first screen (the settings closed), under the sentence.
    page.get_by_text("Settings").click()
    wait_for_app(page)
    for name in ("The label is right", "The label is wrong:"):
        assert_on_first_screen(page, page.get_by_role("button", name=name), name)
    assert_no_exception(page)


def test_the_suspects_download_from_explore_as_csv_without_a_rerun(verify_server, page):
    """Made on the click (not on every rerun of the page), and the click reruns nothing."""
    page.set_viewport_size({"width": 1280, "height": 900})
    open_page(page, f"{verify_server.url}/explore?part=suspects", ready="cleanlab estimates")
    button = page.get_by_role("button", name="Download the suspects (CSV)")
    button.wait_for(timeout=60_000)
    wait_for_app(page)
    runs = script_runs_ended(page)
    with page.expect_download(timeout=60_000) as download:
        button.click()
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert lines[0] == "rank,split,picture,given_label,suggested_label,score"
    assert lines[1].startswith("1,test,") and len(lines) > 2
    wait_for_app(page)  # idle again: a rerun the click started has ended by now
    assert script_runs_ended(page) == runs, "the download click reran the page"
    assert_no_exception(page)
