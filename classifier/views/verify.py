"""The logic behind the Verify page, in plain Python: which test pictures the grid shows and
in what order, how a view travels in a link, the page's session-state keys and its texts.
What the model predicts comes from inference.py; the grid mechanics from grid_view.py.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.data import CLASS_NAMES, NUM_CLASSES, SPLIT_SIZES
from classifier.ml.inference import confidences, confusion_matrix, predicted_classes
from classifier.store.history import (
    HISTORY_FILTERS,
    correct_by_epoch,
    first_right_epoch,
    history_mask,
)
from classifier.views.grid import (
    cell_from_selection,
    first_param,
    index_from_selection,
    parse_class,
    parse_index,
)
from classifier.views.train import QUICK_EPOCHS

# Filter modes, sort orders and saliency methods, with the words the page shows for them.
# The history filters (history.py) need a run that recorded its progress.
PLAIN_MODES: dict[str, str] = {
    "all": "All images",
    "mistakes": "Only mistakes",
    "correct": "Only right answers",
}
FILTER_MODES: dict[str, str] = {**PLAIN_MODES, **HISTORY_FILTERS}
SHORT_HISTORY_MODES = {
    "learned_in": "Learned in the epoch shown",
    "learned_late": "Learned late",
    "forgotten": "Forgotten",
    "never_learned": "Never learned",
}
FILTER_HELP = "  \n".join(
    ["What the model did with each picture over its whole training:"]
    + [f"- {words}" for mode, words in HISTORY_FILTERS.items() if mode != "learned_in"]
    + ["- Learned in epoch k: right from the epoch shown to the end, wrong just before it."]
)
SORT_ORDERS: dict[str, str] = {
    "index": "Image number",
    # Distinguishable by their first words, where a narrow box cuts them short.
    "confidence": "Surest first",
    "least_confident": "Least sure first",
    "confidently_wrong": "Wrong, surest first",
}
SALIENCY_LABELS: dict[str, str] = {
    # Saliency methods in plain words (their names: input x gradient, and the gradient).
    "input_x_gradient": "Dark and light parts that mattered",
    "gradient": "Every pixel that could change the answer",
}
ANY_CLASS = "Any"
CLASS_OPTIONS = (ANY_CLASS, *CLASS_NAMES)

# The URL keys of a view: ?run=...&image=42&filter=mistakes&true=Shirt&pred=T-shirt/top
RUN_PARAM, IMAGE_PARAM, FILTER_PARAM = "run", "image", "filter"
TRUE_PARAM, PRED_PARAM, SORT_PARAM = "true", "pred", "sort"
EPOCH_PARAM = "epoch"  # the replayed epoch; absent for the last one
MAX_EPOCH_DIGITS = 5


class Keys:
    """The page's session-state keys, named once."""

    RUN = "verify_run"
    INDEX = "verify_index"  # the picture in the single view
    SLIDER = "verify_slider"  # mirrors INDEX
    SHOWN = "verify_shown"  # the picture the grid's page last followed
    MODE = "verify_mode"
    TRUE = "verify_true"
    PRED = "verify_pred"
    CONFIDENCE = "verify_conf"
    SORT = "verify_sort"
    ROWS = "verify_rows"
    COLUMNS = "verify_columns"
    PAGE = "verify_page"
    SALIENCY = "verify_saliency"
    GRID_NONCE = "verify_grid_nonce"  # a new grid chart, without the old selection
    MATRIX_NONCE = "verify_cm_nonce"
    JUMP_FIRST = "verify_jump_first"  # after a matrix click: show the first match
    CLICKED = "verify_clicked"  # after a matrix or bar click: take the reader to the grid
    VIEW = "verify_view"  # the last view, restored when the page is opened again
    EPOCH = "verify_epoch"  # the replayed epoch (1-based), the slider's value
    EPOCH_RUN = "verify_epoch_run"  # the run that EPOCH belongs to


DEFAULTS = {
    Keys.ROWS: 5,
    Keys.COLUMNS: 3,
    Keys.PAGE: 1,
    Keys.SALIENCY: "input_x_gradient",
    Keys.GRID_NONCE: 0,
    Keys.MATRIX_NONCE: 0,
}


def class_option(number: int | None) -> str:
    """The select-box option of a class filter: a class name, or ANY_CLASS."""
    return ANY_CLASS if number is None else CLASS_NAMES[number]


