"""What a room notices during a presenter's journey (tests/browser/test_journeys.py): a
watcher that collects, over one whole browser session, the browser console's errors, the
requests to other hosts, and checks the screen for exception boxes, raw run ids or
timestamps, and red text that is not a wrong answer; and helpers to tell whether something
is on the first screen."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from classifier.data import CLASS_NAMES
from tests.support.browser import assert_no_exception
from tests.support.layout import HEADER_BOTTOM

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# A run id (20261205-053022-Small-CNN) and a machine timestamp (2026-12-05 05:30:22, ISO).
RUN_ID = re.compile(r"\b\d{8}-\d{6}(?:-[\w.-]+)?")
TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")

# Every element with text of its own (or an SVG text) whose colour is red: the app's red
# (#d62728), Streamlit's :red[] and anything close. Orange (#ff7f0e) and the blues are not
# red. For each: its own text, and the text of the heading or paragraph around it (which
# holds the truth it is compared with).
RED_COLOUR = """value => {
  const m = /rgba?\\((\\d+), (\\d+), (\\d+)/.exec(value || '');
  if (!m) return false;
  const [r, g, b] = m.slice(1).map(Number);
  return r >= 150 && g <= 100 && b <= 100 && r - Math.max(g, b) >= 90;
}"""
RED_TEXTS = (
    """() => {
  const red = """
    + RED_COLOUR
    + """;
  const shown = e => { const b = e.getBoundingClientRect(); return b.width > 0 && b.height > 0; };
  const place = e => {
    const keyed = e.closest("[class*='st-key-']");
    const key = keyed ? [...keyed.classList].find(c => c.startsWith('st-key-')) : 'no key';
    return `${key} ${e.tagName.toLowerCase()}.${e.getAttribute('class') || ''}`;
  };
  const found = [];
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest('svg') && e.tagName.toLowerCase() !== 'text') continue;
    const style = getComputedStyle(e);
    if (style.visibility === 'hidden' || style.opacity === '0' || !shown(e)) continue;
    if (e.tagName.toLowerCase() === 'text') {
      const text = e.textContent.trim();
      const chart = e.closest('.js-plotly-plot');
      const around = chart ? chart.textContent : text;
      if (text && red(style.fill)) found.push({svg: true, text, around, where: place(e)});
      continue;
    }
    const own = [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent)
      .join('').trim();
    if (!own || !red(style.color)) continue;
    const block = e.closest('h1, h2, h3, h4, h5, h6, p, li') || e;
    found.push({svg: false, text: e.textContent.trim(), around: block.textContent.trim(),
                where: place(e)});
  }
  return found;
}"""
)

WRONG_SLIDE = re.compile(r"The model says (.+?), \d+% sure\. Wrong: it is an? (.+?)\.")
YOU_SAID = re.compile(r"You said (.+?)\.")
# The tutorial's caption under a picture: "Sandal 80% (Sneaker)": predicted, sure, truth.
WRONG_CAPTION = re.compile(r"^(.+?)\s+\d+%\s*\((.+)\)$", re.DOTALL)


def red_problems(found: list[dict]) -> list[str]:
    """The red texts that are not a wrong answer: a slide's "Wrong: it is ..." caption, a
    grid caption whose prediction differs from its truth, or the quiz's "You said X." when
    the truth on the same line is another class."""
    problems = []
    for item in found:
        text, around = item["text"], item["around"]
        if item["svg"]:
            match = WRONG_CAPTION.match(text)
            if match and match.group(1).strip() != match.group(2).strip():
                continue
            # A picture's history names the class it was wrongly taken for, in red.
            truth = re.search(r"true class \((.+?)\)", around)
            if truth and text in CLASS_NAMES and text != truth.group(1):
                continue
            problems.append(f"red chart text: {text!r} ({item['where']})")
            continue
        slide = WRONG_SLIDE.search(text)
        if slide and slide.group(1) != slide.group(2):
            continue
        said = YOU_SAID.fullmatch(text)
        if said:
            truth = quiz_truth(around)
            if truth is not None and truth != said.group(1):
                continue
        problems.append(f"red text: {text!r} (in {around!r}; {item['where']})")
    return problems


def quiz_truth(line: str) -> str | None:
    """The class a picture really is, from the quiz's line "You said X. The model says Y,
    N% sure. Right!" (then Y) or "... Wrong: it is a Z." (then Z)."""
    wrong = WRONG_SLIDE.search(line)
    if wrong:
        return wrong.group(2)
    right = re.search(r"The model says (.+?), \d+% sure\. Right!", line)
    return right.group(1) if right else None


# The only console errors ignored: opened directly at a page's address (/present), Streamlit's
# frontend first asks /present/_stcore/health and /present/_stcore/host-config (guessing the
# server's base path), gets 404, and then asks /_stcore/... with success. Streamlit's known
# behaviour (streamlit/streamlit#7074, "404 health check when navigating directly to a
# subpage"), not the app's; nothing a room sees.
STREAMLIT_BASE_PROBE = re.compile(r"^https?://[^/]+/[^/]+/_stcore/(health|host-config)$")


# Faults of the app that a journey found and that are reported, not yet fixed: a console
# error matching one of these is kept apart, the journey goes on, and `finish` then marks
# the test as an expected failure with the reason (every other check stays strict).
# (Empty now: Present's pictures of replaced reruns 404'd until they became data URIs.)
KNOWN_BUGS: list[tuple[re.Pattern, str]] = []


