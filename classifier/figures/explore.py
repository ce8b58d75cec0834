"""The figures of the Explore page: each returns a `go.Figure` and never renders it.

The map is a WebGL scatter (10,000 points) whose `customdata` is each point's picture number,
as a plain list (README, "Plotly selections need plain lists"), so a click, a box or a lasso
reports the pictures. Colours: blue and red mean right and wrong, as everywhere; the ten
classes get ten colours that are neither.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from classifier.data import CLASS_NAMES
from classifier.figures.grid import (
    caption_trace,
    clickable_markers,
    clickable_table_layout,
    fit_captions,
    image_canvas_layout,
    png_data_uri,
)
from classifier.figures.style import (
    BACKGROUND_COLOR,
    CAPTION_LINE_HEIGHT,
    HIGHLIGHT_COLOR,
    LABEL_FONT_SIZE,
    RIGHT_COLOR,
    SMALL_FONT_SIZE,
    TEXT_COLOR,
    WRONG_COLOR,
)
from classifier.ml.compare import BOTH_RIGHT, BOTH_WRONG, CELL_WORDS, ONLY_A, ONLY_B

# Ten colours for the ten classes, none of them the red of "wrong" nor the blue of "right".
CLASS_COLORS = (
    "#17becf",  # T-shirt/top: cyan
    "#8c564b",  # Trouser: brown
    "#2ca02c",  # Pullover: green
    "#e377c2",  # Dress: pink
    "#9467bd",  # Coat: purple
    "#bcbd22",  # Sandal: olive
    "#ff7f0e",  # Shirt: orange
    "#393b79",  # Sneaker: indigo
    "#7f7f7f",  # Bag: grey
    "#000000",  # Ankle boot: black
)
MAP_HEIGHT = 420  # under the page's title and choices, within a 720 px high screen
POINT_SIZE = 5
MAP_DRAGMODES = {"select": "select", "lasso": "lasso", "zoom": "zoom"}


def map_figure(
    points: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    colour: str,
    drag: str = "select",
    shown: int | None = None,
    title: str = "",
    region: Sequence[int] | None = None,
) -> go.Figure:
    """Every picture as a dot at `points` (N, 2), coloured by "true" class, "predicted"
    class or "right" (right in blue, wrong in red). Hover names the picture and its
    classes; `shown` gets an orange ring; the pictures of `region` (a box or lasso drawn
    before) stay bright, the others fade."""
    points = np.asarray(points, dtype=np.float64)
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    numbers = np.arange(len(points))
    hover = np.array(
        [
            f"true {CLASS_NAMES[t]}, predicted {CLASS_NAMES[p]}"
            for t, p in zip(labels.tolist(), predicted.tolist(), strict=True)
        ]
    )
    if colour == "right":
        right = labels == predicted
        groups = [(right, "right", RIGHT_COLOR), (~right, "wrong", WRONG_COLOR)]
    else:
        by = labels if colour == "true" else predicted
        groups = [(by == k, CLASS_NAMES[k], CLASS_COLORS[k]) for k in range(len(CLASS_NAMES))]
    traces = []
    for mask, name, color in groups:
        if not mask.any():
            continue
        traces.append(
            {
                "type": "scattergl",
                "name": name,
                "x": points[mask, 0].round(3).tolist(),
                "y": points[mask, 1].round(3).tolist(),
                "customdata": numbers[mask].tolist(),
                "hovertext": hover[mask].tolist(),
                "hovertemplate": "Picture %{customdata}: %{hovertext}<extra></extra>",
                "mode": "markers",
                "marker": {"size": POINT_SIZE, "color": color, "opacity": 0.75},
                "selected": {"marker": {"opacity": 1}},
                "unselected": {"marker": {"opacity": 0.15}},
            }
        )
        if region is not None and len(region):
            chosen = np.isin(numbers[mask], np.asarray(region))
            traces[-1]["selectedpoints"] = np.flatnonzero(chosen).tolist()
    if shown is not None and 0 <= shown < len(points):
        traces.append(
            {
                "type": "scatter",
                "name": "shown",
                "x": [float(points[shown, 0])],
                "y": [float(points[shown, 1])],
                "mode": "markers",
                "marker": {
                    "size": 16,
                    "color": "rgba(0,0,0,0)",
                    "line": {"color": HIGHLIGHT_COLOR, "width": 3},
                },
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
    axis = {"showticklabels": False, "showgrid": False, "zeroline": False, "title": None}
    layout = {
        "height": MAP_HEIGHT,
        "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        "plot_bgcolor": BACKGROUND_COLOR,
        "dragmode": MAP_DRAGMODES.get(drag, "select"),
        "hovermode": "closest",
        "legend": {
            "title": {"text": "right or wrong" if colour == "right" else f"{colour} class"},
            "itemsizing": "constant",
            "font": {"size": SMALL_FONT_SIZE + 1},
        },
        "xaxis": axis,
        "yaxis": axis,
        # Keep the zoom and the drawn region when the figure is redrawn with other colours.
        "uirevision": "map",
    }
    if title:
        layout["title"] = {"text": title, "x": 0.01, "font": {"size": LABEL_FONT_SIZE}}
    return go.Figure(traces, layout)


# --- Nearest training pictures ---------------------------------------------------------------

TILE_MARGIN = 3
TILE = 28 + 2 * TILE_MARGIN


def neighbours_figure(
    images: np.ndarray,
    labels: Sequence[int],
    numbers: Sequence[int],
    columns: int = 4,
    width_px: int = 440,
) -> go.Figure:
    """Training pictures in a row-by-row mosaic, each with its label and number under it
    (neutral colours: these labels are the dataset's, neither right nor wrong)."""
    images = np.asarray(images)
    count = len(images)
    rows = max(1, math.ceil(count / columns))
    scale = width_px / (columns * TILE)
    captions = [
        f"{CLASS_NAMES[int(label)]}<br>#{int(number):,}"
        for label, number in zip(labels, numbers, strict=True)
    ]
    texts, font_size, lines = fit_captions(captions, TILE * scale)
    caption_height = math.ceil(lines * font_size * CAPTION_LINE_HEIGHT / scale) + 1
    cell_height = TILE + caption_height
    mosaic = np.full((rows * cell_height, columns * TILE), 255, dtype=np.uint8)
    row_of, column_of = np.divmod(np.arange(count), columns)
    tops, lefts = row_of * cell_height + TILE_MARGIN, column_of * TILE + TILE_MARGIN
    for position in range(count):
        top, left = tops[position], lefts[position]
        mosaic[top : top + 28, left : left + 28] = 255 - images[position]
    hover = [
        f"Training picture {int(n):,}, labelled {CLASS_NAMES[int(k)]}"
        for k, n in zip(labels, numbers, strict=True)
    ]
    traces = [
        go.Image(source=png_data_uri(mosaic), hoverinfo="skip", name="mosaic"),
        clickable_markers(lefts + 13.5, tops + 13.5, [int(n) for n in numbers], 28 * scale, hover),
        caption_trace(
            lefts + 13.5, tops + 28 + caption_height / 2, texts, font_size, TEXT_COLOR, "labels"
        ),
    ]
    height_units, width_units = mosaic.shape
    return go.Figure(traces, image_canvas_layout(width_units, height_units, scale, []))


# --- One model against another ---------------------------------------------------------------

TABLE_SIZE_PX = 340
TABLE_MARGINS = {"l": 70, "r": 5, "t": 35, "b": 5}  # square cells: as high as wide
CELL_FILLS = {
    BOTH_RIGHT: "#c6dbef",  # light blue: right
    ONLY_A: "#eeeeee",
    ONLY_B: "#eeeeee",
    BOTH_WRONG: "#f4c7c3",  # light red: wrong
}
# (column, row) of each cell: rows are A right / A wrong, columns B right / B wrong.
CELL_PLACES = {BOTH_RIGHT: (0, 0), ONLY_A: (1, 0), ONLY_B: (0, 1), BOTH_WRONG: (1, 1)}


def agreement_table_figure(table: dict[str, int], selected: str | None = None) -> go.Figure:
    """The 2x2 table of who is right, each cell clickable (its customdata: the cell's name)."""
    total = max(sum(table.values()), 1)
    shapes, texts, xs, ys, names, hover = [], [], [], [], [], []
    for cell, (column, row) in CELL_PLACES.items():
        shapes.append(
            {
                "type": "rect",
                "x0": column - 0.48,
                "x1": column + 0.48,
                "y0": row - 0.48,
                "y1": row + 0.48,
                "fillcolor": CELL_FILLS[cell],
                "line": {
                    "color": HIGHLIGHT_COLOR if cell == selected else CELL_FILLS[cell],
                    "width": 4 if cell == selected else 1,
                },
                "layer": "below",
            }
        )
        count = table.get(cell, 0)
        texts.append(f"<b>{count:,}</b><br>{CELL_WORDS[cell]}<br>{count / total:.1%}")
        xs.append(column)
        ys.append(row)
        names.append(cell)
        hover.append(f"{CELL_WORDS[cell]}: {count:,} pictures<br>Click to see them")
    cell_px = (TABLE_SIZE_PX - TABLE_MARGINS["l"] - TABLE_MARGINS["r"]) / 2
    traces = [
        {
            **clickable_markers(xs, ys, names, 0.9 * cell_px, hover),
            "name": "cells",
        },
        {
            "type": "scatter",
            "x": xs,
            "y": ys,
            "text": texts,
            "mode": "text",
            "textfont": {"size": LABEL_FONT_SIZE + 1, "color": TEXT_COLOR},
            "hoverinfo": "skip",
            "name": "counts",
        },
    ]
    ticks = {"showgrid": False, "zeroline": False, "fixedrange": True, "tickfont": {"size": 13}}
    xaxis = {
        **ticks,
        "side": "top",
        "range": [-0.5, 1.5],
        "tickvals": [0, 1],
        "ticktext": ["B right", "B wrong"],
    }
    yaxis = {**ticks, "range": [1.5, -0.5], "tickvals": [0, 1], "ticktext": ["A right", "A wrong"]}
    height = round(TABLE_SIZE_PX - TABLE_MARGINS["l"] + TABLE_MARGINS["t"])
    layout = clickable_table_layout(TABLE_SIZE_PX, height, TABLE_MARGINS, shapes, xaxis, yaxis)
    return go.Figure(traces, layout)
