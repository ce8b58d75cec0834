"""What a model "sees" in a picture, in plain Python: the activations of its last hidden
layer (its features; both twins' for twin networks), a 2-D map of them (PCA at once,
t-SNE in the background), and the training pictures nearest to a picture in that space.

The t-SNE map of a run's test set is computed once, in a worker process (native code that
can crash never runs in the server: classifier.jobs.embedding), and stored in the run folder
as `map-tsne.npy` (written atomically), so every later visit reads it. The same worker
stores the features of the test and training pictures (`features-test.npy`,
`features-train.npy`, and `features.json` naming the model they came from and their width):
Explore's first map and nearest pictures then need no model and no TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifier.ml.inference import MODEL_LOCK, PREDICT_BATCH_SIZE
from classifier.ml.models import TWIN_LOGITS
from classifier.store.files import atomic_write_json, read_json, read_npy, write_npy
from classifier.store.records import as_int

TSNE_FILE = "map-tsne.npy"
TSNE_PCA_DIMENSIONS = 50  # t-SNE starts from the first 50 principal components (as usual)
TSNE_ITERATIONS = 500
TSNE_SEED = 0
NEIGHBOURS = 8
LOGITS_LAYER = "logits"
FEATURES_FILES = {"test": "features-test.npy", "train": "features-train.npy"}
FEATURES_NOTE = "features.json"
MAX_FEATURE_WIDTH = 4096


# --- Features --------------------------------------------------------------------------------


def feature_model(model):
    """A Keras model from the pictures to the input of the output layer (the "logits"): the
    last hidden layer's output, after its activation (dropout does nothing when
    predicting). For twin networks, which average two output layers, both twins' last
    hidden layers side by side."""
    import keras

    twins = [layer for layer in model.layers if layer.name.startswith(TWIN_LOGITS)]
    if twins:
        hidden = keras.layers.Concatenate(name="twins_features")([twin.input for twin in twins])
        return keras.Model(model.inputs, hidden, name=f"{model.name}_features")
    try:
        last = model.get_layer(LOGITS_LAYER)
    except ValueError:
        last = model.layers[-1]
    return keras.Model(model.inputs, last.input, name=f"{model.name}_features")


def features(extractor, images: np.ndarray, batch_size: int = PREDICT_BATCH_SIZE) -> np.ndarray:
    """(N, d) float32 features of float32 images (N, 28, 28) scaled to 0-1."""
    images = np.asarray(images, dtype=np.float32)
    with MODEL_LOCK:
        values = extractor.predict(images, batch_size=batch_size, verbose=0)
    values = np.asarray(values, dtype=np.float32).reshape(len(images), -1)
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


def write_features(run_path: Path, model_sha256: str, values: dict[str, np.ndarray]) -> None:
    """Store the features of each split in `values` ((N, d) each, one d), computed by the
    model whose checksum is `model_sha256`. The note comes last: a reader trusts the files
    only once it names the model."""
    widths = {np.asarray(array).shape[1] for array in values.values()}
    if len(widths) != 1 or not model_sha256:
        raise ValueError("Features of one model, with one width, are stored together.")
    for split, array in values.items():
        write_npy(run_path / FEATURES_FILES[split], array)
    note = {"model_sha256": model_sha256, "width": widths.pop()}
    atomic_write_json(run_path / FEATURES_NOTE, note)


def read_features(
    run_path: Path, split: str, model_sha256: str | None, count: int, width: int | None
) -> np.ndarray | None:
    """The stored (count, width) features of a split, when the note says they came from
    the model with this checksum and have the width the run's config gives its features
    (classifier.ml.models.feature_width); None otherwise (missing, another model, a link,
    damaged, or another size)."""
    note = read_json(run_path / FEATURES_NOTE)
    if not model_sha256 or not isinstance(note, dict) or split not in FEATURES_FILES:
        return None
    if note.get("model_sha256") != model_sha256:
        return None
    if width is None or as_int(note.get("width"), 1, MAX_FEATURE_WIDTH) != width:
        return None
    return read_npy(run_path / FEATURES_FILES[split], (count, width))


# --- Maps ------------------------------------------------------------------------------------


def principal_components(values: np.ndarray, dimensions: int = 2) -> np.ndarray:
    """The first `dimensions` principal components of (N, d) values: the eigenvectors of
    the centred values' (d, d) scatter matrix with the largest eigenvalues (the same axes
    as an SVD of the (N, d) values, about 70 times faster for 10,000 x 128: measured in
    docs/benchmarks.md, "bench_interactions"). Each axis is signed so that its largest
    coordinate is positive: the same features always give the same map."""
    values = np.asarray(values, dtype=np.float64)
    centred = values - values.mean(axis=0)
    available = min(dimensions, *centred.shape)
    _, vectors = np.linalg.eigh(centred.T @ centred)  # eigenvalues in ascending order
    axes = vectors[:, ::-1][:, :available].T
    projected = centred @ axes.T
    signs = np.sign(projected[np.abs(projected).argmax(axis=0), np.arange(available)])
    projected = projected * np.where(signs == 0, 1, signs)
    # A model with fewer features than dimensions (1 hidden unit): the missing axes are 0,
    # so a map always has the columns it is drawn with.
    padding = np.zeros((len(projected), dimensions - available))
    return np.hstack([projected, padding]).astype(np.float32)


def tsne_map(values: np.ndarray, seed: int = TSNE_SEED, iterations: int = TSNE_ITERATIONS):
    """A 2-D t-SNE map of (N, d) values (scikit-learn's Barnes-Hut t-SNE, started from
    their first principal components)."""
    from sklearn.manifold import TSNE  # late: scikit-learn is slow to import

    values = np.asarray(values, dtype=np.float32)
    reduced = principal_components(values, min(TSNE_PCA_DIMENSIONS, values.shape[1]))
    perplexity = float(min(30.0, max(2.0, (len(values) - 1) / 3)))
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        init="pca",
        learning_rate="auto",
        max_iter=max(250, iterations),
        random_state=seed,
        n_jobs=-1,
    )
    return tsne.fit_transform(reduced).astype(np.float32)


def read_map(run_path: Path, count: int) -> np.ndarray | None:
    """A stored (count, 2) map of a run, or None when it is missing, a link or damaged."""
    return read_npy(run_path / TSNE_FILE, (count, 2))


def write_map(run_path: Path, points: np.ndarray) -> None:
    write_npy(run_path / TSNE_FILE, points)


# --- Nearest neighbours ----------------------------------------------------------------------


class NeighbourIndex:
    """Nearest pictures by Euclidean distance in feature space: a plain dot product over all
    (N, d) features, with their squared norms computed once."""

    def __init__(self, values: np.ndarray):
        self.values = np.ascontiguousarray(values, dtype=np.float32)
        self.norms = np.einsum("ij,ij->i", self.values, self.values)
        self.values.setflags(write=False)
        self.norms.setflags(write=False)

    def __len__(self) -> int:
        return len(self.values)

    def search(
        self, query: np.ndarray, k: int = NEIGHBOURS, exclude: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` nearest pictures to one feature vector, nearest first (ties: the lower
        number first), and their distances; `exclude` leaves one picture out."""
        query = np.asarray(query, dtype=np.float32).ravel()
        squared = self.norms - 2.0 * (self.values @ query) + float(query @ query)
        squared = np.maximum(squared, 0.0)
        if exclude is not None and 0 <= exclude < len(squared):
            squared[exclude] = np.inf
        k = min(k, len(squared))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        candidates = np.argpartition(squared, k - 1)[:k] if k < len(squared) else np.arange(k)
        # Order by distance, then by picture number, so equal distances are stable.
        order = np.lexsort((candidates, squared[candidates]))
        nearest = candidates[order].astype(np.int64)
        return nearest, np.sqrt(squared[nearest]).astype(np.float32)
