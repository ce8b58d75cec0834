"""Chromium (Playwright) against a live app: the launch flags, pages that know when the app
is idle, and helpers to click through Streamlit's widgets.

When is the app ready? Streamlit marks its root element with the connection state and the
script state (`data-test-script-state`: "initial" before the first run, then "running" and
"notRunning"). Right after a click, though, the state still says "notRunning" until the
server's answer arrives; and after a run, an element whose code Streamlit has not loaded yet
(a button, the first time) is a skeleton for a moment. So every page made here
(`new_context`, `new_page`, and the tests' `page` fixture) carries `RUN_TRACKER`, a script
that counts the messages the page sends (each widget change is one) and the script runs that
end. `wait_for_app` then waits until the app is connected, not running, has ended a run after
the last message it sent, and shows no skeleton: conditions, not a guessed delay.

While a script runs, Streamlit's header shows a "Stop" button of its own: look for the app's
buttons by their key (`.st-key-train_stop`), not by their name alone.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")  # Debian's Chromium
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # /dev/shm is small in containers; many sessions need room
]
VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT_MS = 60_000

# Counts what the page sends to the server and the script runs that end (see the module's
# docstring). Installed before any of the page's own scripts.
RUN_TRACKER = """(() => {
  if (window.__appRuns) return;
  const runs = window.__appRuns = {sent: 0, lastSent: -1, ended: 0, lastEnded: -1};
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    runs.sent += 1;
    runs.lastSent = performance.now();
    return send.call(this, data);
  };
  new MutationObserver(records => {
    for (const record of records) {
      const state = record.target.getAttribute('data-test-script-state');
      if (state === 'notRunning' && record.oldValue !== 'notRunning') {
        runs.ended += 1;
        runs.lastEnded = performance.now();
      }
    }
  }).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                        attributeFilter: ['data-test-script-state']});
})();"""

# True once the app is connected and idle, every element drawn (Streamlit loads an element's
# code the first time it is used, and shows a skeleton meanwhile) with its fonts, and (with
# the tracker) it has ended a script run after the last message the page sent. A message
# that starts no run (rare: an upload's URL request) is taken as answered after `quiet` ms.
# With `since` (a count of messages sent), the page must also have sent a message after that
# count: for widgets that send their value after a debounce.
APP_IDLE = """([since, quiet]) => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || !document.querySelector("[data-testid='stAppViewContainer']")) return false;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.fonts.status !== 'loaded') return false;
  // An element whose code is still loading shows a skeleton (a button, the first time).
  if (document.querySelector("[data-testid='stSkeleton']")) return false;
  const runs = window.__appRuns;
  if (!runs) return since === null;
  if (since !== null && runs.sent <= since) return false;
  return runs.lastEnded >= runs.lastSent || performance.now() - runs.lastSent > quiet;
}"""
QUIET_MS = 5_000

# True when every plotly chart on screen is drawn, the page's text font has loaded, and no
# element moved, changed size or changed its texts for three polls in a row: charts lay
# themselves out after the script run (and again after the window changes size), and text
# is measured again once the web font replaces the fallback.
LAYOUT_SETTLED = """() => {
  const shown = element => element.getBoundingClientRect().width > 0;
  const charts = [...document.querySelectorAll("[data-testid='stPlotlyChart']")].filter(shown);
  const drawn = charts.every(chart => chart.querySelector('.js-plotly-plot .main-svg'));
  const faces = [...document.fonts].filter(face => face.family.includes('Source Sans'));
  const fonts = document.fonts.status === 'loaded'
    && (faces.length === 0 || faces.some(face => face.status === 'loaded'));
  const boxes = [...document.querySelectorAll("[data-testid='stElementContainer']")]
    .filter(shown).map(element => {
      const box = element.getBoundingClientRect();
      return [box.x, box.y, box.width, box.height, element.querySelectorAll('text').length];
    });
  const signature = drawn && fonts && JSON.stringify(boxes);
  const wait = window.__layoutSettled || (window.__layoutSettled = {signature: null, same: 0});
  if (!signature || signature !== wait.signature) {
    wait.signature = signature;
    wait.same = 0;
    return false;
  }
  wait.same += 1;
  return wait.same >= 3;
}"""


def launch_options(headless: bool = True) -> dict:
    """Keyword arguments of `playwright.chromium.launch` (sync or async)."""
    return {
        "executable_path": CHROMIUM if Path(CHROMIUM).exists() else None,
        "headless": headless,
        "args": CHROMIUM_FLAGS,
    }


def new_context(browser, **options):
    """A browser context whose pages track the app's script runs (see `wait_for_app`)."""
    context = browser.new_context(**{"viewport": VIEWPORT, **options})
    context.add_init_script(RUN_TRACKER)
    return context


def new_page(browser, **options):
    """A page in a context of its own (closed with the page: `page.context.close()`)."""
    return new_context(browser, **options).new_page()


async def new_context_async(browser, **options):
    """`new_context` for Playwright's async API (bench/load_test.py)."""
    context = await browser.new_context(**{"viewport": VIEWPORT, **options})
    await context.add_init_script(RUN_TRACKER)
    return context


async def wait_for_app_async(page, timeout_ms: int = TIMEOUT_MS) -> None:
    """`wait_for_app` for Playwright's async API."""
    await page.wait_for_function(APP_IDLE, arg=[None, QUIET_MS], timeout=timeout_ms, polling=100)