@dataclass(frozen=True)
class FilterSpec:
    """Which test images the grid shows."""

    mode: str = "all"  # a key of FILTER_MODES
    true_class: int | None = None  # None: any class
    pred_class: int | None = None
    # Bounds on the confidence (probability of the predicted class), both inclusive.
    min_confidence: float = 0.0
    max_confidence: float = 1.0

    def validate(self) -> FilterSpec:
        if self.mode not in FILTER_MODES:
            raise ValueError(f"Unknown filter {self.mode!r}; choose one of {list(FILTER_MODES)}.")
        for value in (self.true_class, self.pred_class):
            if value is not None and not 0 <= value < NUM_CLASSES:
                raise ValueError(f"A class must be 0-{NUM_CLASSES - 1}, not {value}.")
        if not 0.0 <= self.min_confidence <= self.max_confidence <= 1.0:
            raise ValueError("The confidence range must satisfy 0 <= low <= high <= 1.")
        return self


def filter_indices(
    probs: np.ndarray,
    labels: np.ndarray,
    spec: FilterSpec,
    correct: np.ndarray | None = None,
    epoch: int | None = None,
) -> np.ndarray:
    """Indices (ascending int64) of the images that pass every condition of `spec`.

    The history filters read `correct` ((epochs, count) bool, history.correct_by_epoch) over
    the whole training; "learned_in" means learned in `epoch` (default: the last). Without a
    history they keep nothing.
    """
    spec.validate()
    predicted = predicted_classes(probs)
    confidence = confidences(probs)
    keep = (confidence >= spec.min_confidence) & (confidence <= spec.max_confidence)
    if spec.mode == "mistakes":
        keep &= predicted != labels
    elif spec.mode == "correct":
        keep &= predicted == labels
    elif spec.mode in HISTORY_FILTERS:
        if correct is None or len(correct) == 0:
            return np.zeros(0, dtype=np.int64)
        keep &= history_mask(correct, spec.mode, epoch)
    if spec.true_class is not None:
        keep &= labels == spec.true_class
    if spec.pred_class is not None:
        keep &= predicted == spec.pred_class
    return np.flatnonzero(keep).astype(np.int64)


def sort_indices(
    indices: np.ndarray, probs: np.ndarray, labels: np.ndarray, order: str
) -> np.ndarray:
    """`indices` in the given order; ties keep ascending image numbers (stable sorts)."""
    indices = np.asarray(indices, dtype=np.int64)
    if order not in SORT_ORDERS:
        raise ValueError(f"Unknown order {order!r}; choose one of {list(SORT_ORDERS)}.")
    if order == "index":
        return np.sort(indices)
    indices = np.sort(indices)
    confidence = confidences(probs)[indices]
    if order == "confidence":
        return indices[np.argsort(-confidence, kind="stable")]
    if order == "least_confident":
        return indices[np.argsort(confidence, kind="stable")]
    # Mistakes first, the most confident mistake leading; then the right answers by number.
    wrong = predicted_classes(probs)[indices] != labels[indices]
    mistakes = indices[wrong][np.argsort(-confidence[wrong], kind="stable")]
    return np.concatenate([mistakes, indices[~wrong]])


def filter_caption(
    spec: FilterSpec,
    kept: int,
    total: int,
    accuracy_value: float,
    epoch: int | None = None,
    epochs: int = 0,
) -> str:
    """The line above the grid: the model's accuracy (after `epoch` of `epochs`, when the
    run recorded its progress) and what the filter leaves."""
    parts = []
    if spec.mode == "learned_in":
        parts.append(f"learned in epoch {epoch or epochs}")
    elif spec.mode != "all":
        parts.append({**FILTER_MODES, **SHORT_HISTORY_MODES}[spec.mode].lower())
    if spec.true_class is not None:
        parts.append(f"true {CLASS_NAMES[spec.true_class]}")
    if spec.pred_class is not None:
        parts.append(f"predicted {CLASS_NAMES[spec.pred_class]}")
    if spec.min_confidence > 0 or spec.max_confidence < 1:
        parts.append(f"confidence {spec.min_confidence:.0%}-{spec.max_confidence:.0%}")
    which = f" ({', '.join(parts)})" if parts else ""
    when = f" after epoch {epoch} of {epochs}" if epoch and epochs > 1 else ""
    return (
        f"Test accuracy **{accuracy_value:.1%}**{when}. "
        f"The filter{which} leaves **{kept:,} of {total:,}** images."
    )


