"""Where the model goes wrong, on the Verify page: the confusion matrix (a click on a square
lists exactly those pictures; while replaying, the squares that changed since the epoch
before) and each class's accuracy. Each function returns a `go.Figure` and never renders it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from classifier.data import CLASS_NAMES
from classifier.figures.grid import MARKER_OPACITY, clickable_table_layout, frame
from classifier.figures.style import (
    BACKGROUND_COLOR,
    GRID_COLOR,
    RIGHT_COLOR,
    SMALL_FONT_SIZE,
    TEXT_COLOR,
    WRONG_COLOR,
)

CONFUSION_SIZE_PX = 560
CONFUSION_MARGINS = {"l": 100, "r": 10, "t": 40, "b": 100}


# One colour scale for both kinds of cell: 0-0.5 white to red for mistakes (by count,
# relative to the largest mistake), 0.5-1 light to dark blue for right answers (by share of
# the true class). Numbers, not colour strings: plotly validates strings one by one.
CONFUSION_COLORSCALE = [
    [0.0, "#ffffff"],
    [0.5, "#a50f15"],
    [0.5, "#c6dbef"],
    [1.0, "#08306b"],
]
DARK_CELL = 0.55  # cells darker than this (on either half of the scale) get white text


def confusion_cell_levels(matrix: np.ndarray) -> np.ndarray:
    """Each cell's darkness in 0-1: the share of its row on the diagonal, and the square
    root of its count relative to the largest mistake off it (0 for no mistake)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    diagonal = np.eye(len(matrix), dtype=bool)
    worst = max(float(matrix[~diagonal].max(initial=0)), 1.0)
    return np.where(diagonal, matrix / totals, np.sqrt(matrix / worst))


