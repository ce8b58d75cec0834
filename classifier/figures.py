"""Plotly figure factories: each returns a `go.Figure` and never renders it.

The clickable image grid follows DESIGN.md "Plotly clicks": plotly reports no selection on
images or heatmaps, so the grid is one mosaic image that ignores the mouse
(`hoverinfo="skip"`) under a scatter of nearly invisible square markers, one per tile,
whose `customdata` is the image index. `st.plotly_chart(..., on_select="rerun",
selection_mode="points")` then reports which tile was clicked.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image

# The tutorial's colours: blue for a right prediction, red for a wrong one.
RIGHT_COLOR = "#1f77b4"
WRONG_COLOR = "#d62728"
CAPTION_COLOR = "#1b1f24"
HIGHLIGHT_COLOR = "#ff7f0e"
BAR_COLOR = "#1f77b4"
HISTOGRAM_COLOR = "#5b6770"
BACKGROUND_COLOR = "#ffffff"
# plt.imshow's default colour map, as in the tutorial's first figure with its colour bar.
PIXEL_COLORSCALE = "Viridis"
FONT_FAMILY = "sans-serif"

# Mosaic geometry, in image pixels: each 28 x 28 tile gets a white margin all round.
TILE_MARGIN = 2
CAPTION_LINE_HEIGHT = 1.35  # times the font size
AVERAGE_CHAR_WIDTH = 0.58  # times the font size, for a sans-serif caption
MIN_FONT_SIZE = 8
MAX_FONT_SIZE = 13
# Nearly, not fully, transparent: the combination checked to report clicks (DESIGN.md).
MARKER_OPACITY = 0.01


def png_data_uri(gray: np.ndarray) -> str:
    """A uint8 grayscale image as an RGB PNG data URI, for go.Image (one picture, not a
    heatmap of thousands of cells: much lighter to send and draw)."""
    buffer = io.BytesIO()
    Image.fromarray(gray, mode="L").convert("RGB").save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_canvas_layout(
    width_units: int, height_units: int, scale: float, shapes: list, min_height: int = 0
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


def _as_uint8(images: np.ndarray) -> np.ndarray:
    """Pixel values 0-255 (uint8, or floats such as mean images) as uint8."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def _caption_font_size(captions: Sequence[str], cell_px: float) -> int:
    """The largest font (within limits) at which the longest caption line fits its cell."""
    longest = max((len(line) for text in captions for line in text.split("<br>")), default=1)
    # 0.85: room to spare if the chart is drawn a little narrower than asked.
    fitting = math.floor(0.85 * cell_px / (AVERAGE_CHAR_WIDTH * max(longest, 1)))
    return int(min(MAX_FONT_SIZE, max(MIN_FONT_SIZE, fitting)))


