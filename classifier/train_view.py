"""The logic behind the Train page, in plain Python: where a live job stands, what pressing
Train will do, the run table, the page's session-state keys and its texts. The curves are
in train_figures.py."""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from classifier.models import OPTIMIZERS, PRESETS, SCHEDULES, TrainConfig
from classifier.runs import RunInfo
from classifier.text import format_duration

POLL_SECONDS = 1.0  # how often the live panel reads the run store
# The first-run demo: the tutorial's model, about 85% right in about a minute.
QUICK_EPOCHS = 3
QUICK_NAME = "Quick MLP"
# The choices of the sliders that offer a few values.
BATCH_SIZES = [16, 32, 64, 128, 256, 512]
LEARNING_RATES = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]
HIDDEN_UNITS = [32, 64, 128, 256, 512]
STATUS_COLORS = {"completed": "green", "stopped": "orange", "failed": "red", "interrupted": "red"}


class Keys:
    """The page's session-state keys, named once (each setting's widget is `train_<field>`)."""

    PRESET = "train_preset"
    NAME = "train_name"
    SHOWN_RUN = "train_shown_run"  # the run whose results are shown after a job ends
    URL_RUN = "train_url_run"  # the ?run= value this session last wrote or followed
    VIEW_RUN = "train_view_run"
    DETAILS = "train_details"  # the per-batch curves of a finished run are shown
    COMPARE = "train_compare"
    COMPARE_METRIC = "train_compare_metric"
    DELETE_RUN = "train_delete_run"
    DELETE_CONFIRM = "train_delete_confirm"


COMPARE_CURVES = ["val_accuracy", "accuracy", "val_loss", "loss"]


def choose_shown_run(state: MutableMapping, url_run: str | None, run_ids: list[str]) -> None:
    """Which run the results panel shows: a job that just ended, else a link that is new
    (or edited in the address bar), else the user's last choice in the picker."""
    wanted = state.pop(Keys.SHOWN_RUN, None)
    if wanted is None and url_run != state.get(Keys.URL_RUN):
        wanted = url_run
    if wanted in run_ids:
        state[Keys.VIEW_RUN] = wanted


def setting_key(field: str) -> str:
    """The session-state key of the widget of one TrainConfig field."""
    return f"train_{field}"


@dataclass(frozen=True)
class Setting:
    """One widget of the settings: which TrainConfig field it sets, and how."""

    field: str
    label: str
    widget: str  # "slider", "select_slider", "selectbox", "checkbox" or "number"
    options: tuple = ()  # (low, high[, step]) for a slider or number; the choices otherwise
    more: bool = False  # shown under "More settings"

    @property
    def key(self) -> str:
        return setting_key(self.field)


SETTINGS = (
    Setting("epochs", "Epochs (passes over all training images)", "slider", (1, 50)),
    Setting("batch_size", "Batch size (images per update)", "select_slider", BATCH_SIZES),
    Setting("learning_rate", "Learning rate (step size)", "select_slider", LEARNING_RATES),
    Setting("optimizer", "Optimizer", "selectbox", OPTIMIZERS, more=True),
    Setting("schedule", "Learning-rate schedule", "selectbox", SCHEDULES, more=True),
    Setting("hidden_units", "Hidden units", "select_slider", HIDDEN_UNITS, more=True),
    Setting("dropout", "Dropout", "slider", (0.0, 0.7, 0.05), more=True),
    Setting(
        "validation_split",
        "Validation split (held out to check for overfitting)",
        "slider",
        (0.0, 0.3, 0.05),
        more=True,
    ),
    Setting(
        "train_limit", "Training images (0 = all 60,000)", "slider", (0, 60_000, 1000), more=True
    ),
    Setting("augment", "Augment (random flips and small shifts)", "checkbox", more=True),
    Setting("seed", "Random seed", "number", (0, 2**31 - 1), more=True),
)


def quick_config() -> TrainConfig:
    """The settings of the first-run demo's training."""
    return replace(PRESETS["Tutorial MLP"].defaults, epochs=QUICK_EPOCHS)


def preset_state(preset: str) -> dict[str, Any]:
    """The session state that sets every setting's widget to a preset's value."""
    defaults = PRESETS[preset].defaults.to_dict()
    return {setting_key(setting.field): defaults[setting.field] for setting in SETTINGS}


def settings_config(preset: str, values: dict[str, Any]) -> TrainConfig:
    """The config that the settings' widgets describe (not yet validated)."""
    return replace(PRESETS[preset].defaults, **values)


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


def score_cards(info: RunInfo) -> list[tuple[str, str, str | None]]:
    """The figures above a finished run's curves: (label, value, explanation)."""
    accuracy = f"{info.test_accuracy:.2%}" if info.test_accuracy is not None else "-"
    loss = f"{info.test_loss:.4f}" if info.test_loss is not None else "-"
    return [
        ("Test accuracy", accuracy, "Share of the 10,000 test images right"),
        ("Test loss", loss, None),
        ("Epochs", f"{info.epochs_done} of {info.epochs_planned}", None),
        ("Training time", format_duration(info.duration_s), None),
    ]


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


# Texts for people who do not program.
TRAINING_EXPLAINED = (
    "The model starts with random guesses. It looks at a **batch** of pictures, "
    "compares its guesses with the right answers (the **loss**: lower is better), and "
    "nudges its numbers to do a bit better. One pass over all training pictures is an "
    "**epoch**. A slice of the training pictures can be held back for **validation**: "
    "the model never learns from them, so they show how well it does on new pictures."
)
OVERFITTING_NOTE = (
    "If training accuracy keeps rising while validation accuracy stalls, the model is "
    "memorising the training images (overfitting): more epochs will not help."
)
