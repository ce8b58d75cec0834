"""What a trained model says about pictures, in plain Python: class probabilities, the
confusion matrix, saliency maps, and classifying an uploaded picture.

Models output 10 logits; like the tutorial's `probability_model`, we apply a softmax.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from classifier.data import NUM_CLASSES
from classifier.ml.images import PreparedImage, preprocess_upload

PREDICT_BATCH_SIZE = 256  # measured fastest for the 10,000 test images (docs/benchmarks.md)
SALIENCY_METHODS = ("input_x_gradient", "gradient")

# A Keras model is shared by every session of the server (st.cache_resource). TensorFlow uses
# all cores for one call anyway, and the first call of a model traces it, which is not safe
# to do from two threads at once: one predict or saliency at a time.
MODEL_LOCK = threading.Lock()


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


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of the given labels: the test loss every run reports, whatever
    label smoothing it trained with."""
    labels = np.asarray(labels)
    given = probs[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(given, 1e-12, 1.0))))


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
        raise ValueError(f"Unknown method {method!r}; choose one of {SALIENCY_METHODS}.")
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


@dataclass(frozen=True)
class UploadResult:
    image: PreparedImage
    probabilities: np.ndarray  # (10,) float32

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))


def classify_upload(model, data: bytes) -> UploadResult:
    """Prepare an uploaded picture like the dataset (which checks its size on the server:
    the browser enforces the upload limit only on its side) and classify it. Raises
    ImageError with a message for the user."""
    return classify_prepared(model, preprocess_upload(data))


def classify_prepared(model, prepared: PreparedImage) -> UploadResult:
    """What the model says of a picture already prepared like the dataset."""
    probs = probabilities(model, prepared.pixels[None])[0]
    return UploadResult(prepared, probs)