@dataclass(frozen=True)
class VerifyView:
    """What a link to the Verify page reproduces."""

    run: str | None = None
    image: int = 0
    spec: FilterSpec = FilterSpec()
    order: str = "index"
    epoch: int | None = None  # the replayed epoch; None: the last one

    @classmethod
    def from_params(cls, params: Mapping[str, Any], run_ids: Sequence[str]) -> VerifyView:
        """Read a view from URL query parameters; anything invalid falls back to its default."""
        run = first_param(params.get(RUN_PARAM))
        mode = first_param(params.get(FILTER_PARAM)).lower()
        order = first_param(params.get(SORT_PARAM)).lower()
        spec = FilterSpec(
            mode=mode if mode in FILTER_MODES else "all",
            true_class=parse_class(first_param(params.get(TRUE_PARAM))),
            pred_class=parse_class(first_param(params.get(PRED_PARAM))),
        )
        image = parse_index(first_param(params.get(IMAGE_PARAM)), SPLIT_SIZES["test"])
        epoch = parse_index(first_param(params.get(EPOCH_PARAM)), 10**MAX_EPOCH_DIGITS)
        return cls(
            run=run if run and run in run_ids else None,
            image=image or 0,
            spec=spec,
            order=order if order in SORT_ORDERS else "index",
            epoch=epoch or None,
        )

    def to_params(self) -> dict[str, str | None]:
        """The query parameters of this view; None marks a default, to drop from the URL."""
        spec = self.spec
        return {
            RUN_PARAM: self.run,
            IMAGE_PARAM: str(self.image),
            FILTER_PARAM: None if spec.mode == "all" else spec.mode,
            TRUE_PARAM: None if spec.true_class is None else CLASS_NAMES[spec.true_class],
            PRED_PARAM: None if spec.pred_class is None else CLASS_NAMES[spec.pred_class],
            SORT_PARAM: None if self.order == "index" else self.order,
            EPOCH_PARAM: None if self.epoch is None else str(self.epoch),
        }

    def state(self, run_ids: Sequence[str]) -> dict[str, Any]:
        """The session state that shows this view (the first run when its run is gone)."""
        run = self.run if self.run in run_ids else run_ids[0]
        epoch = {Keys.EPOCH: self.epoch, Keys.EPOCH_RUN: run} if self.epoch else {}
        return {
            Keys.RUN: run,
            Keys.INDEX: self.image,
            Keys.MODE: self.spec.mode,
            Keys.TRUE: class_option(self.spec.true_class),
            Keys.PRED: class_option(self.spec.pred_class),
            Keys.SORT: self.order,
            **epoch,
        }


def restore_state(state: MutableMapping, params: Mapping[str, Any], run_ids: list[str]) -> None:
    """Fill the page's session state for a script run.

    The page's first run in a session takes the view from the link, or from the last visit
    when there is no link (Streamlit drops a page's widget state when we leave it).
    """
    if Keys.MODE not in state:
        linked = VerifyView.from_params(params, run_ids)
        if not params and Keys.VIEW in state:
            linked = state[Keys.VIEW]
        state.update(linked.state(run_ids))
    for key, value in DEFAULTS.items():
        state.setdefault(key, value)
    if state.get(Keys.RUN) not in run_ids:
        state[Keys.RUN] = run_ids[0]


def fit_state_to_run(state: MutableMapping, run_id: str, epochs: int) -> int:
    """Make the replay state fit the chosen run, which recorded `epochs` epochs (0: none);
    returns `epochs`.

    Another run starts at its last epoch; an epoch out of range (a link, a shorter run)
    becomes the last; without a history, a history filter falls back to all images.
    """
    epoch = state.get(Keys.EPOCH)
    fits = isinstance(epoch, int) and 1 <= epoch <= epochs
    if state.get(Keys.EPOCH_RUN) != run_id or not fits:
        state[Keys.EPOCH] = max(epochs, 1)
        state[Keys.EPOCH_RUN] = run_id
    if epochs == 0 and state.get(Keys.MODE) in HISTORY_FILTERS:
        state[Keys.MODE] = "all"
    return epochs


