"""How bench_interactions times what a person feels, in the page: from the input event's
own timeStamp to the first animation frame where the watched text has changed and the app
is idle, or from a navigation's start to a ready page; and how it keeps and reports a
series of such timings (median, p90, failures in one line each)."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field

from tests.support.browser import new_context

TIMEOUT_MS = 120_000  # a page opened on a busy machine
INPUT_TIMEOUT_MS = 30_000  # an input: longer is a failure

# The input's time: the event's own timeStamp, for the first key press or mouse button
# released after `__bench.armed` is set (a capture listener on the window: before any of
# the page's own handlers).
INPUT_CLOCK = """(() => {
  if (window.__bench) return;
  const bench = window.__bench = {armed: false, t0: null, firstSent: null};
  const mark = event => {
    if (bench.armed && bench.t0 === null) bench.t0 = event.timeStamp;
  };
  const send = WebSocket.prototype.send;  // the first message the input sends
  WebSocket.prototype.send = function (data) {
    if (bench.armed && bench.firstSent === null) bench.firstSent = performance.now();
    return send.call(this, data);
  };
  window.addEventListener('keydown', mark, true);
  window.addEventListener('mouseup', mark, true);
  window.__benchText = (selector, pattern) => {
    const wanted = new RegExp(pattern);
    return [...document.querySelectorAll(selector)].map(e => e.textContent)
      .filter(text => wanted.test(text)).join(' | ');
  };
})();"""
KEYS_LISTEN = "() => typeof (window.__studioKeys || {}).send === 'function'"
ARM = "() => Object.assign(window.__bench, {armed: true, t0: null, firstSent: null})"
MARKDOWN = "[data-testid='stMarkdownContainer']"
CAPTION = "[data-testid='stCaptionContainer']"


def text_probe(selector: str, pattern: str) -> str:
    """A JS function returning the texts of `selector` that match `pattern` (a regex)."""
    return f"() => window.__benchText({json.dumps(selector)}, {json.dumps(pattern)})"


def changed_and_idle(probe: str) -> str:
    """A predicate ([before]) => the time, once `probe`'s value differs from before and, in
    the same frame, the app is connected and not running: the answer has arrived (the
    server says a run started before it sends what the run draws) and its run has ended.
    (APP_IDLE also wants a run end observed after the last message sent, else it waits
    5 s: a run this quick can go from "running" to "notRunning" within one render, and a
    chart whose key changed sends its empty selection afterwards, which starts no run.)"""
    return (
        f"([before]) => {{ const value = ({probe})(); if (value === before) return false; "
        "const app = document.querySelector(\"[data-testid='stApp']\"); "
        "if (!app || app.getAttribute('data-test-connection-state') !== 'CONNECTED') "
        "return false; "
        "if (app.getAttribute('data-test-script-state') !== 'notRunning') return false; "
        "return performance.now(); }"
    )


def ready_and_idle(ready: str) -> str:
    """A predicate () => the time since the navigation started, once `ready` holds (it
    holds only once the page's last script run drew it) and the app is connected and not
    running."""
    return (
        f"() => {{ if (!({ready})()) return false; "
        "const app = document.querySelector(\"[data-testid='stApp']\"); "
        "if (!app || app.getAttribute('data-test-connection-state') !== 'CONNECTED') "
        "return false; "
        "if (app.getAttribute('data-test-script-state') !== 'notRunning') return false; "
        "return performance.now(); }"
    )


def new_bench_page(browser):
    context = new_context(browser)
    context.add_init_script(INPUT_CLOCK)
    return context.new_page()


def timed_input(page, action, probe: str, timeout_ms: int = INPUT_TIMEOUT_MS) -> float:
    """Seconds from the input `action()` makes to the changed, settled page."""
    before = page.evaluate(probe)
    page.evaluate(ARM)
    action()
    end = page.wait_for_function(
        changed_and_idle(probe), arg=[before], polling="raf", timeout=timeout_ms
    ).json_value()
    start = page.evaluate("() => { window.__bench.armed = false; return window.__bench.t0; }")
    if start is None:
        raise RuntimeError("no input event was seen")
    return (end - start) / 1000


def timed_open(browser, url: str, ready: str, timeout_ms: int = TIMEOUT_MS) -> float:
    """Seconds from the navigation's start to `ready` and an idle app, in a new context."""
    page = new_bench_page(browser)
    try:
        page.goto(url, timeout=timeout_ms)
        end = page.wait_for_function(
            ready_and_idle(ready), polling="raf", timeout=timeout_ms
        ).json_value()
        return end / 1000
    finally:
        page.context.close()


def exists(selector: str) -> str:
    return f"() => document.querySelector({json.dumps(selector)}) !== null"


# --- A series of timings, and its line in the report ------------------------------------


@dataclass
class Series:
    name: str
    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def failure_line(error: Exception) -> str:
    """A failed measurement in one short line: the error's kind and its first line."""
    return f"{type(error).__name__}: {str(error).splitlines()[0][:160]}"


def repeat(series: Series, reps: int, once, warm_up: int = 1) -> Series:
    """Call `once(i)` (a timed input, seconds) warm_up + reps times; keep the last reps."""
    for i in range(warm_up + reps):
        try:
            seconds = once(i)
        except Exception as error:  # noqa: BLE001 - reported, the benchmark goes on
            series.failures.append(failure_line(error))
            if len(series.failures) >= 3 or not series.times:
                break  # it cannot be driven here: no more timeouts
            continue
        if i >= warm_up:
            series.times.append(seconds)
    return series


def describe(item: Series) -> str:
    times = item.times
    line = f"{item.name}: no figure"
    if times:
        line = f"{item.name}: median {statistics.median(times):.3f} s, p90 {p90(times):.3f} s"
        line += f", n={len(times)}"
    if item.failures:
        line += f", {len(item.failures)} failed: {item.failures[0]}"
    return line


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
