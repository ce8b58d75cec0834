"""The parts every picture figure shares: PNG mosaics, image axes, caption fitting, and the
transparent markers that make a picture clickable.

How clicks work (README, "Clicks on charts"): plotly reports no selection on images or
heatmaps, so a grid is one mosaic image that ignores the mouse (`hoverinfo="skip"`) under a
scatter of nearly invisible square markers, one per tile, whose `customdata` says what a
click means. `st.plotly_chart(..., on_select=..., selection_mode="points")` reports it.

Traces and layouts are plain dicts, validated once by go.Figure(): plotly's add_trace(),
update_layout() and add_shape() validate the whole figure each time, several ms apiece.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from classifier.figures.style import (
    AVERAGE_CHAR_WIDTH,
    BACKGROUND_COLOR,
    FONT_FAMILY,
    HIGHLIGHT_COLOR,
    MAX_FONT_SIZE,
    MIN_FONT_SIZE,
    TEXT_COLOR,
)

# Nearly, not fully, transparent: fully transparent markers report no clicks.
MARKER_OPACITY = 0.01


def png_data_uri(gray: np.ndarray) -> str:
    """A uint8 grayscale image as an RGB PNG data URI, for go.Image (one picture, not a
    heatmap of thousands of cells: much lighter to send and draw)."""
    buffer = io.BytesIO()
    Image.fromarray(gray, mode="L").convert("RGB").save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def big_picture_uri(image: np.ndarray, scale: int) -> str:
    """A 28 x 28 picture as the tutorial draws it (dark clothes on white), enlarged with
    sharp pixels (a browser blurs a small image stretched to a projector), as a PNG data
    URI. st.image hands a data URI to the browser as it is; bytes would become a file in
    Streamlit's media store, gone (a 404, a broken picture) when quick key presses replace
    the rerun that made it before the browser fetched it."""
    dark_on_white = 255 - as_uint8(image)
    big = np.repeat(np.repeat(dark_on_white, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(big, mode="L").save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def as_uint8(images: np.ndarray) -> np.ndarray:
    """Pixel values 0-255 (uint8, or floats such as mean images) as uint8."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def pixels_01(image: np.ndarray) -> np.ndarray:
    """uint8 0-255 or float 0-1 pixels as float 0-1."""
    image = np.asarray(image)
    return image / 255.0 if image.dtype == np.uint8 else image.astype(np.float64)


def image_canvas_layout(
    width_units: float, height_units: float, scale: float, shapes: list, min_height: int = 0
) -> dict:
    """The layout of a clickable mosaic: no axes, no zoom, square pixels, image y-down."""
    return {
        "width": round(width_units * scale),
        "height": max(round(height_units * scale), min_height),
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "plot_bgcolor": BACKGROUND_COLOR,
        "paper_bgcolor": BACKGROUND_COLOR,
        "hovermode": "closest",
        "dragmode": False,
        "showlegend": False,
        "shapes": shapes,
        "xaxis": {"visible": False, "range": [-0.5, width_units - 0.5], "fixedrange": True},
        # Reversed y as for any image; scaleanchor keeps tiles square in a narrower column.
        "yaxis": {
            "visible": False,
            "range": [height_units - 0.5, -0.5],
            "fixedrange": True,
            "scaleanchor": "x",
            "constrain": "domain",
            "constraintoward": "top",
        },
    }


def image_axes(size: int = 28) -> dict:
    """Layout entries for axes that show one picture: no ticks, square pixels, row 0 on top."""
    hidden = {"showticklabels": False, "showgrid": False, "zeroline": False, "ticks": ""}
    return {
        "xaxis": {"range": [-0.5, size - 0.5], **hidden},
        "yaxis": {
            "range": [size - 0.5, -0.5],
            **hidden,
            "scaleanchor": "x",
            "constrain": "domain",
        },
    }


def _fitting_size(lines: Sequence[str], cell_px: float) -> int:
    longest = max((len(line) for line in lines), default=1)
    # 0.9: room to spare if the chart is drawn a little narrower than asked.
    return math.floor(0.9 * cell_px / (AVERAGE_CHAR_WIDTH * max(longest, 1)))


def fit_captions(captions: Sequence[str], cell_px: float) -> tuple[list[str], int, int]:
    """Captions, their font size and their line count, so that none is wider than its cell.

    "<br>" breaks a line. When one line would need a font below the readable minimum,
    captions of the form "Shirt 51% (Coat)" are broken before "(". Returns (texts, size,
    lines).
    """
    texts = list(captions)
    lines = [line for text in texts for line in text.split("<br>")]
    size = _fitting_size(lines, cell_px)
    if size <= MIN_FONT_SIZE and any(" (" in text for text in texts):
        texts = [text.replace(" (", "<br>(") for text in texts]
        lines = [line for text in texts for line in text.split("<br>")]
        size = _fitting_size(lines, cell_px)
    line_count = max((text.count("<br>") + 1 for text in texts), default=1)
    return texts, int(min(MAX_FONT_SIZE, max(MIN_FONT_SIZE, size))), line_count


def clickable_markers(
    x: Sequence[float], y: Sequence[float], customdata: list, size_px: float, hover: list[str]
) -> dict:
    """A scatter of nearly invisible squares over the tiles: what a click reports."""
    return {
        "type": "scatter",
        "name": "tiles",
        "x": list(x),
        "y": list(y),
        "customdata": customdata,  # a list: a numpy array of pairs reaches plotly.js flat
        "mode": "markers",
        "marker": {"symbol": "square", "size": size_px, "color": TEXT_COLOR},
        "opacity": MARKER_OPACITY,
        # A selected tile must not light up, nor the others fade: keep both invisible.
        "selected": {"marker": {"opacity": MARKER_OPACITY}},
        "unselected": {"marker": {"opacity": MARKER_OPACITY}},
        "hovertext": hover,
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def caption_trace(
    x: Sequence[float], y: Sequence[float], texts: list[str], size: int, color, name: str
) -> dict:
    """Captions as one text trace (far cheaper than an annotation each) that the mouse
    ignores, so a click on a caption goes to the tile's marker."""
    return {
        "type": "scatter",
        "name": name,
        "x": list(x),
        "y": list(y),
        "text": texts,
        "mode": "text",
        "textposition": "middle center",
        "textfont": {"size": size, "color": color, "family": FONT_FAMILY},
        "hoverinfo": "skip",
    }


def frame(x0: float, x1: float, y0: float, y1: float, width: int = 3) -> dict:
    """An orange rectangle that marks the selected picture or cell."""
    rect = {"type": "rect", "x0": x0, "x1": x1, "y0": y0, "y1": y1}
    return {**rect, "line": {"color": HIGHLIGHT_COLOR, "width": width}}


def clickable_table_layout(
    width: int, height: int, margins: dict, shapes: list, xaxis: dict, yaxis: dict
) -> dict:
    """The layout of a table of clickable squares (a confusion matrix, the two models'
    2x2 table): fixed axes, no dragging, the nearest square under the pointer."""
    return {
        "width": width,
        "height": height,
        "margin": margins,
        "plot_bgcolor": BACKGROUND_COLOR,
        "dragmode": False,
        "hovermode": "closest",
        "showlegend": False,
        "shapes": shapes,
        "xaxis": xaxis,
        "yaxis": yaxis,
    }
