"""The logic behind the Verify page, in plain Python: no Streamlit here.

Predictions of a trained model on the test set, the confusion matrix, which images a filter
keeps and in what order, how a view travels in a URL, saliency maps, and classifying an
uploaded picture. The page only draws widgets and calls these functions.

Models output 10 logits; like the tutorial's `probability_model`, we apply a softmax.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.data import CLASS_NAMES, NUM_CLASSES
from classifier.images import MAX_UPLOAD_BYTES, ImageError, PreparedImage, preprocess_upload

PREDICT_BATCH_SIZE = 256  # measured fastest on the 10k test images (DESIGN.md)
TEST_SIZE = 10_000

# A Keras model is shared by every session of the server (st.cache_resource). TensorFlow uses
# all cores for one call anyway, and the first call of a model traces it, which is not safe
# to do from two threads at once: one predict or saliency at a time.
MODEL_LOCK = threading.Lock()

# Filter modes and sort orders, with the words the page shows for them.
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
SALIENCY_METHODS: dict[str, str] = {
    "input_x_gradient": "Input x gradient",
    "gradient": "Gradient",
}
ANY_CLASS = "Any"

# The URL keys of a view: ?run=...&image=42&filter=mistakes&true=Shirt&pred=T-shirt/top
RUN_PARAM, IMAGE_PARAM, FILTER_PARAM = "run", "image", "filter"
TRUE_PARAM, PRED_PARAM, SORT_PARAM = "true", "pred", "sort"


# --- Predictions ---------------------------------------------------------------------------


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (stable: the row maximum is subtracted first)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def probabilities(model, images: np.ndarray, batch_size: int = PREDICT_BATCH_SIZE) -> np.ndarray:
    """Class probabilities (N, 10) float32 for float32 images (N, 28, 28) scaled to 0-1."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"Expected images of shape (N, 28, 28), got {images.shape}.")
    with MODEL_LOCK:
        logits = model.predict(images, batch_size=batch_size, verbose=0)
    return softmax(logits).astype(np.float32)


def predicted_classes(probs: np.ndarray) -> np.ndarray:
    return np.asarray(probs).argmax(axis=1)


def confidences(probs: np.ndarray) -> np.ndarray:
    """The probability of the predicted class, per image."""
    return np.asarray(probs).max(axis=1)


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predicted_classes(probs) == labels)) if len(labels) else 0.0


def confusion_matrix(
    true: np.ndarray, predicted: np.ndarray, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Counts (num_classes, num_classes): row = true class, column = predicted class."""
    true = np.asarray(true, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    if true.shape != predicted.shape:
        raise ValueError(f"{true.shape[0]} true labels but {predicted.shape[0]} predictions.")
    flat = np.bincount(true * num_classes + predicted, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """The fraction of each true class predicted right (NaN for a class with no images)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / totals, np.nan)


# --- Filters and order ---------------------------------------------------------------------


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


