"""The logic behind the Train page, in plain Python: where a live job stands (its progress,
the live sample's pictures, how many test pictures it gets right), what pressing Train will
do, the run table, the page's session-state keys and its texts. The figures are in
train_figures.py."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from classifier.ml.models import OPTIMIZERS, PRECISIONS, PRESETS, SCHEDULES, TrainConfig
from classifier.store.history import LIVE_SETS, TEST_COUNT, live_indices
from classifier.store.runs import SAVING, TESTING, RunInfo
from classifier.views.grid import first_param
from classifier.views.text import format_clock, format_duration, format_moment

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
    MORE_EPOCHS = "train_more_epochs"  # how far to continue a finished run
    DETAILS = "train_details"  # the per-batch curves of a finished run are shown
    COMPARE = "train_compare"
    COMPARE_METRIC = "train_compare_metric"
    DELETE_RUN = "train_delete_run"
    DELETE_CONFIRM = "train_delete_confirm"
    LIVE_SET = "train_live_set"  # which fixed set of test pictures the live grid shows


# Metric keys as people say them.
METRIC_NAMES = {
    "accuracy": "Training accuracy",
    "val_accuracy": "Validation accuracy",
    "test_accuracy": "Test accuracy",
    "loss": "Training loss",
    "val_loss": "Validation loss",
    "test_loss": "Test loss (how wrong, lower is better)",
}
AGAIN_LABEL = "Train again with these settings"
COMPARE_CURVES = ["test_accuracy", "val_accuracy", "accuracy", "loss"]
LOSS_EXPLAINED = (
    "How far the model's confidence is from the right answers, averaged over the pictures: "
    "0 would be perfect, lower is better. Accuracy counts right and wrong only; loss also "
    "counts how sure the model was."
)


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
    words: tuple[tuple[str, str], ...] = ()  # (choice, how it is shown), for a selectbox

    def shown(self, choice) -> str:
        """A choice in plain words (the choice itself when it has none)."""
        return dict(self.words).get(choice, str(choice))

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
    Setting(
        "label_smoothing",
        "Label smoothing (aim for 90% sure of the label, not 100%: often more accurate)",
        "slider",
        (0.0, 0.3, 0.05),
        more=True,
    ),
    Setting(
        "precision",
        "Arithmetic (16-bit numbers: faster on recent processors, as accurate here)",
        "selectbox",
        PRECISIONS,
        more=True,
        words=(("float32", "32-bit"), ("bfloat16", "16-bit")),
    ),
    Setting("seed", "Random seed", "number", (0, 2**31 - 1), more=True),
)


def quick_config() -> TrainConfig:
    """The settings of the first-run demo's training."""
    return replace(PRESETS["Tutorial MLP"].defaults, epochs=QUICK_EPOCHS)


def preset_state(preset: str) -> dict[str, Any]:
    """The session state that sets every setting's widget to a preset's value."""
    defaults = PRESETS[preset].defaults.to_dict()
    return {setting_key(setting.field): defaults[setting.field] for setting in SETTINGS}


def settings_params(config: TrainConfig) -> dict[str, str]:
    """A run's settings as link parameters: opens the Train page with exactly these."""
    values = config.to_dict()
    return {"preset": str(config.preset)} | {s.field: str(values[s.field]) for s in SETTINGS}


# The link parameters that carry settings (settings_params writes them).
LINK_FIELDS = ("preset", *(setting.field for setting in SETTINGS))


def settings_from_link(params: Mapping[str, Any]) -> dict[str, Any]:
    """The session state that a settings link asks for: its preset's values, then each
    setting of the link that its widget can show. Anything odd is left out; a link without
    a known preset asks for nothing."""
    preset = first_param(params.get("preset"))
    if preset not in PRESETS:
        return {}
    state = {Keys.PRESET: preset} | preset_state(preset)
    for setting in SETTINGS:
        value = _setting_value(setting, first_param(params.get(setting.field)))
        if value is not None:
            state[setting.key] = value
    return state


def _setting_value(setting: Setting, text: str):
    """The value a setting's widget can show for a link's text, or None."""
    kind = type(getattr(PRESETS["Tutorial MLP"].defaults, setting.field))
    try:
        if kind is bool:
            value = {"true": True, "false": False}[text.lower()]
        elif kind is int:
            value = int(text) if text.isascii() and len(text) <= 12 else None
        elif kind is float:
            value = float(text) if len(text) <= 24 else None
        else:
            value = text
    except (KeyError, ValueError):
        return None
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if setting.widget in ("select_slider", "selectbox"):
        return value if value in setting.options else None
    if setting.widget in ("slider", "number"):
        low, high = setting.options[:2]
        return value if low <= value <= high else None
    return value