def confusion_matrix_figure(
    matrix: np.ndarray,
    selected: tuple[int, int] | None = None,
    changes: Sequence[str] | None = None,
) -> go.Figure:
    """Counts of (true, predicted) pairs as clickable squares with the count on each.

    customdata of each square is [true, predicted]; rows are true classes (top to bottom),
    columns predicted ones. `selected` gets an orange frame. `changes`, one text per cell
    row by row (verify_view.matrix_changes), is added to each cell's hover text.
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    classes = len(matrix)
    totals = np.maximum(matrix.sum(axis=1), 1)
    levels = confusion_cell_levels(matrix).ravel()
    diagonal = np.eye(classes, dtype=bool).ravel()
    color_values = np.where(diagonal, 0.5 + 0.5 * levels, 0.5 * np.minimum(levels, 0.999))
    true_of, predicted_of = np.divmod(np.arange(classes * classes), classes)
    cell_px = (CONFUSION_SIZE_PX - CONFUSION_MARGINS["l"] - CONFUSION_MARGINS["r"]) / classes
    changes = [f"<br>{text}" for text in changes] if changes else [""] * len(true_of)
    hover = [
        f"True {CLASS_NAMES[t]}, predicted {CLASS_NAMES[p]}: {matrix[t, p]:,} images "
        f"({matrix[t, p] / totals[t]:.1%} of {CLASS_NAMES[t]}){change}<br>Click to see them"
        for t, p, change in zip(true_of, predicted_of, changes, strict=True)
    ]
    counts = [f"{count:,}" for count in matrix.ravel()]
    traces = [
        go.Scatter(
            x=predicted_of,
            y=true_of,
            # A list of pairs: a 2-D numpy array reaches plotly.js as a flat typed array.
            customdata=np.stack([true_of, predicted_of], axis=1).tolist(),
            # Nearly invisible click targets: the colours are the heatmap below, which
            # shrinks with the chart on a narrow screen (marker sizes are fixed pixels).
            mode="markers",
            marker={"symbol": "square", "size": 0.8 * cell_px, "color": TEXT_COLOR},
            opacity=MARKER_OPACITY,
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            selected={"marker": {"opacity": MARKER_OPACITY}},
            unselected={"marker": {"opacity": MARKER_OPACITY}},
            name="cells",
        )
    ]
    dark = levels > DARK_CELL
    for mask, color in ((dark, "#ffffff"), (~dark, TEXT_COLOR)):
        traces.append(
            go.Scatter(
                x=predicted_of[mask],
                y=true_of[mask],
                text=[count for count, keep in zip(counts, mask, strict=True) if keep],
                mode="text",
                textfont={"color": color, "size": SMALL_FONT_SIZE},
                hoverinfo="skip",
                name="counts",
            )
        )
    traces.append(
        go.Heatmap(
            x=predicted_of,
            y=true_of,
            z=color_values,
            text=counts,
            zmin=0,
            zmax=1,
            colorscale=CONFUSION_COLORSCALE,
            showscale=False,
            xgap=2,
            ygap=2,
            hoverinfo="skip",
            name="colours",
        )
    )
    shapes = []
    if selected is not None:
        true, predicted = selected
        half = 0.5 - 1 / cell_px  # inside the gap between cells
        shapes.append(frame(predicted - half, predicted + half, true - half, true + half, 4))
    ticks = {
        "tickvals": list(range(classes)),
        "ticktext": list(CLASS_NAMES[:classes]),
        "showgrid": False,
        "zeroline": False,
        "fixedrange": True,
    }
    xaxis = {
        **ticks,
        "range": [-0.5, classes - 0.5],
        "title": {"text": "predicted class"},
        "tickangle": -45,
    }
    yaxis = {**ticks, "range": [classes - 0.5, -0.5], "title": {"text": "true class"}}
    size = CONFUSION_SIZE_PX
    layout = clickable_table_layout(size, size, CONFUSION_MARGINS, shapes, xaxis, yaxis)
    return go.Figure(traces, layout)


def per_class_accuracy_figure(class_accuracy: np.ndarray, overall: float) -> go.Figure:
    """Per true class, the share of right answers (blue) and of wrong ones (red) as one
    clickable bar, with the overall accuracy marked. Red means wrong here too."""
    class_accuracy = np.nan_to_num(np.asarray(class_accuracy, dtype=np.float64))
    parts = (
        (class_accuracy, RIGHT_COLOR, 1.0, "right", [f"{value:.1%}" for value in class_accuracy]),
        (1 - class_accuracy, WRONG_COLOR, 0.35, "wrong", None),
    )
    bars = [
        go.Bar(
            x=share,
            y=list(CLASS_NAMES),
            orientation="h",
            marker={"color": color, "opacity": opacity, "line": {"width": 0}},
            customdata=np.arange(len(CLASS_NAMES)),
            text=text,
            textposition="inside",
            insidetextanchor="start",  # away from the overall line, near the right end
            textangle=0,
            textfont={"color": "#ffffff", "size": SMALL_FONT_SIZE},
            hovertemplate=f"%{{y}}: %{{x:.2%}} {word}<br>Click to see this class<extra></extra>",
            selected={"marker": {"opacity": opacity}},
            unselected={"marker": {"opacity": opacity}},
            name=word,
        )
        for share, color, opacity, word, text in parts
    ]
    overall_line = {
        "type": "line",
        "x0": overall,
        "x1": overall,
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "line": {"color": TEXT_COLOR, "dash": "dash", "width": 1},
    }
    overall_label = {
        "x": overall,
        "yref": "paper",
        "y": 1,
        "yanchor": "bottom",
        "text": f"all classes {overall:.1%}",
        "showarrow": False,
        "font": {"size": SMALL_FONT_SIZE},
    }
    layout = {
        "height": CONFUSION_SIZE_PX - 60,
        "margin": {"l": 90, "r": 20, "t": 40, "b": 60},
        "barmode": "stack",
        "showlegend": False,
        "uniformtext": {"minsize": 9, "mode": "hide"},
        "xaxis": {
            "range": [0, 1],
            "tickformat": ".0%",
            "title": {"text": "right answers (blue)<br>wrong ones (red)"},
            "gridcolor": GRID_COLOR,
            "fixedrange": True,
        },
        "yaxis": {"autorange": "reversed", "fixedrange": True},
        "shapes": [overall_line],
        "annotations": [overall_label],
        "plot_bgcolor": BACKGROUND_COLOR,
        "dragmode": False,
    }
    return go.Figure(bars, layout)