def page_count(item_count: int, page_size: int) -> int:
    """Pages needed for `item_count` items; at least 1, so an empty filter has page 1."""
    if page_size < 1:
        raise ValueError(f"The page size must be at least 1, not {page_size}.")
    return max(1, -(-item_count // page_size))


def page_items(ordered: np.ndarray, page: int, page_size: int) -> np.ndarray:
    """The indices on 1-based `page`, clamped into the valid pages."""
    page = min(max(int(page), 1), page_count(len(ordered), page_size))
    return ordered[(page - 1) * page_size : page * page_size]


def page_of(ordered: np.ndarray, image: int, page_size: int) -> int | None:
    """The 1-based page of `ordered` that shows `image`, or None when it is filtered out."""
    positions = np.flatnonzero(ordered == image)
    return int(positions[0]) // page_size + 1 if len(positions) else None


def neighbour(ordered: np.ndarray, current: int, step: int, size: int = TEST_SIZE) -> int | None:
    """The image before (step=-1) or after (+1) `current` in the grid's order.

    When `current` is filtered out (or nothing is left), move by one image number instead,
    so the buttons always work. None at either end.
    """
    positions = np.flatnonzero(ordered == current)
    if len(positions):
        target = int(positions[0]) + step
        return int(ordered[target]) if 0 <= target < len(ordered) else None
    target = current + step
    return target if 0 <= target < size else None


def grid_caption(spec: FilterSpec, kept: int, total: int, accuracy_value: float) -> str:
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


# --- Clicks --------------------------------------------------------------------------------


def _customdata(selection: Mapping[str, Any] | None) -> list | None:
    """The customdata of the first clicked point of a plotly selection, as a list."""
    for point in (selection or {}).get("points") or []:
        value = point.get("customdata")
        if value is None:
            continue
        return list(value) if isinstance(value, list | tuple) else [value]
    return None


def index_from_selection(selection: Mapping[str, Any] | None) -> int | None:
    """The image index that a click on the grid carries (its marker's customdata)."""
    value = _customdata(selection)
    return int(value[0]) if value else None


def cell_from_selection(selection: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """(true, predicted) of a clicked confusion-matrix cell."""
    value = _customdata(selection)
    return (int(value[0]), int(value[1])) if value and len(value) >= 2 else None


# --- URL -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyView:
    """What a link to the Verify page reproduces."""

    run: str | None = None
    image: int = 0
    spec: FilterSpec = FilterSpec()
    order: str = "index"


def _first(value: str | Sequence[str] | None) -> str:
    """Query parameters may repeat (?image=1&image=2): keep the first value."""
    if value is None or isinstance(value, str):
        return (value or "").strip()
    return str(value[0]).strip() if len(value) else ""


def parse_class(text: str | None) -> int | None:
    """A class from a URL or a selectbox: its name (any case) or its number; else None."""
    text = (text or "").strip()
    by_name = {name.lower(): number for number, name in enumerate(CLASS_NAMES)}
    if text.lower() in by_name:
        return by_name[text.lower()]
    if text.isdigit() and int(text) < NUM_CLASSES:
        return int(text)
    return None


def class_option(number: int | None) -> str:
    """The selectbox option of a class filter: a class name, or ANY_CLASS."""
    return ANY_CLASS if number is None else CLASS_NAMES[number]


def parse_view_params(params: Mapping[str, Any], run_ids: Sequence[str]) -> VerifyView:
    """Read a view from URL query parameters; anything invalid falls back to its default."""
    run = _first(params.get(RUN_PARAM))
    image = _first(params.get(IMAGE_PARAM))
    mode = _first(params.get(FILTER_PARAM)).lower()
    order = _first(params.get(SORT_PARAM)).lower()
    spec = FilterSpec(
        mode=mode if mode in FILTER_MODES else "all",
        true_class=parse_class(_first(params.get(TRUE_PARAM))),
        pred_class=parse_class(_first(params.get(PRED_PARAM))),
    )
    return VerifyView(
        run=run if run in run_ids else None,
        image=int(image) if image.isdigit() and int(image) < TEST_SIZE else 0,
        spec=spec,
        order=order if order in SORT_ORDERS else "index",
    )


def view_to_params(view: VerifyView) -> dict[str, str | None]:
    """The query parameters of a view; None marks a default, to drop from the URL."""
    spec = view.spec
    return {
        RUN_PARAM: view.run,
        IMAGE_PARAM: str(view.image),
        FILTER_PARAM: None if spec.mode == "all" else spec.mode,
        TRUE_PARAM: None if spec.true_class is None else CLASS_NAMES[spec.true_class],
        PRED_PARAM: None if spec.pred_class is None else CLASS_NAMES[spec.pred_class],
        SORT_PARAM: None if view.order == "index" else view.order,
    }


# --- Saliency ------------------------------------------------------------------------------


def saliency(
    model, image: np.ndarray, class_index: int | None = None, method: str = "input_x_gradient"
) -> np.ndarray:
    """How much each pixel moves the logit of `class_index` (default: the predicted class).

    "gradient": |d logit / d pixel|. "input_x_gradient": |pixel x gradient|, which ignores
    the black background (a pixel that is 0 contributes nothing to the logit). Returns a
    float32 (28, 28) map scaled so that its maximum is 1 (all zeros if nothing matters).
    """
    import tensorflow as tf  # late: TensorFlow is slow to import

    if method not in SALIENCY_METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of {list(SALIENCY_METHODS)}.")
    pixels = tf.convert_to_tensor(np.asarray(image, dtype=np.float32)[None])
    with MODEL_LOCK:
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            logits = model(pixels, training=False)
            if class_index is None:
                class_index = int(tf.argmax(logits[0]))
            target = logits[0, class_index]
        gradient = tape.gradient(target, pixels)[0].numpy()
    values = np.abs(gradient * pixels[0].numpy() if method == "input_x_gradient" else gradient)
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(values.max())
    return (values / peak if peak > 0 else np.zeros_like(values)).astype(np.float32)


SALIENCY_NOTE = (
    "Warm colours mark the pixels whose change would move the model's score for its "
    "predicted class the most: this is where the model looked, not proof of why it is right."
)


# --- Your own picture ----------------------------------------------------------------------


@dataclass(frozen=True)
class UploadResult:
    image: PreparedImage
    probabilities: np.ndarray  # (10,) float32

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))


def classify_upload(
    model, data: bytes, declared_size: int | None = None, max_bytes: int = MAX_UPLOAD_BYTES
) -> UploadResult:
    """Check the size on the server, prepare the picture like the dataset, and classify it.

    `declared_size` is the uploaded file's `size`: the browser enforces the upload limit only
    on its side. Raises ImageError with a message for the user.
    """
    size = len(data) if declared_size is None else declared_size
    if size > max_bytes:
        raise ImageError(
            f"The file is {size / 2**20:.1f} MB, but the limit is {max_bytes / 2**20:.3g} MB. "
            "Please upload a smaller picture, for example a screenshot of it."
        )
    prepared = preprocess_upload(data, max_bytes=max_bytes)
    probs = probabilities(model, prepared.pixels[None])[0]
    return UploadResult(prepared, probs)


UPLOAD_NOTE = (
    "Photos differ from the dataset: Fashion-MNIST shows one garment, centred, light on a "
    "black background, from product photos. Shadows, folds, other objects or an unusual "
    "angle can mislead the model, so expect more mistakes here than on the test images."
)
