"""What the Train page shows about runs: progress of a live job, the run table, and the
curves (plotly figures, built here and rendered by the page)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from classifier.runs import RunInfo

TRAIN_COLOR = "#1f77b4"  # the tutorial's blue
VALIDATION_COLOR = "#ff7f0e"
MAX_BATCH_POINTS = 3000  # a 50-epoch run at batch 32 logs 94k batches; plotly needs fewer


@dataclass(frozen=True)
class Progress:
    epoch: int  # the epoch in progress, 1-based
    epochs: int
    batch: int
    steps: int
    fraction: float  # of the whole run, 0-1
    elapsed_s: float
    eta_s: float | None

    @property
    def text(self) -> str:
        eta = f", about {format_duration(self.eta_s)} left" if self.eta_s is not None else ""
        return (
            f"Epoch {self.epoch} of {self.epochs}, batch {self.batch} of {self.steps} "
            f"({format_duration(self.elapsed_s)} elapsed{eta})"
        )


def training_progress(info: RunInfo, batches: list[dict], now: float | None = None) -> Progress:
    """Where a live run stands, from its status and its batch log."""
    now = time.time() if now is None else now
    epochs = max(1, info.epochs_planned)
    last = batches[-1] if batches else {}
    epoch = int(last.get("epoch", 1))
    batch = int(last.get("batch", 0))
    steps = int(last.get("steps", info.status_data.get("steps_per_epoch") or 0))
    done = (epoch - 1 + (batch / steps if steps else 0.0)) / epochs
    fraction = min(1.0, max(0.0, done))
    elapsed = max(0.0, now - (info.started_at or now))
    eta = elapsed * (1 - fraction) / fraction if fraction > 0.01 else None
    return Progress(epoch, epochs, batch, steps, fraction, elapsed, eta)


def config_summary(config) -> str:
    """One sentence saying what pressing Train will do."""
    images = f"{config.train_limit:,}" if config.train_limit else "all 60,000"
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    held_out = (
        f", {config.validation_split:.0%} held out for validation"
        if config.validation_split
        else ""
    )
    return (
        f"Will train the {config.preset} for {epochs} on {images} training images{held_out}, "
        f"{config.batch_size} images per batch, learning rate {config.learning_rate:g}."
    )


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def run_table(runs: list[RunInfo]) -> list[dict]:
    """One row per run, for st.dataframe (rendered as text, never HTML)."""
    return [
        {
            "run": run.run_id,
            "name": run.name,
            "preset": run.preset,
            "status": run.status,
            "epochs": f"{run.epochs_done}/{run.epochs_planned}",
            "test accuracy": run.test_accuracy,
            "time": format_duration(run.duration_s),
            "date": datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M")
            if run.started_at
            else "",
        }
        for run in runs
    ]


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
                name=name,
                hovertemplate=f"{name}<br>epoch %{{x}}<br>{key} %{{y:.4f}}<extra></extra>",
            )
        )
    figure.update_layout(title=f"{key} per epoch", xaxis_title="epoch", yaxis_title=key)
    return _styled(figure)


def _styled(figure: go.Figure) -> go.Figure:
    figure.update_layout(
        height=330,
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.25},
        template="plotly_white",
    )
    return figure


_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~$:@")


# GFM turns bare "http://...", "www.x.y" and "a@b.c" into links after escapes are resolved, so
# a backslash cannot stop it; an invisible word joiner before ".", ":" and "@" does.
_NO_AUTOLINK = set(".:@")
WORD_JOINER = "\u2060"


def escape_markdown(text: str) -> str:
    """User text (run names) for st.markdown: shown literally, never as markup, HTML or a link."""
    return "".join(
        (WORD_JOINER if char in _NO_AUTOLINK else "")
        + ("\\" + char if char in _MARKDOWN_SPECIAL else char)
        for char in str(text)
    )