def settings_config(preset: str, values: dict[str, Any]) -> TrainConfig:
    """The config that the settings' widgets describe (not yet validated)."""
    return replace(PRESETS[preset].defaults, **values)


# What the progress bar says before the first batch, and in the steps after the last epoch
# (status.json's "phase").
STARTING_TEXT = "Starting TensorFlow..."
PHASE_TEXTS = {
    TESTING: f"Checking the {TEST_COUNT:,} test pictures...",
    SAVING: "Saving the model...",
}


@dataclass(frozen=True)
class Progress:
    epoch: int  # the epoch in progress, 1-based
    epochs: int
    batch: int
    steps: int
    fraction: float  # of the whole run, 0-1
    elapsed_s: float
    eta_s: float | None
    started: bool = True  # a batch has been logged
    phase: str | None = None  # a step after the last epoch (PHASE_TEXTS), or None

    @property
    def text(self) -> str:
        if self.phase in PHASE_TEXTS:
            return PHASE_TEXTS[self.phase]
        if not self.started:
            return STARTING_TEXT
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
    phase = info.status_data.get("phase")
    phase = phase if isinstance(phase, str) and phase in PHASE_TEXTS else None  # untrusted
    return Progress(epoch, epochs, batch, steps, fraction, elapsed, eta, bool(batches), phase)


# --- What the model gets right as it learns --------------------------------------------------


def live_set_rows(indices: Sequence[int], labels) -> dict[str, list[int]]:
    """The rows of a live sample (`indices`: its test picture numbers) that make up each
    fixed set of history.LIVE_SETS, by key, in that order; a set the sample does not hold is
    left out (no "hardest" without an earlier run).

    The tutorial's first 15 and one of each class follow from the labels alone; the hardest
    of the last run are the sample's other pictures (the worker picked them from a run the
    page need not read). A hardest picture that is also one of the others cannot be told
    apart, so that set may hold a few fewer than 15."""
    row_of = {int(index): row for row, index in enumerate(indices)}
    known = live_indices(labels)
    rows = {
        key: [row_of[index] for index in known[key] if index in row_of]
        for key in ("first", "classes")
    }
    others = set(known["first"]) | set(known["classes"])
    rows["hardest"] = [row for index, row in row_of.items() if index not in others]
    return {key: rows[key] for key in LIVE_SETS if rows.get(key)}


def chosen_live_set(rows: dict[str, list[int]], wanted: str | None) -> str | None:
    """The set to show: the one asked for if the sample holds it, else the first it holds."""
    if wanted in rows:
        return wanted
    return next(iter(rows), None)


@dataclass(frozen=True)
class RightCount:
    """How many of the test pictures the model got right after an epoch, and the change."""

    epoch: int
    right: int
    total: int = TEST_COUNT
    previous_epoch: int | None = None
    previous_right: int | None = None

    @property
    def text(self) -> str:
        return f"Right on {self.right:,} of {self.total:,} test pictures"

    @property
    def change_text(self) -> str:
        if self.previous_epoch is None or self.previous_right is None:
            return f"After epoch {self.epoch}"
        change = self.right - self.previous_right
        if change == 0:
            return f"After epoch {self.epoch}: no change since epoch {self.previous_epoch}"
        sign = "+" if change > 0 else "\u2212"  # a real minus sign: easier to read from afar
        return f"After epoch {self.epoch}: {sign}{abs(change):,} since epoch {self.previous_epoch}"


def right_count(metrics: list[dict], total: int = TEST_COUNT) -> RightCount | None:
    """The right-count of the last epoch with a test score in the metrics log (each line's
    `test_accuracy`, on all `total` test pictures), with the one before it; None before the
    first epoch ends."""
    scored = [
        (int(row["epoch"]), round(min(1.0, max(0.0, row["test_accuracy"])) * total))
        for row in metrics
        if isinstance(row.get("test_accuracy"), (int, float))
    ]
    if not scored:
        return None
    epoch, right = scored[-1]
    previous_epoch, previous_right = scored[-2] if len(scored) > 1 else (None, None)
    return RightCount(epoch, right, total, previous_epoch, previous_right)


def live_caption(live: dict, info: RunInfo) -> str:
    """What the live grid shows, and when its sample was taken."""
    steps = info.status_data.get("steps_per_epoch")
    of_steps = f" of {steps:,}" if steps else ""
    return (
        f"What the model says now (epoch {live['epoch']}, batch {live['batch']:,}{of_steps}). "
        "Under each picture: its guess, how sure it is, and (the true class); blue when right, "
        "red when wrong. Bars: how sure it is of each of the ten classes, its guess red when "
        "wrong, the true class blue."
    )


