"""Every page at every screen size a presenter meets (1024x768 to 1920x1080): the page starts
near the top of the window, no chart texts overlap, no widget label or button text is cut
off. Checked in Chromium by comparing the bounding boxes the browser laid out."""

from __future__ import annotations

import pytest

from tests.support.browser import open_page, wait_for_layout
from tests.support.layout import (
    CHART_PROBLEMS,
    CUT_LABELS,
    FIRST_ELEMENT_TOP,
    HEADER_BOTTOM,
)

SIZES = [(1024, 768), (1280, 720), (1400, 1000), (1920, 1080)]
PAGES = ["", "dataset", "train", "verify", "present"]

CASES = [(path, *size) for path in PAGES for size in SIZES]


@pytest.mark.parametrize("path,width,height", CASES)
def test_no_label_overlaps_or_is_cut_off(verify_server, page, path, width, height):
    page.set_viewport_size({"width": width, "height": height})
    open_page(page, f"{verify_server.url}/{path}")
    wait_for_layout(page)  # charts lay out after the script run
    # 64 px (ui.widgets.PAGE_CSS), not Streamlit's 96: more of the page on a projector, and
    # below the header bar, which would hide the top of a first box (Present's Settings).
    top, header = page.evaluate(FIRST_ELEMENT_TOP), page.evaluate(HEADER_BOTTOM)
    assert top is not None and header <= top <= 70, f"the page starts at {top} px ({header=})"
    problems = page.evaluate(CHART_PROBLEMS)
    assert not problems, "\n".join(problems)
    cut = page.evaluate(CUT_LABELS)
    assert not cut, cut
