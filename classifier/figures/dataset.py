"""The figures of the Dataset page: each returns a `go.Figure` and never renders it."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from classifier.figures.grid import (
    as_uint8,
    caption_trace,
    clickable_markers,
    fit_captions,
    frame,
    image_canvas_layout,
    png_data_uri,
)
from classifier.figures.style import (
    BACKGROUND_COLOR,
    CAPTION_LINE_HEIGHT,
    HISTOGRAM_COLOR,
    PIXEL_COLORSCALE,
    RIGHT_COLOR,
    TEXT_COLOR,
)

TILE_MARGIN = 2  # image pixels of white around each 28 x 28 tile
BAR_COLOR = RIGHT_COLOR  # counts of photos: the app's blue, never red


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
    default TEXT_COLOR. highlight_index: the index (from `indices`) framed in orange.
    tile_px: screen pixels per tile. invert: dark clothes on white, like the tutorial's
    `cmap=plt.cm.binary`. clickable: add the scatter of markers.
    """
    images = as_uint8(images)
    count = len(images)
    if len(captions) != count or len(indices) != count:
        raise ValueError(
            f"Give one caption and one index per image: {count} images, "
            f"{len(captions)} captions, {len(indices)} indices."
        )
    if columns < 1:
        raise ValueError(f"columns must be at least 1, not {columns}.")
    colors = list(caption_colors) if caption_colors is not None else [TEXT_COLOR] * count
    if len(colors) != count:
        raise ValueError(f"Give one caption colour per image ({count}), not {len(colors)}.")

    side = images.shape[1] if count else 28
    rows = max(1, math.ceil(count / columns))
    scale = tile_px / side  # screen pixels per image pixel
    cell_width = side + 2 * TILE_MARGIN
    texts, fitted_size, lines = fit_captions(captions, cell_width * scale)
    font_size = font_size or fitted_size
    caption_height = math.ceil(lines * font_size * CAPTION_LINE_HEIGHT / scale) + TILE_MARGIN
    cell_height = cell_width + caption_height

    mosaic = np.full((rows * cell_height, columns * cell_width), 255, dtype=np.uint8)
    tiles = 255 - images if invert else images
    row_of, column_of = np.divmod(np.arange(count), columns)
    tops = row_of * cell_height + TILE_MARGIN
    lefts = column_of * cell_width + TILE_MARGIN
    for position in range(count):
        top, left = tops[position], lefts[position]
        mosaic[top : top + side, left : left + side] = tiles[position]
    # go.Image pixel i covers [i - 0.5, i + 0.5]: the centre of a tile is at +side/2 - 0.5.
    centres_x = (lefts + side / 2 - 0.5).tolist()
    centres_y = (tops + side / 2 - 0.5).tolist()
    height_px, width_px = mosaic.shape

    traces: list[dict] = [
        {"type": "image", "source": png_data_uri(mosaic), "hoverinfo": "skip", "name": "mosaic"}
    ]
    index_list = [int(index) for index in indices]
    if clickable and count:
        if hover_texts is None:
            hover_texts = [
                f"Image {index}: {text.replace('<br>', ' ')}<br>Click to inspect"
                for index, text in zip(index_list, captions, strict=True)
            ]
        traces.append(clickable_markers(centres_x, centres_y, index_list, tile_px, hover_texts))
    caption_y = (tops + side + caption_height / 2 - 0.5).tolist()
    traces.append(caption_trace(centres_x, caption_y, texts, font_size, colors, "captions"))
    shapes = []
    if highlight_index is not None and int(highlight_index) in index_list:
        position = index_list.index(int(highlight_index))
        left, top = float(lefts[position]), float(tops[position])
        shapes.append(frame(left - 1.5, left + side + 0.5, top - 1.5, top + side + 0.5))
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
