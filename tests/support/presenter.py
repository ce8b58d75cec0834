"""What the presenter journeys (tests/browser/test_journeys.py) do again and again: one
presenter's session (`journey`), grids on the screen, the first screen; on Present the
picture shown, the keys, the settings and the quiz; on Explore a dot and a drag on the map."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from classifier.data import CLASS_NAMES
from tests.support.browser import new_page, wait_for_app, wait_for_layout
from tests.support.journeys import (
    ISOLATED_DOT,
    RED_COLOUR,
    TILES_ON_SCREEN,
    Watcher,
    on_first_screen,
    quiz_truth,
)
from tests.support.server import AppServer


@contextmanager
def journey(browser, tmp_path: Path, size: tuple[int, int], runs=()):
    """One presenter's session: a server with its own store (holding copies of `runs`,
    each a TrainedRun), a page of `size` and its Watcher."""
    root = tmp_path / "runs"
    root.mkdir()
    for run in runs:
        shutil.copytree(run.root / run.run_id, root / run.run_id)
    width, height = size
    with AppServer(root, tmp_path / "streamlit.log") as server:
        page = new_page(browser, viewport={"width": width, "height": height})
        watcher = Watcher(page)
        try:
            yield server, page, watcher
        except pytest.xfail.Exception:
            raise  # a known app bug, reported (Watcher.finish): not a failure of the journey
        except BaseException:
            # What the screen showed when the journey failed (kept after pytest's tmp_path).
            shot = Path(tempfile.gettempdir()) / "journey-failures" / f"{tmp_path.name}.png"
            shot.parent.mkdir(exist_ok=True)
            try:
                page.screenshot(path=str(shot))
                print(f"\nThe screen at the failure: {shot}")
            except Exception:  # noqa: BLE001 - the page may be gone; the failure matters
                pass
            raise
        finally:
            page.context.close()


def grid_tiles(page, prefix: str) -> int:
    return page.evaluate(TILES_ON_SCREEN, prefix)


def wait_tiles(page, prefix: str, count: int, what: str, timeout_ms: int = 10_000) -> None:
    """Wait until at least `count` pictures of a grid are wholly on the screen (the page may
    still be scrolling smoothly to them)."""
    try:
        page.wait_for_function(
            f"() => ({TILES_ON_SCREEN})('{prefix}') >= {count}", timeout=timeout_ms
        )
    except PlaywrightTimeout:
        raise AssertionError(f"{what}: {grid_tiles(page, prefix)} pictures on screen") from None


def click_tile(page, prefix: str, number: int, scroll: bool = False) -> int:
    """Click the middle of the `number`-th picture of a keyed grid chart, where it is (or
    scrolled to the middle of the screen first); returns the picture number it shows (its
    marker's customdata)."""
    chart = page.locator(f"[class*='st-key-{prefix}'] .js-plotly-plot").first
    picture = chart.evaluate(f"gd => gd.data.find(t => t.name === 'tiles').customdata[{number}]")
    point = chart.locator(".scatterlayer .trace").first.locator("path.point").nth(number)
    if scroll:
        point.evaluate("e => e.scrollIntoView({block: 'center'})")
        wait_for_layout(page)
    box = point.bounding_box()
    assert box, f"picture {number} of {prefix} is not drawn"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    return int(picture)


class Phases:
    """Prints how long each part of a journey took (seen with `pytest -s`)."""

    def __init__(self, name: str):
        self.name, self.last = name, time.monotonic()

    def __call__(self, what: str) -> None:
        now = time.monotonic()
        print(f"[{self.name}] {what}: {now - self.last:.1f} s")
        self.last = now


def segment(page, text: str):
    """One option of a row of choice buttons (st.segmented_control)."""
    return page.get_by_test_id("stButtonGroup").get_by_text(text, exact=True)


def scroll_to_top(page) -> None:
    """Back to the top of the page, as a presenter scrolls (Streamlit scrolls its own
    container, not the window)."""
    page.evaluate(
        """() => [document.scrollingElement, ...document.querySelectorAll(
               "[data-testid='stMain'], [data-testid='stAppViewContainer']")]
             .forEach(e => { if (e) e.scrollTop = 0; })"""
    )


def assert_on_first_screen(page, locator, what: str) -> None:
    box = locator.bounding_box()
    assert on_first_screen(page, locator), f"{what} is not on the screen: {box}"


# --- Present -------------------------------------------------------------------------------

POSITION_JS = """() => {
  const match = document.body.innerText.match(/Picture ([\\d,]+) of ([\\d,]+)/);
  return match ? Number(match[1].replace(/,/g, '')) : null;
}"""


def position(page) -> int:
    value = page.evaluate(POSITION_JS)
    assert value is not None, page.inner_text("body")[:1000]
    return value


def wait_position(page, expected: int, after: str = "", timeout_ms: int = 30_000) -> None:
    """Wait until the page shows "Picture <expected> of ..." and the app is idle; then it
    must still show that picture (not one more)."""
    try:
        page.wait_for_function(f"() => ({POSITION_JS})() === {expected}", timeout=timeout_ms)
    except PlaywrightTimeout:
        wait_for_app(page)
        focused = page.evaluate("() => document.activeElement.outerHTML.slice(0, 200)")
        raise AssertionError(
            f"{after}: expected picture {expected}, the page shows {position(page)} "
            f"(focus on {focused})"
        ) from None
    wait_for_app(page)
    assert position(page) == expected, after


KEYS_READY = "() => !!(window.__studioKeys && window.__studioKeys.send)"


def press(page, key: str, times: int = 1) -> None:
    """Press a key (like a clicker) once the page's key handler (ui/keys.py) listens: it is
    mounted in the browser a moment after the script run that draws it."""
    page.wait_for_function(KEYS_READY, timeout=30_000)
    for _ in range(times):
        page.keyboard.press(key)


def keys_move_one_picture_each(page, watcher, where: str) -> None:
    """Each of the arrow keys and a clicker's Page Down / Page Up moves exactly one
    picture; five quick presses move exactly five."""
    now = position(page)
    for key, step in (("ArrowRight", 1), ("ArrowLeft", -1), ("PageDown", 1), ("PageUp", -1)):
        press(page, key)
        now += step
        wait_position(page, now, f"{where}, {key}")
    press(page, "ArrowRight", 5)  # quick presses, no wait between them
    wait_position(page, now + 5, f"{where}, 5 x ArrowRight")
    press(page, "PageUp", 5)
    wait_position(page, now, f"{where}, 5 x PageUp")
    watcher.check(where)


def settings_summary(page):
    return page.locator("[data-testid='stExpander'] summary", has_text="Settings")


def settings_open(page) -> bool:
    return settings_summary(page).evaluate("e => e.closest('details').open")


def open_settings(page) -> None:
    if not settings_open(page):
        settings_summary(page).click()
    expect(page.get_by_text("Mode", exact=True)).to_be_visible()


def close_settings(page) -> None:
    if settings_open(page):
        settings_summary(page).click()


def slide_caption(page):
    """The slideshow's caption ("The model says Sneaker, 98% sure. ..."), not the quiz's
    "... see what the model says."."""
    return page.get_by_text(re.compile(r"^The model says ")).first


def choose_mode(page, mode: str) -> None:
    """Pick a mode in the Settings and wait until the page has taken it. A click in the
    instant a rerun replaces the expander's content was seen lost once in CI (the page
    stayed in the quiz): the presenter would click again, and so does this."""
    open_settings(page)
    choice = page.get_by_role("radio", name=mode, exact=True)
    for attempt in range(2):
        page.get_by_text(mode, exact=True).click()
        try:
            expect(choice).to_be_checked(timeout=10_000)
            break
        except AssertionError:
            if attempt:
                raise
    wait_for_app(page)
    close_settings(page)


def answer_quiz(page, watcher, answer: str) -> None:
    """Pick `answer` for the picture shown; the model's answer and Next picture appear,
    with Next inside the screen, and "You said" is red only when the room was wrong."""
    expect(page.get_by_text("What is it?")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name=answer, exact=True).click()
    next_button = page.get_by_role("button", name="Next picture")
    expect(next_button).to_be_visible(timeout=30_000)
    wait_for_app(page)
    assert_on_first_screen(page, next_button, "the quiz's Next picture")
    line = page.get_by_role("heading").filter(has_text="You said").first
    said = line.locator(".stMarkdownColoredText", has_text="You said").first
    truth = quiz_truth(line.inner_text())
    assert truth in CLASS_NAMES, line.inner_text()
    # "You said" is red when the room was wrong, and only then (blue when right).
    is_red = said.evaluate(f"e => ({RED_COLOUR})(getComputedStyle(e).color)")
    assert is_red == (answer != truth), (answer, truth, line.inner_html())
    watcher.check("the quiz's answer")


# --- Explore -------------------------------------------------------------------------------


def explore_heading(page) -> int:
    text = page.get_by_role("heading", name=re.compile(r"^Test picture [\d,]+$")).first.inner_text()
    return int(text.split()[-1].replace(",", ""))


def scroll_into_view(page, locator) -> None:
    """Scroll to a chart's element; plotly redraws it after a rerun: find the new one."""
    for attempt in range(3):
        try:
            locator.scroll_into_view_if_needed(timeout=10_000)
            return
        except PlaywrightError:
            if attempt == 2:
                raise
            wait_for_app(page)


def click_a_dot(page, seed: int) -> None:
    """Click an isolated dot of the map: "Test picture N" then shows that dot's picture."""
    chart = page.locator(".st-key-explore_map .js-plotly-plot")
    scroll_into_view(page, chart)
    wait_for_layout(page)
    before = explore_heading(page)
    dot = page.evaluate(ISOLATED_DOT, ["explore_map", before, seed])
    assert dot and dot["picture"] != before, dot
    page.mouse.move(dot["x"], dot["y"])
    page.mouse.click(dot["x"], dot["y"])
    heading = page.get_by_role("heading", name=f"Test picture {dot['picture']:,}", exact=True)
    expect(heading).to_be_visible(timeout=30_000)
    wait_for_app(page)
    expect(heading).to_be_in_viewport()  # the page scrolls to it: wait for the scroll
    wait_for_layout(page)
    assert_on_first_screen(page, heading, "the clicked dot's picture")


def drag_on_map(page, path: list[tuple[float, float]]) -> None:
    """Press, move along `path` (fractions of the plot area) and let go."""
    area = page.locator(".st-key-explore_map .nsewdrag").first
    scroll_into_view(page, area)  # plotly redraws its drag layer after a mode change
    wait_for_layout(page)
    box = area.bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.mouse.move(*at(*path[0]))
    page.mouse.down()
    for point in path[1:]:
        page.mouse.move(*at(*point), steps=6)
    page.mouse.up()


REGION = re.compile(r"([\d,]+) of the 10,000 test pictures are in the region you drew")


def region_count(page) -> int:
    match = REGION.search(page.inner_text("body"))
    return int(match.group(1).replace(",", "")) if match else 0