def filter_modes(epochs: int, epoch: int | None = None) -> dict[str, str]:
    """The "Show" options for a run with `epochs` recorded epochs (0: the plain ones), in
    words short enough for the select box; "learned in" names the epoch shown."""
    if not epochs:
        return PLAIN_MODES
    return {
        **PLAIN_MODES,
        **SHORT_HISTORY_MODES,
        "learned_in": f"Learned in epoch {epoch or epochs}",
    }


def shown_index(state: MutableMapping, ordered: np.ndarray) -> int:
    """The picture of the single view: after a click on the confusion matrix, the first one
    the grid lists; otherwise the one chosen before."""
    if state.pop(Keys.JUMP_FIRST, False) and len(ordered):
        state[Keys.INDEX] = int(ordered[0])
    return state[Keys.INDEX]


def apply_click(state: MutableMapping, chart: str, selection: Mapping[str, Any] | None) -> None:
    """What a click on one of the page's charts does to its session state.

    "grid": show that picture. "matrix" (a cell) or "classes" (a bar): list exactly the
    pictures of that (true, predicted) pair, starting with the first. Each click chart gets
    a new key afterwards: a fresh chart has no selection, so the same spot can be clicked
    again.
    """
    if chart == "grid":
        if (index := index_from_selection(selection)) is not None:
            state[Keys.INDEX] = index
            state[Keys.GRID_NONCE] += 1
        return
    if chart == "matrix":
        pair = cell_from_selection(selection)
    else:
        true_class = index_from_selection(selection)
        pair = None if true_class is None else (true_class, None)
    if pair is None:
        return
    state.update(
        {
            Keys.TRUE: class_option(pair[0]),
            Keys.PRED: class_option(pair[1]),
            Keys.MODE: "all",
            Keys.PAGE: 1,
            Keys.JUMP_FIRST: True,
            Keys.CLICKED: True,
        }
    )
    # Deleting a widget's key resets it to its default (the full confidence range); setting
    # it would make Streamlit warn about a value set twice.
    state.pop(Keys.CONFIDENCE, None)
    state[Keys.MATRIX_NONCE] += 1


# --- Replay: what the model predicted epoch by epoch ---------------------------------------


class Replay:
    """A run's recorded history (history.py) and what it says, computed once per run.

    history (epochs, count, 10) float16, read-only; labels (count,) the true classes.
    """

    def __init__(self, history: np.ndarray, labels: np.ndarray):
        if history.ndim != 3 or history.shape[1] != len(labels):
            raise ValueError(f"A history of shape {history.shape} for {len(labels)} labels.")
        self.history = history
        self.labels = np.asarray(labels, dtype=np.int64)
        self.predicted = history.argmax(axis=2).astype(np.int8)  # (epochs, count)
        self.correct = correct_by_epoch(history, self.labels)
        self.first_right = first_right_epoch(self.correct)
        for array in (self.predicted, self.correct, self.first_right):
            array.setflags(write=False)

    @property
    def epochs(self) -> int:
        return len(self.history)

    def probabilities(self, epoch: int) -> np.ndarray:
        """(count, 10) float32 of one 1-based epoch: only this one is converted."""
        probs = np.asarray(self.history[epoch - 1], dtype=np.float32)
        probs.setflags(write=False)
        return probs

    def accuracy(self, epoch: int) -> float:
        return float(self.correct[epoch - 1].mean()) if len(self.labels) else 0.0

    def matrix(self, epoch: int) -> np.ndarray:
        return confusion_matrix(self.labels, self.predicted[epoch - 1])

    def picture(self, index: int) -> PictureHistory:
        """One picture's path through the epochs."""
        rows = np.asarray(self.history[:, index, :], dtype=np.float64)  # (epochs, 10)
        predicted = self.predicted[:, index].astype(np.int64)
        true_label = int(self.labels[index])
        return PictureHistory(
            true_label=true_label,
            true_probability=rows[:, true_label],
            predicted=predicted,
            predicted_probability=rows[np.arange(len(rows)), predicted],
            first_right=int(self.first_right[index]),
        )