# What the screen says: the page's text and what its boxes show (a select box's choice is
# the value of an input, not text).
SHOWN_TEXT = """() => [document.body.innerText, ...[...document.querySelectorAll('input')]
  .filter(i => i.offsetWidth > 0 && !['checkbox', 'radio', 'range', 'file'].includes(i.type))
  .map(i => i.value)].join('\\n')"""


class Watcher:
    """Listens to one page for its whole life: console errors, uncaught page errors and
    every request's host. `check()` adds what is on the screen now."""

    def __init__(self, page):
        self.page = page
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.foreign: list[str] = []
        self.known: dict[str, list[str]] = {}  # reason -> console errors (KNOWN_BUGS)
        self.requests = 0
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("request", self._request)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if STREAMLIT_BASE_PROBE.search(url) and "404" in message.text:
            return  # Streamlit's own probe for its base path: harmless (see above)
        line = f"{message.text} @ {url}"
        for pattern, reason in KNOWN_BUGS:
            if pattern.search(line):
                self.known.setdefault(reason, []).append(line)
                return
        self.console_errors.append(line)

    def _request(self, request) -> None:
        self.requests += 1
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if url.hostname not in LOCAL_HOSTS:
            self.foreign.append(request.url)

    def screen_problems(self) -> list[str]:
        """What is wrong on the screen now: raw run ids or timestamps, red that is not a
        wrong answer."""
        text = self.page.evaluate(SHOWN_TEXT)
        problems = [f"raw run id: {m.group(0)!r}" for m in RUN_ID.finditer(text)]
        problems += [f"timestamp: {m.group(0)!r}" for m in TIMESTAMP.finditer(text)]
        return problems + red_problems(self.page.evaluate(RED_TEXTS))

    def check(self, where: str = "") -> None:
        """Assert that nothing a room would notice has gone wrong so far."""
        assert_no_exception(self.page)
        problems = self.screen_problems()
        assert problems == [], f"{where}: {problems}"
        assert self.page_errors == [], f"{where}: page errors {self.page_errors}"
        assert self.console_errors == [], f"{where}: console errors {self.console_errors}"
        assert self.foreign == [], f"{where}: requests to other hosts {self.foreign[:10]}"

    def known_bug(self, reason: str, seen: str) -> None:
        """A fault of the app that a step found and the report names: the journey goes on,
        and `finish` marks the test as an expected failure with this reason."""
        self.known.setdefault(reason, []).append(seen)

    def finish(self) -> None:
        """The last check of a journey; then, if a known app bug showed on the way, the
        test is an expected failure that says which (everything else has passed)."""
        import pytest

        self.check("the end of the journey")
        if self.known:
            reasons = "; ".join(
                f"{reason} (seen: {lines[0]})" for reason, lines in self.known.items()
            )
            pytest.xfail(f"known app bug: {reasons}")


def viewport_box(page) -> tuple[float, float]:
    size = page.viewport_size
    return size["width"], size["height"]


def on_first_screen(page, locator) -> bool:
    """True when the element's box lies wholly inside the viewport and below Streamlit's
    header bar, which covers the top of the page (what is on the screen without scrolling
    from where the page is now)."""
    box = locator.bounding_box()
    if not box or box["width"] == 0:
        return False
    width, height = viewport_box(page)
    return (
        box["x"] >= -1
        and box["y"] >= page.evaluate(HEADER_BOTTOM) - 1
        and box["x"] + box["width"] <= width + 1
        and box["y"] + box["height"] <= height + 1
    )


# How many of a keyed grid chart's picture tiles (the first scatter trace: one transparent
# marker per picture) lie wholly inside the viewport.
TILES_ON_SCREEN = """(prefix) => {
  const chart = document.querySelector(`[class*='st-key-${prefix}'] .js-plotly-plot`);
  if (!chart) return 0;
  const trace = chart.querySelector('.scatterlayer .trace');
  if (!trace) return 0;
  const [w, h] = [window.innerWidth, window.innerHeight];
  return [...trace.querySelectorAll('path.point')].filter(p => {
    const b = p.getBoundingClientRect();
    return b.width > 0 && b.left >= 0 && b.top >= 0 && b.right <= w && b.bottom <= h;
  }).length;
}"""

# The screen position of an isolated dot of a plotly map (a chart in `.st-key-<key>`):
# {x, y, picture}; `avoid` is a picture number not to choose. Points in the middle part of
# the plot, far from any other dot, so a click there cannot hit a neighbour.
ISOLATED_DOT = """([key, avoid, seed]) => {
  const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  const drag = gd.querySelector('.nsewdrag').getBoundingClientRect();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const all = [];
  gd.data.forEach(trace => {
    if (!trace.customdata) return;
    trace.x.forEach((x, i) => all.push([xa.l2p(x), ya.l2p(trace.y[i]), trace.customdata[i]]));
  });
  let best = null;
  const step = Math.max(1, Math.floor(all.length / 400));
  for (let i = seed % step; i < all.length; i += step) {
    const [px, py, picture] = all[i];
    if (picture === avoid) continue;
    if (px < 0.15 * drag.width || px > 0.85 * drag.width) continue;
    if (py < 0.15 * drag.height || py > 0.85 * drag.height) continue;
    let nearest = Infinity;
    all.forEach(([qx, qy], j) => {
      const d = Math.hypot(qx - px, qy - py);
      if (j !== i && d < nearest) nearest = d;
    });
    if (!best || nearest > best.gap) best = {gap: nearest, x: drag.x + px, y: drag.y + py, picture};
  }
  return best;
}"""
