"""The figures of the Verify page: each returns a `go.Figure` and never renders it.

They redraw the tutorial's `plot_image` (the picture, with "predicted confidence% (true)"
under it, blue when right and red when wrong) and `plot_value_array` (ten grey bars, the
predicted one red, the true one blue, so a right answer shows a single blue bar). Clickable
figures carry markers whose `customdata` says what a click means (grid_figures.py).
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
    fit_captions,
    frame,
    image_axes,
    image_canvas_layout,
    pixels_01,
    png_data_uri,
)
from classifier.figures.style import (
    BACKGROUND_COLOR,
    BAR_PANEL_GREY,
    BINARY_COLORSCALE,
    CAPTION_LINE_HEIGHT,
    GRID_COLOR,
    LABEL_FONT_SIZE,
    OTHER_COLOR,
    RIGHT_COLOR,
    SMALL_FONT_SIZE,
    TICK_FONT_SIZE,
    UNKNOWN_COLOR,
    WRONG_COLOR,
)

# Transparent where nothing matters, warm and opaque where the model looked.
SALIENCY_COLORSCALE = [
    [0.0, "rgba(255, 80, 0, 0.0)"],
    [0.15, "rgba(255, 80, 0, 0.0)"],
    [0.5, "rgba(255, 60, 0, 0.55)"],
    [1.0, "rgba(255, 220, 0, 0.95)"],
]
CONFIDENCE_FORMAT = "{name} {percent:2.0f}% ({true})"  # the tutorial's xlabel
IMAGE_FIGURE_PX = 215  # the single picture: its label must fit under it at 13 px


def prediction_label(probabilities: np.ndarray, true_label: int | None) -> tuple[str, str]:
    """The tutorial's caption, "Ankle boot 99% (Ankle boot)", and its colour."""
    predicted = int(np.argmax(probabilities))
    percent = 100 * float(np.max(probabilities))
    if true_label is None:
        return f"{CLASS_NAMES[predicted]} {percent:2.0f}%", UNKNOWN_COLOR
    text = CONFIDENCE_FORMAT.format(
        name=CLASS_NAMES[predicted], percent=percent, true=CLASS_NAMES[true_label]
    )
    return text, RIGHT_COLOR if predicted == true_label else WRONG_COLOR


def bar_colors(probabilities: np.ndarray, true_label: int | None) -> list[str]:
    """Grey bars; the predicted one red, then the true one blue (overriding a right red)."""
    colors = [OTHER_COLOR] * len(probabilities)
    predicted = int(np.argmax(probabilities))
    if true_label is None:
        colors[predicted] = UNKNOWN_COLOR
        return colors
    colors[predicted] = WRONG_COLOR
    colors[int(true_label)] = RIGHT_COLOR
    return colors


def prediction_image_figure(
    image: np.ndarray, probabilities: np.ndarray, true_label: int | None, title: str = ""
) -> go.Figure:
    """One picture with the tutorial's label under it (blue when right, red when wrong)."""
    label, color = prediction_label(probabilities, true_label)
    layout = image_axes()
    layout["xaxis"]["title"] = {
        "text": label,
        "font": {"color": color, "size": LABEL_FONT_SIZE},
        "standoff": 6,
    }
    layout.update(
        width=IMAGE_FIGURE_PX,
        height=IMAGE_FIGURE_PX + (65 if title else 40),
        margin={"l": 4, "r": 4, "t": 30 if title else 5, "b": 35},
        plot_bgcolor=BACKGROUND_COLOR,
    )
    if title:
        layout["title"] = {
            "text": title,
            "x": 0.02,
            "xanchor": "left",
            "font": {"size": LABEL_FONT_SIZE},
        }
    heatmap = go.Heatmap(
        z=pixels_01(image),
        zmin=0,
        zmax=1,
        colorscale=BINARY_COLORSCALE,
        showscale=False,
        hovertemplate="row %{y}, column %{x}: %{z:.2f}<extra></extra>",
    )
    return go.Figure(heatmap, layout)