RIGHT_COUNT_WAITING = (
    f"After each epoch, this says how many of the {TEST_COUNT:,} test pictures the model gets "
    "right: pictures it never learns from."
)
LIVE_WAITING = "The pictures appear here as soon as the model has seen its first batch."


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
        ("Test loss (lower is better)", loss, LOSS_EXPLAINED),
        ("Epochs", f"{info.epochs_done} of {info.epochs_planned}", None),
        ("Training time", format_duration(info.duration_s), None),
    ]


def epoch_table(metrics: list[dict]) -> list[dict]:
    """The epoch rows in plain words: percentages, durations and local times; only the
    columns this run has."""
    rows = []
    for row in metrics:
        shown = {"Epoch": row["epoch"]}
        for key in ("accuracy", "val_accuracy", "test_accuracy"):
            if isinstance(row.get(key), float):
                shown[METRIC_NAMES[key]] = f"{row[key]:.2%}"
        for key in ("loss", "val_loss", "test_loss"):
            if isinstance(row.get(key), float):
                shown[METRIC_NAMES[key]] = f"{row[key]:.4f}"
        if isinstance(row.get("epoch_seconds"), float):
            shown["Time for the epoch"] = format_duration(row["epoch_seconds"])
        if moment := format_clock(row.get("time")):
            shown["Finished at"] = moment
        if isinstance(row.get("learning_rate"), float):
            shown["Learning rate"] = f"{row['learning_rate']:.3g}"
        rows.append(shown)
    return rows


def batch_series(batches: list[dict], key: str, window: int = 50) -> tuple[list, list]:
    """(x in epochs, values) of a per-batch metric, smoothed over the last `window` batches.

    Keras logs a running mean that restarts at every epoch, which makes the curve jump at
    each epoch boundary. Each batch's own value is recovered from the running means
    (b x mean_b - (b - 1) x mean_(b-1)), then averaged over the last batches, across epochs.
    """
    x, values, previous = [], [], (None, 0, 0.0)
    for row in batches:
        mean, epoch, batch = row.get(key), row["epoch"], row["batch"]
        if not isinstance(mean, float):
            continue
        last_epoch, last_batch, last_mean = previous
        if last_epoch == epoch and last_batch == batch - 1:
            value = batch * mean - last_batch * last_mean
        else:
            value = mean  # the first batch of an epoch (or a gap in the log)
        previous = (epoch, batch, mean)
        x.append(epoch - 1 + batch / max(1, row.get("steps") or batch))
        values.append(value)
    if not values:
        return [], []
    sums = np.cumsum(np.asarray(values, dtype=np.float64))
    width = np.minimum(np.arange(1, len(values) + 1), window)
    smoothed = (sums - np.concatenate([np.zeros(window), sums])[: len(sums)]) / width
    if "accuracy" in key:
        smoothed = np.clip(smoothed, 0.0, 1.0)
    return x, smoothed.tolist()


def compare_curves(metrics: list[list[dict]]) -> list[str]:
    """The curves worth offering for runs compared: those at least one of them recorded
    (a validation curve only when some run held pictures back for validation)."""
    recorded = {
        key for rows in metrics for row in rows for key, value in row.items() if value is not None
    }
    return [curve for curve in COMPARE_CURVES if curve in recorded]


def run_table(runs: list[RunInfo]) -> list[dict]:
    """One row per run, for st.dataframe (rendered as text, never HTML)."""
    return [
        {
            "name": run.given_name or "",
            "model": run.preset,
            "status": run.status,
            "epochs": f"{run.epochs_done}/{run.epochs_planned}",
            "test accuracy": "" if run.test_accuracy is None else f"{run.test_accuracy:.1%}",
            "training time": format_duration(run.duration_s),
            "started": format_moment(run.started_at),
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
    "Training: the pictures the model learns from. Test: 10,000 pictures it never learns "
    "from. If training accuracy keeps rising while test accuracy stalls, the model is "
    "memorising the training images (overfitting): more epochs will not help."
)
SMOOTHING_NOTE = (
    "Why the training loss stays above the test loss: this model learns with label "
    "smoothing, which asks it never to be quite 100% sure during training (it keeps a "
    "{share:.0%} doubt). Its training loss cannot reach 0 on purpose, while the test loss "
    "is measured plainly. It makes the model a little more accurate on new pictures."
)


def curves_note(config: Mapping[str, Any]) -> str:
    """What the per-epoch curves of a run show, in words: training against test, and why
    the training loss sits above the test loss when the run learned with label smoothing."""
    smoothing = config.get("label_smoothing")
    if isinstance(smoothing, int | float) and not isinstance(smoothing, bool) and 0 < smoothing < 1:
        return f"{OVERFITTING_NOTE} {SMOOTHING_NOTE.format(share=float(smoothing))}"
    return OVERFITTING_NOTE