def script_runs_ended(page) -> int:
    """How many script runs the page has seen end so far (RUN_TRACKER)."""
    return page.evaluate("() => window.__appRuns ? window.__appRuns.ended : 0")


def app_mark(page) -> int:
    """How many messages the page has sent so far: pass it to `wait_for_app(since=...)`."""
    return page.evaluate("() => window.__appRuns ? window.__appRuns.sent : 0")


def wait_for_app(page, timeout_ms: int = TIMEOUT_MS, since: int | None = None) -> None:
    """Wait until the app is connected and idle, its answer to the last widget change
    included. With `since` (from `app_mark`), a widget change after that mark must have
    been sent and answered (a slider sends its value after a short debounce)."""
    page.wait_for_function(APP_IDLE, arg=[since, QUIET_MS], timeout=timeout_ms, polling=100)


def open_page(page, url: str, ready=None, timeout_ms: int = TIMEOUT_MS) -> None:
    """Go to a page of the app and wait until it is ready: the script has run, and `ready`
    (a locator, or a text on the page) is visible."""
    page.goto(url, timeout=timeout_ms)
    wait_for_app(page, timeout_ms)
    if ready is not None:
        locator = page.get_by_text(ready).first if isinstance(ready, str) else ready
        locator.wait_for(state="visible", timeout=timeout_ms)
        wait_for_app(page, timeout_ms)


def wait_for_layout(page, timeout_ms: int = 30_000) -> None:
    """Wait until the charts on screen are drawn and the page stays put (LAYOUT_SETTLED)."""
    page.evaluate("() => { delete window.__layoutSettled; }")
    page.wait_for_function(LAYOUT_SETTLED, timeout=timeout_ms, polling=100)


PAGE_STATE = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  return JSON.stringify({
    script: app && app.getAttribute('data-test-script-state'),
    connection: app && app.getAttribute('data-test-connection-state'),
    elements: document.querySelectorAll("[data-testid='stElementContainer']").length,
    runs: window.__appRuns || null,
    now: Math.round(performance.now()),
    text: document.body.innerText.slice(0, 200),
  });
}"""


def page_state(page) -> str:
    """Where the app stood, for a failure's message: its script and connection states, the
    elements drawn, the runs tracked (RUN_TRACKER) and the start of its text."""
    return page.evaluate(PAGE_STATE)


def assert_no_exception(page) -> None:
    """No Streamlit exception box is shown."""
    assert page.locator("[data-testid='stException']").count() == 0, page.inner_text("body")[:2000]


def set_slider(page, label: str, steps_right: int, value: int) -> None:
    """Move a slider to its minimum, then `steps_right` steps up, with the keyboard, until
    it shows `value` (a key press can land while the page is still re-rendering); then wait
    for the rerun that the new value starts."""
    slider = page.get_by_role("slider", name=label)
    changed = slider.input_value() != str(value)
    for _ in range(5):
        mark = app_mark(page)
        slider.focus()  # the thumb is an <input type=range>
        slider.press("Home")
        for _ in range(steps_right):
            slider.press("ArrowRight")
        if slider.input_value() == str(value):
            break
        wait_for_app(page)  # a re-render ate a key press: try again once it is done
    assert slider.input_value() == str(value)
    page.keyboard.press("Tab")  # commit the value
    # Streamlit sends a slider's value after a short debounce: wait for that rerun to end.
    wait_for_app(page, since=mark if changed else None)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the select box `label`, and wait for the rerun it starts."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def save_screenshot(page, name: str, show=None) -> None:
    """With SCREENSHOT_DIR set (e.g. docs/screenshots), keep what the test saw for the README.

    Streamlit scrolls inside its own container, so a full-page shot is only the viewport:
    pass `show` (a locator) to scroll the part that matters into view first."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        if show is not None:
            show.first.scroll_into_view_if_needed()
        wait_for_layout(page)
        page.screenshot(path=os.path.join(folder, name))


def chart(page, key_prefix: str):
    """The plotly chart whose Streamlit key starts with `key_prefix` (other elements, such as
    a chart's click listener, may have keys that start the same way)."""
    keyed = page.locator(f"[class*='st-key-{key_prefix}']")
    return keyed.filter(has=page.locator(".js-plotly-plot")).first


def status_badge(page, status: str):
    """The badge beside the shown run's name on the Train page."""
    return page.locator(".stMarkdownBadge", has_text=status)


def click_marker(page, key_prefix: str, point_number: int) -> None:
    """Click the centre of one marker of the first scatter trace of a keyed plotly chart."""
    trace = chart(page, key_prefix).locator(".scatterlayer .trace").first
    point = trace.locator("path.point").nth(point_number)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    assert box, f"marker {point_number} of {key_prefix} is not drawn"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def pick_option(page, label: str, option: str, tries: int = 5) -> None:
    """Choose `option` in the select box `label`. Its list sometimes does not open on the
    first click (seen under load, and while an expander still unfolds): open it again, a
    few times at most."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.get_by_role("combobox", name=label)
    box.wait_for(state="visible")
    for _ in range(tries):
        box.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_for_app(page)
    else:
        raise AssertionError(f"the list of {label!r} does not open")
    wait_for_app(page)
