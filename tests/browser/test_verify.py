"""The Verify page in a real browser: click a picture, click a confusion cell, upload a photo.

Uses the session's live app (`verify_server`: `streamlit run app.py` with a 1-epoch Tutorial
MLP in its run store) and Debian's Chromium.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from classifier.data import CLASS_NAMES, scale_images
from classifier.ml import inference
from classifier.store.runs import RunStore
from tests.support.browser import (
    assert_no_exception,
    click_marker,
    open_page,
    save_screenshot,
    wait_for_app,
)
from tests.support.runs import shirt_png

SHIRT, TSHIRT = CLASS_NAMES.index("Shirt"), CLASS_NAMES.index("T-shirt/top")
TIMEOUT_MS = 60_000  # the first visit loads TensorFlow and predicts the test set


@pytest.fixture(scope="module")
def matrix(verify_server, dataset):
    """The confusion matrix of the server's model, computed here independently."""
    store = RunStore(verify_server.runs_dir)
    run = store.usable_runs()[0]
    probs = inference.probabilities(store.load_model(run.run_id), scale_images(dataset.test.images))
    return inference.confusion_matrix(dataset.test.labels, inference.predicted_classes(probs))


def open_verify(page, server) -> None:
    """Open the app and go to Verify through the sidebar, as a user does."""
    open_page(page, server.url)
    page.get_by_role("link", name="Verify").first.click()
    expect(page.get_by_text("Test accuracy")).to_be_visible(timeout=TIMEOUT_MS)
    wait_for_app(page)
    assert_no_exception(page)


def test_clicking_a_picture_in_the_grid_opens_it(page, verify_server, dataset):
    open_verify(page, verify_server)
    expect(page.get_by_text("Image 0: Ankle boot")).to_be_visible()
    click_marker(page, "verify_grid_", 4)  # the fifth picture: test image 4
    expected = f"Image 4: {CLASS_NAMES[dataset.test.labels[4]]}"
    expect(page.get_by_role("heading", name=expected)).to_be_visible(timeout=TIMEOUT_MS)
    wait_for_app(page)
    assert page.locator("[data-testid='stNumberInputField']").nth(3).input_value() == "4"
    assert "image=4" in page.url
    assert_no_exception(page)
    save_screenshot(page, "verify-grid.png")


def test_clicking_a_confusion_cell_filters_the_grid(page, verify_server, matrix):
    open_verify(page, verify_server)
    click_marker(page, "verify_confusion_", SHIRT * 10 + TSHIRT)
    count = f"leaves {matrix[SHIRT, TSHIRT]:,} of 10,000 images"
    caption = page.locator("[data-testid='stMarkdownContainer']", has_text=count)
    expect(caption).to_be_visible(timeout=TIMEOUT_MS)
    expect(caption).to_contain_text("true Shirt, predicted T-shirt/top")
    wait_for_app(page)
    assert "true=Shirt" in page.url and "pred=T-shirt" in page.url
    # The grid is far above the matrix: the page takes the reader up to it, with a note.
    note = page.locator(".st-key-verify_clicked")
    expect(note).to_be_in_viewport(timeout=TIMEOUT_MS)
    expect(note).to_contain_text("pictures you clicked")
    assert_no_exception(page)
    save_screenshot(page, "verify-confusion.png", show=caption)


def test_uploading_a_photo_shows_what_the_model_sees(page, verify_server):
    open_verify(page, verify_server)
    uploader = page.locator("[data-testid='stFileUploaderDropzoneInput']")
    uploader.set_input_files(
        files=[{"name": "shirt.png", "mimeType": "image/png", "buffer": shirt_png()}]
    )
    preview = page.locator("[class*='st-key-verify_upload_image']")
    expect(preview).to_contain_text("What the model sees", timeout=TIMEOUT_MS)
    bars = page.locator("[class*='st-key-verify_upload_bars'] .barlayer .point")
    expect(bars).to_have_count(10)
    expect(page.get_by_text("Photos differ from the dataset")).to_be_visible()
    assert_no_exception(page)
    save_screenshot(page, "verify-upload.png", show=page.get_by_text("Try your own picture"))