@dataclass(frozen=True, eq=False)
class PictureHistory:
    """What the model said about one picture at each epoch (arrays of length epochs)."""

    true_label: int
    true_probability: np.ndarray
    predicted: np.ndarray  # the predicted class at each epoch
    predicted_probability: np.ndarray
    first_right: int  # the first 1-based epoch at which it was right; 0: never

    @property
    def epochs(self) -> int:
        return len(self.predicted)


def history_sentence(picture: PictureHistory) -> str:
    """ "First right in epoch 3." / "Never right.", and whether it stayed right."""
    if not picture.first_right:
        return "Never right."
    text = f"First right in epoch {picture.first_right}"
    wrong_after = np.flatnonzero(picture.predicted[picture.first_right :] != picture.true_label)
    if len(wrong_after):
        last = picture.predicted[-1] == picture.true_label
        again = f"wrong again in epoch {picture.first_right + 1 + int(wrong_after[0])}"
        return f"{text}, {again}{', right at the end' if last else ''}."
    return f"{text}."


def matrix_changes(
    matrix: np.ndarray, previous: np.ndarray | None, previous_epoch: int
) -> list[str] | None:
    """Per cell (row by row), how its count changed since `previous_epoch`: "+12 since
    epoch 4", "no change since epoch 4"; None without a previous epoch."""
    if previous is None:
        return None
    change = np.asarray(matrix, dtype=np.int64) - np.asarray(previous, dtype=np.int64)
    return [
        f"{delta:+,} since epoch {previous_epoch}"
        if delta
        else f"no change since epoch {previous_epoch}"
        for delta in change.ravel().tolist()
    ]


def grid_order(
    probs: np.ndarray,
    labels: np.ndarray,
    spec: FilterSpec,
    order: str,
    replay: Replay | None,
    epoch: int | None,
) -> np.ndarray:
    """The pictures the grid lists, in order, for the epoch shown (filter, then sort)."""
    correct = replay.correct if replay is not None else None
    kept = filter_indices(probs, labels, spec, correct, epoch)
    return sort_indices(kept, probs, labels, order)


def epoch_matrix(
    probs: np.ndarray, labels: np.ndarray, replay: Replay | None, epoch: int | None
) -> tuple[np.ndarray, list[str] | None]:
    """The confusion matrix of the predictions shown, and per cell its change since the
    epoch before (None at the first epoch or without a history)."""
    matrix = confusion_matrix(labels, predicted_classes(probs))
    if replay is None or not epoch or epoch < 2:
        return matrix, None
    return matrix, matrix_changes(matrix, replay.matrix(epoch - 1), epoch - 1)


CLICKED_NOTE = "The grid below now lists the pictures you clicked in the chart further down."

# Texts for people who do not program.
NO_MODEL_NOTE = (
    "There is no trained model yet. Train one on the Train page, or start a quick one "
    f"here: the tutorial's model for {QUICK_EPOCHS} epochs, about 85% right, in about a "
    "minute. It trains in the background; this page opens when it is ready."
)
EMPTY_FILTER_NOTE = "No test image matches this filter. Widen the confidence range or the classes."
SALIENCY_NOTE = (
    "Warm colours mark the pixels whose change would move the model's score for its "
    "predicted class the most: this is where the model looked, not proof of why it is right."
)
UPLOAD_NOTE = (
    "Photos differ from the dataset: Fashion-MNIST shows one garment, centred, on a plain "
    "background, from product photos. Shadows, folds, other objects or an unusual "
    "angle can mislead the model, so expect more mistakes here than on the test images."
)
EPOCH_LABEL = "Predictions after epoch"
NO_REPLAY_NOTE = (
    "No replay: this model has no recorded epoch (it was trained before the app recorded "
    "its progress, or stopped during its first epoch)."
)
ONE_EPOCH_NOTE = "This model trained for one epoch: there is nothing to replay."
REPLAY_HELP = (
    "What the model predicted after each epoch of its training: the grid, the single "
    "picture, the accuracy and the confusion matrix follow the slider. Play steps through "
    "the epochs."
)
HISTORY_CHART_NOTE = (
    "Blue: how sure the model was of the true class after each epoch. Red: the class it "
    "wrongly chose instead, in the epochs it was wrong. The dotted line marks the epoch shown."
)
EARLIER_NOTE = (
    "The map is always the final model's: the app keeps only the predictions of earlier "
    "epochs, not their models."
)
