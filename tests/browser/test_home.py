"""Home in Chromium: from an empty store, one click on "Start the demo" reaches a verified
prediction grid (timed: docs/benchmarks.md records the figure)."""

from __future__ import annotations

import time

from tests.support.browser import assert_no_exception, open_page
from tests.support.server import AppServer


def test_from_an_empty_store_one_click_reaches_a_verified_grid(tmp_path, page):
    """The first-time user's path, timed (docs/benchmarks.md records the figure)."""
    page.set_viewport_size({"width": 1280, "height": 720})
    with AppServer(tmp_path / "runs", tmp_path / "streamlit.log") as server:
        open_page(page, server.url)
        started = time.monotonic()
        page.get_by_role("button", name="Start the demo").click()  # the one click
        page.get_by_text("Test accuracy").first.wait_for(timeout=240_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        seconds = time.monotonic() - started
        print(f"\nHome to a verified prediction grid: 1 click, {seconds:.1f} s")
        assert "/verify" in page.url
        assert_no_exception(page)
