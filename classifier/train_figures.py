"""The figures of the Train page: the curves, and the live grid of test pictures; plotly
figures, built here and rendered by the page."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from classifier.style import RIGHT_COLOR, VALIDATION_COLOR
from classifier.text import plotly_text
from classifier.verify_figures import prediction_grid_figure

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
    """Loss and accuracy after each training batch (Keras' running means within an epoch)."""
    rows = _thin(batches, MAX_BATCH_POINTS)
    x = [row["epoch"] - 1 + row["batch"] / max(1, row.get("steps", 1)) for row in rows]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss per batch", "Accuracy per batch"))
    for column, key in ((1, "loss"), (2, "accuracy")):
        figure.add_trace(
            go.Scatter(
                x=x,
                y=[row.get(key) for row in rows],
                mode="lines",
                name=key,
                line={"color": TRAIN_COLOR, "width": 1.5},
                hovertemplate="epoch %{x:.2f}<br>" + key + " %{y:.4f}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=column,
        )
    figure.update_xaxes(title_text="epoch")
    return _styled(figure)


def epoch_curves_figure(metrics: list[dict]) -> go.Figure:
    """Training and validation loss and accuracy at the end of each epoch."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss per epoch", "Accuracy per epoch"))
    epochs = [row["epoch"] for row in metrics]
    for column, key in ((1, "loss"), (2, "accuracy")):
        for prefix, label, color in (
            ("", "training", TRAIN_COLOR),
            ("val_", "validation", VALIDATION_COLOR),
        ):
            values = [row.get(prefix + key) for row in metrics]
            if all(value is None for value in values):
                continue  # no validation split: no validation curve
            figure.add_trace(
                go.Scatter(
                    x=epochs,
                    y=values,
                    mode="lines+markers",
                    name=label,
                    legendgroup=label,
                    showlegend=column == 1,
                    line={"color": color},
                    hovertemplate=f"epoch %{{x}}<br>{label} {key} %{{y:.4f}}<extra></extra>",
                ),
                row=1,
                col=column,
            )
    figure.update_xaxes(title_text="epoch", dtick=1 if len(epochs) <= 20 else None)
    return _styled(figure)


def compare_runs_figure(curves: dict[str, list[dict]], key: str = "val_accuracy") -> go.Figure:
    """One line per run for one per-epoch metric, to compare runs."""
    figure = go.Figure()
    for name, metrics in curves.items():
        figure.add_trace(
            go.Scatter(
                x=[row["epoch"] for row in metrics],
                y=[row.get(key) for row in metrics],
                mode="lines+markers",
                name=plotly_text(name),  # a run's name is user text
                hovertemplate=f"%{{fullData.name}}<br>epoch %{{x}}<br>{key} %{{y:.4f}}"
                "<extra></extra>",
            )
        )
    figure.update_layout(
        title=f"{key} per epoch", xaxis_title="epoch", yaxis_title=key, showlegend=True
    )  # a legend even for one run: which run it is
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