def image_mosaic_figure(
    images: np.ndarray,
    captions: Sequence[str],
    indices: Sequence[int] | np.ndarray,
    columns: int,
    caption_colors: Sequence[str] | None = None,
    highlight_index: int | None = None,
    tile_px: int = 96,
    font_size: int | None = None,
    invert: bool = True,
    clickable: bool = True,
    hover_texts: Sequence[str] | None = None,
) -> go.Figure:
    """A grid of 28 x 28 images with a caption under each, clickable tile by tile.

    images: (n, 28, 28) pixel values 0-255. captions: one string per image; "<br>" breaks a
    line (the caption band grows to the longest one). indices: what a click reports
    (`customdata` of the tile's marker), e.g. the image's index in its split. columns: tiles
    per row. caption_colors: one colour per caption (e.g. RIGHT_COLOR / WRONG_COLOR),
    default CAPTION_COLOR. highlight_index: the index (from `indices`) framed in
    HIGHLIGHT_COLOR. tile_px: screen pixels per tile. invert: dark clothes on white, like
    the tutorial's `cmap=plt.cm.binary`. clickable: add the scatter of markers.
    """
    images = _as_uint8(images)
    count = len(images)
    if len(captions) != count or len(indices) != count:
        raise ValueError(
            f"Give one caption and one index per image: {count} images, "
            f"{len(captions)} captions, {len(indices)} indices."
        )
    if columns < 1:
        raise ValueError(f"columns must be at least 1, not {columns}.")
    colors = list(caption_colors) if caption_colors is not None else [CAPTION_COLOR] * count
    if len(colors) != count:
        raise ValueError(f"Give one caption colour per image ({count}), not {len(colors)}.")

    side = images.shape[1] if count else 28
    rows = max(1, math.ceil(count / columns))
    scale = tile_px / side  # screen pixels per image pixel
    cell_width = side + 2 * TILE_MARGIN
    font_size = font_size or _caption_font_size(captions, cell_width * scale)
    lines = max((text.count("<br>") + 1 for text in captions), default=1)
    caption_height = math.ceil(lines * font_size * CAPTION_LINE_HEIGHT / scale) + TILE_MARGIN
    cell_height = cell_width + caption_height

    mosaic = np.full((rows * cell_height, columns * cell_width), 255, dtype=np.uint8)
    tiles = 255 - images if invert else images
    tops, lefts, centres_x, centres_y = [], [], [], []
    for position in range(count):
        row, column = divmod(position, columns)
        top, left = row * cell_height + TILE_MARGIN, column * cell_width + TILE_MARGIN
        mosaic[top : top + side, left : left + side] = tiles[position]
        tops.append(top)
        lefts.append(left)
        # go.Image pixel i covers [i - 0.5, i + 0.5]: the centre of a tile is at +side/2 - 0.5.
        centres_x.append(left + side / 2 - 0.5)
        centres_y.append(top + side / 2 - 0.5)
    height_px, width_px = mosaic.shape

    # Traces and layout go in as plain dicts, validated once by go.Figure(): adding them
    # piece by piece (add_trace, add_annotation, update_*) costs plotly a validation pass
    # each, which made the mosaics the slowest part of a page rerun.
    traces: list[dict] = [
        {
            "type": "image",
            "source": png_data_uri(mosaic),
            "hoverinfo": "skip",
            "name": "mosaic",
        }
    ]
    index_list = [int(index) for index in indices]
    if clickable and count:
        if hover_texts is None:
            hover_texts = [
                f"Image {index}: {text.replace('<br>', ' ')}<br>Click to inspect"
                for index, text in zip(index_list, captions, strict=True)
            ]
        traces.append(
            {
                "type": "scatter",
                "name": "tiles",
                "x": centres_x,
                "y": centres_y,
                "customdata": index_list,
                "mode": "markers",
                "marker": {"symbol": "square", "size": tile_px, "color": CAPTION_COLOR},
                "opacity": MARKER_OPACITY,
                # A selected tile must not light up, nor the others fade: keep both invisible.
                "selected": {"marker": {"opacity": MARKER_OPACITY}},
                "unselected": {"marker": {"opacity": MARKER_OPACITY}},
                "hovertext": list(hover_texts),
                "hovertemplate": "%{hovertext}<extra></extra>",
            }
        )
    # Captions are one text trace (not 25-100 annotations: far cheaper to build), which the
    # mouse ignores, so a click on a caption still goes to the tile's marker above it.
    traces.append(
        {
            "type": "scatter",
            "name": "captions",
            "x": centres_x,
            "y": [top + side + caption_height / 2 - 0.5 for top in tops],
            "text": list(captions),
            "mode": "text",
            "textposition": "middle center",
            "textfont": {"size": font_size, "color": colors, "family": FONT_FAMILY},
            "hoverinfo": "skip",
        }
    )
    shapes = []
    if highlight_index is not None and int(highlight_index) in index_list:
        position = index_list.index(int(highlight_index))
        left, top = lefts[position], tops[position]
        shapes.append(
            {
                "type": "rect",
                "x0": left - 1.5,
                "x1": left + side + 0.5,
                "y0": top - 1.5,
                "y1": top + side + 0.5,
                "line": {"color": HIGHLIGHT_COLOR, "width": 3},
            }
        )
    layout = image_canvas_layout(width_px, height_px, scale, shapes)
    return go.Figure(data=traces, layout=layout)


