"""The figures of the Train page: the curves, and the live grid of test pictures; plotly
figures, built here and rendered by the page."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from classifier.figures.style import RIGHT_COLOR, TEST_COLOR, VALIDATION_COLOR, run_styles
from classifier.figures.verify import prediction_grid_figure
from classifier.views.text import plotly_text
from classifier.views.train import METRIC_NAMES, batch_series

TRAIN_COLOR = RIGHT_COLOR  # training curves in the app's blue
MAX_BATCH_POINTS = 3000  # a 50-epoch run at batch 32 logs 94k batches; plotly needs fewer
LIVE_COLUMNS = 3  # the tutorial's figure of 15 pictures: 5 rows of 3
LIVE_GRID_PX = 440


def _thin(rows: list[dict], limit: int) -> list[dict]:
    """Every k-th row so at most `limit` remain, always keeping the newest."""
    if len(rows) <= limit:
        return rows
    step = -(-len(rows) // limit)
    return rows[::step] + ([rows[-1]] if (len(rows) - 1) % step else [])


def batch_curves_figure(batches: list[dict]) -> go.Figure:
    """Loss and accuracy batch by batch, each a mean over the last batches (train_view.
    batch_series), so that epoch boundaries do not look like glitches."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss per batch", "Accuracy per batch"))
    for column, key in ((1, "loss"), (2, "accuracy")):
        x, values = batch_series(batches, key)
        points = _thin(list(zip(x, values, strict=True)), MAX_BATCH_POINTS)
        figure.add_trace(
            go.Scatter(
                x=[point[0] for point in points],
                y=[point[1] for point in points],
                mode="lines",
                name=key,
                line={"color": TRAIN_COLOR, "width": 1.5},
                hovertemplate="epoch %{x:.2f}<br>"
                + METRIC_NAMES[key].lower()
                + (" %{y:.1%}" if key == "accuracy" else " %{y:.3f}")
                + " (mean of the last batches)<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=column,
        )
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(tickformat=".0%", row=1, col=2)
    return _styled(figure)


def epoch_curves_figure(metrics: list[dict]) -> go.Figure:
    """Loss and accuracy at the end of each epoch: on the training pictures, on the
    validation pictures when some were held out, and on the test pictures (scored every
    epoch by the recorder; the presets hold no validation pictures out)."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss per epoch", "Accuracy per epoch"))
    epochs = [row["epoch"] for row in metrics]
    for column, key in ((1, "loss"), (2, "accuracy")):
        for prefix, label, color in (
            ("", "training", TRAIN_COLOR),
            ("val_", "validation", VALIDATION_COLOR),
            ("test_", "test", TEST_COLOR),
        ):
            values = [row.get(prefix + key) for row in metrics]
            if all(value is None for value in values):
                continue  # no validation split (or an old run): no such curve
            figure.add_trace(
                go.Scatter(
                    x=epochs,
                    y=values,
                    mode="lines+markers",
                    name=label,
                    legendgroup=label,
                    showlegend=column == 1,
                    line={"color": color},
                    hovertemplate=f"epoch %{{x}}<br>{label} {key} "
                    + ("%{y:.1%}" if key == "accuracy" else "%{y:.4f}")
                    + "<extra></extra>",
                ),
                row=1,
                col=column,
            )
    figure.update_xaxes(title_text="epoch", dtick=1 if len(epochs) <= 20 else None)
    figure.update_yaxes(tickformat=".0%", row=1, col=2)
    return _styled(figure)


def compare_runs_figure(
    curves: dict[str, tuple[str, list[dict]]], key: str = "test_accuracy"
) -> go.Figure:
    """One line per run for one per-epoch metric: curves maps a run id to (its label, its
    epoch rows). Each run has its own colour and dash (style.run_styles); the epochs are
    whole numbers on the axis."""
    name = METRIC_NAMES.get(key, key)
    styles = run_styles(curves)
    figure = go.Figure()
    last_epoch = 1
    values: list[float] = []
    for run_id, (label, metrics) in curves.items():
        rows = [row for row in metrics if row.get(key) is not None]
        if not rows:
            continue  # a run stopped before its first epoch ended: nothing to draw
        values += [row[key] for row in rows]
        last_epoch = max([last_epoch, *(row["epoch"] for row in rows)])
        colour, dash = styles[run_id]
        figure.add_trace(
            go.Scatter(
                x=[row["epoch"] for row in rows],
                y=[row[key] for row in rows],
                mode="lines+markers",
                name=plotly_text(label),  # a run's name is user text
                line={"color": colour, "dash": dash},
                hovertemplate="%{fullData.name}<br>epoch %{x}<br>"
                + name.lower()
                + (" %{y:.1%}" if "accuracy" in key else " %{y:.4f}")
                + "<extra></extra>",
            )
        )
    figure.update_layout(
        title=f"{name}, epoch by epoch", xaxis_title="epoch", yaxis_title=name, showlegend=True
    )  # a legend even for one run: which run it is
    # Whole epochs only: about ten ticks at most, never "1.5".
    figure.update_xaxes(tick0=1, dtick=max(1, math.ceil(last_epoch / 10)), tickformat="d")
    if "accuracy" in key:
        # Never beyond 0-100%, even around a single point (plotly pads it to -19%..181%).
        low, high = min(values, default=0.0), max(values, default=1.0)
        margin = max(0.02, (high - low) * 0.1)
        figure.update_yaxes(
            tickformat=".0%", range=[max(0.0, low - margin), min(1.0, high + margin)]
        )
    return _styled(figure)


def live_grid_figure(
    images: np.ndarray,
    probabilities: np.ndarray,
    labels: np.ndarray,
    indices: np.ndarray,
    width_px: int = LIVE_GRID_PX,
) -> go.Figure:
    """The tutorial's figure of a few test pictures as the model in training sees them: the
    Verify page's prediction grid in three columns, whose hover says nothing about clicking
    (there is nothing to click here)."""
    figure = prediction_grid_figure(
        images, probabilities, labels, indices, LIVE_COLUMNS, width_px=width_px
    )
    for trace in figure.data:
        if trace.name == "tiles":
            trace.hovertext = [text.split("<br>")[0] for text in trace.hovertext]
    return figure


def _styled(figure: go.Figure) -> go.Figure:
    figure.update_layout(
        height=330,
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.25},
        template="plotly_white",
    )
    return figure