def value_bars_figure(
    probabilities: np.ndarray,
    true_label: int | None,
    font_size: int = TICK_FONT_SIZE,
    height: int | None = None,
) -> go.Figure:
    """Ten confidence bars with class names; hover shows the exact probability. Bigger
    `font_size` and `height` for a projector (the Present page)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    bars = go.Bar(
        x=list(CLASS_NAMES),
        y=probabilities,
        marker_color=bar_colors(probabilities, true_label),
        customdata=np.arange(len(CLASS_NAMES)),
        hovertemplate="%{x}: %{y:.2%}<br>probability %{y:.6f}<extra></extra>",
    )
    layout = {
        "height": height or IMAGE_FIGURE_PX + 40,
        "margin": {"l": 4 * font_size, "r": 5, "t": 8, "b": 8 * font_size},
        "yaxis": {
            "range": [0, 1],
            "tickformat": ".0%",
            "tickfont": {"size": font_size},
            "gridcolor": GRID_COLOR,
        },
        "xaxis": {"tickangle": -55, "tickfont": {"size": font_size}, "automargin": True},
        "plot_bgcolor": BACKGROUND_COLOR,
        "bargap": 0.25,
    }
    return go.Figure(bars, layout)


# --- The grid ------------------------------------------------------------------------------

# Cell geometry in image pixels: margin, picture, gap, bar panel, margin; caption below.
CELL_MARGIN = 2
BAR_GAP = 3
BAR_PANEL_WIDTH = 28
BAR_PITCH = BAR_PANEL_WIDTH / 10
BAR_WIDTH = 2.1
CELL_WIDTH = CELL_MARGIN + 28 + BAR_GAP + BAR_PANEL_WIDTH + CELL_MARGIN
# Bar colours in the grid as numbers on a four-colour scale (see bar_color_codes).
OTHER_CODE, RIGHT_CODE, WRONG_CODE, UNKNOWN_CODE = 0, 1, 2, 3
GRID_BAR_COLORSCALE = [
    [0.0, OTHER_COLOR],
    [1 / 3, RIGHT_COLOR],
    [2 / 3, WRONG_COLOR],
    [1.0, UNKNOWN_COLOR],
]


def bar_color_codes(
    probabilities: np.ndarray, labels: np.ndarray, doubtful_labels: bool = False
) -> np.ndarray:
    """bar_colors for many rows at once, as codes into GRID_BAR_COLORSCALE (n, 10); with
    `doubtful_labels`, as bar_colors without a true label (the model's answer in the
    neutral colour: neither right nor wrong).

    Plotly validates a list of colour strings one by one (about 0.1 ms each): numbers on a
    three-colour scale keep a 10 x 6 grid of bars fast to build.
    """
    probabilities = np.asarray(probabilities)
    rows = np.arange(len(probabilities))
    codes = np.full(probabilities.shape, OTHER_CODE, dtype=np.int8)
    if doubtful_labels:
        codes[rows, probabilities.argmax(axis=1)] = UNKNOWN_CODE
        return codes
    codes[rows, probabilities.argmax(axis=1)] = WRONG_CODE
    codes[rows, np.asarray(labels, dtype=np.int64)] = RIGHT_CODE
    return codes


def prediction_grid_figure(
    images: np.ndarray,
    probabilities: np.ndarray,
    labels: np.ndarray,
    indices: Sequence[int] | np.ndarray,
    columns: int,
    highlight_index: int | None = None,
    width_px: int = 440,
    doubtful_labels: bool = False,
) -> go.Figure:
    """The tutorial's grid of predictions: each cell a picture, its label, and ten bars.
    With `doubtful_labels` (pictures whose label may be wrong) the captions and the
    model's bar are in the neutral colour: red would say the model is wrong.

    images (n, 28, 28) uint8, probabilities (n, 10), labels (n,), indices: the test-set
    number of each image, which a click on its picture (or one of its bars) reports as
    customdata. A handful of traces whatever the size of the grid (one mosaic image, one
    bar trace, one marker trace, two caption traces: right in blue, wrong in red), so that
    it stays fast to build and to send.
    """
    images, labels = np.asarray(images), np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    index_array = np.asarray(indices, dtype=np.int64)
    count = len(images)
    if not (len(probabilities) == len(labels) == len(index_array) == count):
        raise ValueError("Give one probability row, label and index per image.")
    if columns < 1:
        raise ValueError(f"columns must be at least 1, not {columns}.")
    scale = width_px / (columns * CELL_WIDTH)  # screen pixels per image pixel
    captions = [prediction_label(probabilities[i], int(labels[i])) for i in range(count)]
    if doubtful_labels:
        captions = [(text, UNKNOWN_COLOR) for text, _ in captions]
    texts, font_size, lines = fit_captions([text for text, _ in captions], CELL_WIDTH * scale)
    caption_height = math.ceil(lines * font_size * CAPTION_LINE_HEIGHT / scale) + CELL_MARGIN
    cell_height = CELL_MARGIN + 28 + caption_height
    rows = max(1, math.ceil(count / columns))

    row_of, column_of = np.divmod(np.arange(count), columns)
    tops = row_of * cell_height + CELL_MARGIN
    lefts = column_of * CELL_WIDTH + CELL_MARGIN
    panel_lefts = lefts + 28 + BAR_GAP
    mosaic = np.full((rows * cell_height, columns * CELL_WIDTH), 255, dtype=np.uint8)
    for position in range(count):
        top, left, panel = tops[position], lefts[position], panel_lefts[position]
        mosaic[top : top + 28, left : left + 28] = 255 - images[position]
        mosaic[top : top + 28, panel : panel + BAR_PANEL_WIDTH] = BAR_PANEL_GREY
    # go.Image pixel i covers [i - 0.5, i + 0.5]; bars grow upwards from the panel's bottom.
    bar_x = panel_lefts[:, None] - 0.5 + (np.arange(10)[None, :] + 0.5) * BAR_PITCH
    bar_base = np.repeat(tops + 27.5, 10)
    bar_text = [f"{CLASS_NAMES[k]}: {p:.2%}" for row in probabilities for k, p in enumerate(row)]
    by_colour = {
        colour: [position for position in range(count) if captions[position][1] == colour]
        for colour in (RIGHT_COLOR, WRONG_COLOR, UNKNOWN_COLOR)
    }
    caption_x = lefts - CELL_MARGIN + CELL_WIDTH / 2 - 0.5
    caption_y = tops + 28 + caption_height / 2 - 0.5
    hover = [
        f"Image {index}: true {CLASS_NAMES[label]}, predicted "
        f"{CLASS_NAMES[int(np.argmax(row))]} ({float(np.max(row)):.1%})<br>Click to inspect"
        for index, label, row in zip(index_array, labels, probabilities, strict=True)
    ]
    traces = [
        go.Image(source=png_data_uri(mosaic), hoverinfo="skip", name="mosaic"),
        go.Bar(
            x=bar_x.ravel(),
            y=-28 * probabilities.ravel(),  # y grows downwards, as in an image
            base=bar_base,
            width=BAR_WIDTH,
            marker={
                "color": bar_color_codes(probabilities, labels, doubtful_labels).ravel(),
                "colorscale": GRID_BAR_COLORSCALE,
                "cmin": 0,
                "cmax": UNKNOWN_CODE,
                "line": {"width": 0},
            },
            customdata=np.repeat(index_array, 10),
            hovertext=bar_text,
            hovertemplate="Image %{customdata}<br>%{hovertext}<extra></extra>",
            # A clicked bar must not fade the others.
            selected={"marker": {"opacity": 1}},
            unselected={"marker": {"opacity": 1}},
            name="bars",
        ),
        clickable_markers(lefts + 13.5, tops + 13.5, index_array.tolist(), 28 * scale, hover),
    ]
    caption_kinds = [(RIGHT_COLOR, "captions right"), (WRONG_COLOR, "captions wrong")]
    if doubtful_labels:
        caption_kinds = [(UNKNOWN_COLOR, "captions doubtful")]
    for color, name in caption_kinds:
        positions = by_colour[color]
        texts_here = [texts[position] for position in positions]
        trace = caption_trace(
            caption_x[positions], caption_y[positions], texts_here, font_size, color, name
        )
        traces.append({**trace, "customdata": index_array[positions].tolist()})
    shapes = []
    if highlight_index is not None and int(highlight_index) in index_array:
        position = int(np.flatnonzero(index_array == int(highlight_index))[0])
        left, top = float(lefts[position]), float(tops[position])
        shapes.append(frame(left - 1.5, left + 28.5, top - 1.5, top + 28.5, width=3))
    height_units, width_units = mosaic.shape
    layout = image_canvas_layout(width_units, height_units, scale, shapes, min_height=40)
    return go.Figure(traces, layout)


# --- One picture's history -----------------------------------------------------------------

HISTORY_FIGURE_HEIGHT = 230


def picture_history_figure(picture, shown_epoch: int | None = None) -> go.Figure:
    """How sure the model was of one picture, epoch by epoch (verify_view.PictureHistory).

    A blue line for the probability of the true class; red points and lines for the
    predicted class's probability only in the epochs it was wrong (a gap where it was
    right: there the predicted class is the true one, already blue). A dotted line marks
    the epoch the page shows.
    """
    epochs = np.arange(1, picture.epochs + 1)
    true_name = CLASS_NAMES[picture.true_label]
    wrong = picture.predicted != picture.true_label
    wrong_y = np.where(wrong, picture.predicted_probability, np.nan)
    wrong_names = [CLASS_NAMES[int(k)] for k in picture.predicted]
    # Name the wrong class where it starts (not at every epoch it stays the same).
    starts = wrong & np.r_[True, (picture.predicted[1:] != picture.predicted[:-1]) | ~wrong[:-1]]
    labels = [name if start else "" for name, start in zip(wrong_names, starts, strict=True)]
    label_positions = ["bottom center" if y > 0.8 else "top center" for y in wrong_y]
    traces = [
        go.Scatter(
            x=epochs,
            y=picture.true_probability,
            mode="lines+markers",
            line={"color": RIGHT_COLOR, "width": 2},
            marker={"size": 6},
            name=f"true class ({true_name})",
            hovertemplate=f"epoch %{{x}}: {true_name} %{{y:.1%}}<extra></extra>",
        ),
        go.Scatter(
            x=epochs,
            y=wrong_y,
            mode="lines+markers+text",
            line={"color": WRONG_COLOR, "width": 2},
            marker={"size": 7, "symbol": "x"},
            text=labels,
            textposition=label_positions,
            textfont={"color": WRONG_COLOR, "size": SMALL_FONT_SIZE},
            cliponaxis=False,
            connectgaps=False,
            name="wrongly predicted class",
            customdata=wrong_names,
            hovertemplate="epoch %{x}: predicted %{customdata} %{y:.1%} (wrong)<extra></extra>",
            showlegend=bool(wrong.any()),
        ),
    ]
    shapes = []
    if shown_epoch is not None:
        line = {"color": OTHER_COLOR, "dash": "dot", "width": 1}
        shapes.append(
            {"type": "line", "x0": shown_epoch, "x1": shown_epoch, "yref": "paper"}
            | {"y0": 0, "y1": 1, "line": line}
        )
    last = max(picture.epochs, 1)
    layout = {
        "height": HISTORY_FIGURE_HEIGHT,
        "margin": {"l": 50, "r": 10, "t": 30, "b": 40},
        "plot_bgcolor": BACKGROUND_COLOR,
        "showlegend": True,
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "legend_font": {"size": SMALL_FONT_SIZE},
        "hovermode": "closest",
        "dragmode": False,
        "shapes": shapes,
        "xaxis": {
            "title": {"text": "epoch", "standoff": 4},
            "range": [0.7, last + 0.3],
            "tickmode": "linear" if last <= 20 else "auto",
            "tick0": 1,
            "dtick": 1,
            "gridcolor": GRID_COLOR,
            "fixedrange": True,
        },
        "yaxis": {
            "range": [-0.03, 1.03],
            "tickformat": ".0%",
            "tickfont": {"size": TICK_FONT_SIZE},
            "title": {"text": "probability", "font": {"size": SMALL_FONT_SIZE}},
            "gridcolor": GRID_COLOR,
            "fixedrange": True,
        },
    }
    return go.Figure(traces, layout)


# --- Saliency ------------------------------------------------------------------------------


def saliency_figure(image: np.ndarray, saliency_map: np.ndarray, title: str = "") -> go.Figure:
    """The picture in grey with the saliency map laid over it as a warm, see-through heatmap."""
    traces = [
        go.Heatmap(
            z=pixels_01(image) * 0.6,  # a paler picture lets the overlay stand out
            zmin=0,
            zmax=1,
            colorscale=BINARY_COLORSCALE,
            showscale=False,
            hoverinfo="skip",
        ),
        go.Heatmap(
            z=np.asarray(saliency_map, dtype=np.float64),
            zmin=0,
            zmax=1,
            colorscale=SALIENCY_COLORSCALE,
            colorbar={"title": {"text": "influence"}, "thickness": 12, "len": 0.8},
            hovertemplate="row %{y}, column %{x}: influence %{z:.2f}<extra></extra>",
        ),
    ]
    layout = image_axes()
    layout.update(
        width=300,
        height=260,
        margin={"l": 10, "r": 10, "t": 30 if title else 10, "b": 10},
        plot_bgcolor=BACKGROUND_COLOR,
    )
    if title:
        layout["title"] = {"text": title, "x": 0.05, "font": {"size": 14}}
    return go.Figure(traces, layout)