def pixel_heatmap_figure(image: np.ndarray, scaled: bool = False, title: str = "") -> go.Figure:
    """One image, large, with a colour bar: the tutorial's `plt.imshow(...); plt.colorbar()`.

    scaled=False shows the stored values 0-255; scaled=True the values 0-1 the model sees.
    """
    image = np.asarray(image)
    values = image.astype(np.float32) / 255.0 if scaled else image.astype(np.int32)
    maximum = 1.0 if scaled else 255
    value_format = ".3f" if scaled else "d"
    figure = go.Figure(
        go.Heatmap(
            z=values,
            zmin=0,
            zmax=maximum,
            colorscale=PIXEL_COLORSCALE,
            colorbar={"title": {"text": "0-1" if scaled else "0-255"}, "thickness": 14},
            hovertemplate=(
                f"row %{{y}}, column %{{x}}<br>value %{{z:{value_format}}}<extra></extra>"
            ),
            xgap=0,
            ygap=0,
        )
    )
    figure.update_layout(
        title={"text": title, "x": 0.02, "font": {"size": 15}} if title else None,
        width=470,
        height=430,
        margin={"l": 40, "r": 10, "t": 40 if title else 10, "b": 30},
        plot_bgcolor=BACKGROUND_COLOR,
    )
    figure.update_xaxes(range=[-0.5, image.shape[1] - 0.5], showgrid=False, constrain="domain")
    figure.update_yaxes(
        range=[image.shape[0] - 0.5, -0.5],
        showgrid=False,
        scaleanchor="x",
        constrain="domain",
    )
    return figure


def class_counts_figure(
    counts: Sequence[int] | np.ndarray, class_names: Sequence[str]
) -> go.Figure:
    """Images per class, as horizontal bars (names stay readable) with the number on each."""
    counts = [int(count) for count in counts]
    figure = go.Figure(
        go.Bar(
            x=counts,
            y=list(class_names),
            orientation="h",
            marker_color=BAR_COLOR,
            text=[f"{count:,}" for count in counts],
            textposition="inside",
            insidetextanchor="end",
            hovertemplate="%{y}: %{x:,} images<extra></extra>",
        )
    )
    figure.update_layout(
        height=340,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        xaxis={"title": {"text": "photos"}, "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "automargin": True},  # class 0 on top
        plot_bgcolor=BACKGROUND_COLOR,
    )
    return figure


def mean_images_figure(mean_images: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """The average picture of each class as small multiples, five to a row."""
    return image_mosaic_figure(
        mean_images,
        list(class_names),
        list(range(len(class_names))),
        columns=5,
        tile_px=80,
        clickable=False,
    )


def intensity_histogram_figure(intensity_counts: Sequence[int] | np.ndarray) -> go.Figure:
    """How many pixels have each value 0-255, on a log scale (half of them are 0)."""
    counts = np.asarray(intensity_counts, dtype=np.int64)
    figure = go.Figure(
        go.Bar(
            x=np.arange(len(counts)),
            y=counts,
            marker={"color": HISTOGRAM_COLOR, "line": {"width": 0}},
            hovertemplate="value %{x}: %{y:,} pixels<extra></extra>",
        )
    )
    figure.update_layout(
        height=340,
        bargap=0,
        margin={"l": 60, "r": 10, "t": 10, "b": 40},
        xaxis={"title": {"text": "pixel value"}, "range": [-1, len(counts)]},
        # One tick per power of ten: 10k, 100k, 1M.
        yaxis={"title": {"text": "pixels (log scale)"}, "type": "log", "dtick": 1},
        plot_bgcolor=BACKGROUND_COLOR,
    )
    return figure
