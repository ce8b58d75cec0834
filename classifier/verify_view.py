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
from classifier.grid_view import (
    cell_from_selection,
    first_param,
    index_from_selection,
    parse_class,
    parse_index,
)
from classifier.inference import confidences, predicted_classes
from classifier.train_view import QUICK_EPOCHS

# Filter modes, sort orders and saliency methods, with the words the page shows for them.
FILTER_MODES: dict[str, str] = {
    "all": "All images",
    "mistakes": "Only mistakes",
    "correct": "Only right answers",
}
SORT_ORDERS: dict[str, str] = {
    "index": "Image number",
    "confidence": "Most confident first",
    "least_confident": "Least confident first",
    "confidently_wrong": "Most confidently wrong first",
}
SALIENCY_LABELS: dict[str, str] = {
    "input_x_gradient": "Input x gradient",
    "gradient": "Gradient",
}
ANY_CLASS = "Any"
CLASS_OPTIONS = (ANY_CLASS, *CLASS_NAMES)

# The URL keys of a view: ?run=...&image=42&filter=mistakes&true=Shirt&pred=T-shirt/top
RUN_PARAM, IMAGE_PARAM, FILTER_PARAM = "run", "image", "filter"
TRUE_PARAM, PRED_PARAM, SORT_PARAM = "true", "pred", "sort"


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
    VIEW = "verify_view"  # the last view, restored when the page is opened again


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


def filter_indices(probs: np.ndarray, labels: np.ndarray, spec: FilterSpec) -> np.ndarray:
    """Indices (ascending int64) of the images that pass every condition of `spec`."""
    spec.validate()
    predicted = predicted_classes(probs)
    confidence = confidences(probs)
    keep = (confidence >= spec.min_confidence) & (confidence <= spec.max_confidence)
    if spec.mode == "mistakes":
        keep &= predicted != labels
    elif spec.mode == "correct":
        keep &= predicted == labels
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


def filter_caption(spec: FilterSpec, kept: int, total: int, accuracy_value: float) -> str:
    """The line above the grid: the model's accuracy and what the filter leaves."""
    parts = []
    if spec.mode != "all":
        parts.append(FILTER_MODES[spec.mode].lower())
    if spec.true_class is not None:
        parts.append(f"true {CLASS_NAMES[spec.true_class]}")
    if spec.pred_class is not None:
        parts.append(f"predicted {CLASS_NAMES[spec.pred_class]}")
    if spec.min_confidence > 0 or spec.max_confidence < 1:
        parts.append(f"confidence {spec.min_confidence:.0%}-{spec.max_confidence:.0%}")
    which = f" ({', '.join(parts)})" if parts else ""
    return (
        f"Test accuracy **{accuracy_value:.1%}**. "
        f"The filter{which} leaves **{kept:,} of {total:,}** images."
    )


@dataclass(frozen=True)
class VerifyView:
    """What a link to the Verify page reproduces."""

    run: str | None = None
    image: int = 0
    spec: FilterSpec = FilterSpec()
    order: str = "index"

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
        return cls(
            run=run if run and run in run_ids else None,
            image=image or 0,
            spec=spec,
            order=order if order in SORT_ORDERS else "index",
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
        }

    def state(self, run_ids: Sequence[str]) -> dict[str, Any]:
        """The session state that shows this view (the first run when its run is gone)."""
        return {
            Keys.RUN: self.run if self.run in run_ids else run_ids[0],
            Keys.INDEX: self.image,
            Keys.MODE: self.spec.mode,
            Keys.TRUE: class_option(self.spec.true_class),
            Keys.PRED: class_option(self.spec.pred_class),
            Keys.SORT: self.order,
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
        }
    )
    # Deleting a widget's key resets it to its default (the full confidence range); setting
    # it would make Streamlit warn about a value set twice.
    state.pop(Keys.CONFIDENCE, None)
    state[Keys.MATRIX_NONCE] += 1


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
    "Photos differ from the dataset: Fashion-MNIST shows one garment, centred, light on a "
    "black background, from product photos. Shadows, folds, other objects or an unusual "
    "angle can mislead the model, so expect more mistakes here than on the test images."
)
