"""Drawing a garment in Chromium: a stroke on the Verify page's canvas gives a prediction."""

from __future__ import annotations

from tests.support.browser import assert_no_exception, open_page, save_screenshot, wait_for_app


def test_a_stroke_on_the_canvas_gives_a_prediction(verify_server, page):
    open_page(page, f"{verify_server.url}/verify")
    page.get_by_text("Draw a garment").click()
    canvas = page.locator(".st-key-verify_canvas canvas").last  # fabric.js: the top layer
    canvas.wait_for(timeout=30_000)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 60)
    page.mouse.down()
    for step in range(20):  # a trouser leg, top to bottom
        page.mouse.move(box["x"] + 100 + step, box["y"] + 60 + 9 * step)
    page.mouse.up()
    page.get_by_text("What the model sees").wait_for(timeout=30_000)
    wait_for_app(page)
    assert_no_exception(page)
    save_screenshot(page, "verify-draw.png", show=page.get_by_text("What the model sees"))
