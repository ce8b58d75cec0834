"""Drawing a garment: the canvas's strokes become a picture like the dataset's (a stroke in
Chromium, and the model's answer: tests/browser/test_drawing.py)."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.ml.images import ImageError, prepare_drawing


def canvas_with_a_bar(height=280, width=280, top=40, left=200, bar=(60, 20)) -> np.ndarray:
    """A transparent canvas with one opaque black stroke, off-centre."""
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    rgba[top : top + bar[0], left : left + bar[1], 3] = 255  # black, opaque
    return rgba


def test_strokes_on_a_transparent_canvas_become_a_bright_centred_garment():
    prepared = prepare_drawing(canvas_with_a_bar())
    pixels = prepared.pixels
    assert pixels.shape == (28, 28) and pixels.max() == pytest.approx(1.0, abs=0.02)
    assert pixels[0, 0] == 0 and pixels[-1, -1] == 0  # black around it, like the dataset
    rows, columns = np.nonzero(pixels > 0.5)
    # Trimmed and fitted: the tall stroke fills the height, centred left to right.
    assert rows.min() <= 1 and rows.max() >= 26
    assert abs((columns.min() + columns.max()) / 2 - 13.5) <= 1.5
    assert prepared.format == "drawing" and not prepared.inverted


def test_an_empty_canvas_asks_for_a_drawing():
    with pytest.raises(ImageError, match="canvas is empty"):
        prepare_drawing(np.zeros((280, 280, 4), dtype=np.uint8))
    with pytest.raises(ImageError, match="could not be read"):
        prepare_drawing(np.zeros((280, 280), dtype=np.uint8))
