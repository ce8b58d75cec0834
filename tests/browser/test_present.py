"""The Present page in Chromium: projector-sized labels at every screen size, keyboard and
clicker navigation, autoplay, and a quiz round from start to score."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import assert_no_exception, open_page, save_screenshot, wait_for_app

# The smallest font of any text in the bar chart, and the header's (the caption).
SMALLEST_CHART_FONT = """() => Math.min(...[...document.querySelectorAll('.js-plotly-plot text')]
    .filter(t => t.textContent.trim()).map(t => parseFloat(getComputedStyle(t).fontSize)))"""
PICTURE_LOADED = """() => [...document.querySelectorAll('[data-testid="stImage"] img')]
    .some(img => img.complete && img.naturalWidth > 0)"""
CAPTION_FONT = """() => parseFloat(getComputedStyle(document.querySelector('h2')).fontSize)"""


def open_present(page, server, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    open_page(page, f"{server.url}/present", ready="The model says")
    page.locator(".js-plotly-plot text").first.wait_for(timeout=30_000)
    wait_for_app(page)
    page.wait_for_function(PICTURE_LOADED)


def shown_picture(page) -> int:
    text = page.get_by_text(re.compile(r"test picture [\d,]+")).first.inner_text()
    return int(re.search(r"test picture ([\d,]+)", text).group(1).replace(",", ""))


@pytest.mark.parametrize("size", [(1024, 768), (1280, 720), (1920, 1080)])
def test_every_label_is_projector_sized(verify_server, page, size):
    open_present(page, verify_server, *size)
    assert page.evaluate(SMALLEST_CHART_FONT) >= 18
    assert page.evaluate(CAPTION_FONT) >= 18
    assert_no_exception(page)
    if size == (1280, 720):
        save_screenshot(page, "present.png")


def test_keys_and_autoplay_step_through_the_pictures(verify_server, page):
    open_present(page, verify_server, 1280, 720)
    first = shown_picture(page)
    page.get_by_text("The model says").first.click()  # the page, not a widget, has focus
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => !document.body.innerText.includes('test picture {first:,})')")
    wait_for_app(page)
    second = shown_picture(page)
    assert second != first
    page.keyboard.press("PageUp")  # what a presentation clicker sends for "back"
    page.wait_for_function(f"() => document.body.innerText.includes('test picture {first:,})')")
    page.get_by_text("Autoplay", exact=True).click()
    # Autoplay keeps going: one picture, then the next (3 s each by default).
    for _ in range(2):
        now = shown_picture(page)
        page.wait_for_function(
            f"() => !document.body.innerText.includes('test picture {now:,})')", timeout=15_000
        )
        wait_for_app(page)
    assert_no_exception(page)


def test_a_quiz_round_from_start_to_score(verify_server, page):
    open_present(page, verify_server, 1280, 720)
    page.get_by_text("Settings").click()
    page.get_by_text("Beat the machine (a quiz)").click()
    page.get_by_text("Settings").click()  # tucked away again
    page.get_by_role("button", name="New round of 10").click()
    for number in range(10):
        page.get_by_text("What is it?").wait_for(timeout=30_000)
        page.wait_for_function(PICTURE_LOADED)
        if number == 0:
            save_screenshot(page, "present-quiz.png")
        page.get_by_role("button", name="Sneaker", exact=True).click()
        page.get_by_role("button", name="Next picture").click()
    verdict = page.get_by_text(re.compile("People: \\d+ of 10. Model: \\d+ of 10"))
    verdict.wait_for(timeout=30_000)
    assert "83.5%" in verdict.inner_text()
    assert_no_exception(page)
