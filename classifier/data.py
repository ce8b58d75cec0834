"""Load the real Fashion-MNIST dataset from its original IDX files, with numpy only.

The loader looks in an explicit directory ($FASHION_MNIST_DIR), then the Keras cache,
then Debian's package `dataset-fashion-mnist`, and only then asks Keras to download.
It never imports TensorFlow unless it has to download, so pages that only browse the
data open fast.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Class 7 is "Sneaker": the tutorial's lowercase 'sneaker' is a typo.
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SIZE = 28
SPLITS = ("train", "test")
SPLIT_SIZES = {"train": 60_000, "test": 10_000}

# File names of the original release, identical in the Keras cache and Debian's package.
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

ENV_DIR = "FASHION_MNIST_DIR"
KERAS_CACHE_DIR = Path("~/.keras/datasets/fashion-mnist").expanduser()
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

HOW_TO_FIX = (
    "Install Debian's package (sudo apt-get install dataset-fashion-mnist), "
    f"or point ${ENV_DIR} at a folder with the four original .gz files, "
    "or run `make run`, which sets this up."
)


class DatasetError(RuntimeError):
    """The dataset is missing or a file is damaged; the message says how to fix it."""


@dataclass(frozen=True)
class Split:
    """One split of the dataset: uint8 images (N, 28, 28) and uint8 labels (N,), read-only."""

    name: str
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class FashionMNIST:
    train: Split
    test: Split
    source: Path

    def split(self, name: str) -> Split:
        if name not in SPLITS:
            raise ValueError(f"Unknown split {name!r}; choose one of {', '.join(SPLITS)}.")
        return self.train if name == "train" else self.test


def candidate_dirs() -> list[Path]:
    """The folders searched, in order of preference."""
    dirs = []
    if os.environ.get(ENV_DIR):
        dirs.append(Path(os.environ[ENV_DIR]).expanduser())
    dirs += [KERAS_CACHE_DIR, DEBIAN_DIR]
    return dirs


def _has_all_files(folder: Path) -> bool:
    return all((folder / name).is_file() for pair in FILES.values() for name in pair)


def find_dataset_dir() -> Path | None:
    """The first folder that holds all four files, or None."""
    for folder in candidate_dirs():
        if _has_all_files(folder):
            return folder
    return None


def _read_gzip(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise DatasetError(f"Missing dataset file {path}. {HOW_TO_FIX}") from None
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(
            f"Dataset file {path} is damaged ({error}). Delete it and reinstall. {HOW_TO_FIX}"
        ) from None


def _parse_idx(path: Path, magic: int, expected_count: int, item_shape: tuple) -> np.ndarray:
    """Parse one IDX file: a big-endian header (magic, counts, dimensions), then uint8 data."""
    raw = _read_gzip(path)
    header_size = 4 * (2 + len(item_shape))
    if len(raw) < header_size:
        raise DatasetError(f"Dataset file {path} is truncated (no full header). {HOW_TO_FIX}")
    header = np.frombuffer(raw, dtype=">u4", count=2 + len(item_shape))
    if int(header[0]) != magic:
        raise DatasetError(
            f"Dataset file {path} is not a Fashion-MNIST IDX file "
            f"(magic number {int(header[0])}, expected {magic}). {HOW_TO_FIX}"
        )
    count, shape = int(header[1]), tuple(int(d) for d in header[2:])
    if count != expected_count or shape != item_shape:
        raise DatasetError(
            f"Dataset file {path} holds {count} items of shape {shape}, "
            f"expected {expected_count} of shape {item_shape}. {HOW_TO_FIX}"
        )
    expected_bytes = count * int(np.prod(item_shape, dtype=np.int64))
    if len(raw) - header_size != expected_bytes:
        raise DatasetError(
            f"Dataset file {path} is truncated or padded ({len(raw) - header_size} data bytes, "
            f"expected {expected_bytes}). {HOW_TO_FIX}"
        )
    data = np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape((count, *item_shape))
    return data  # frombuffer over bytes is already read-only


def load_split(folder: Path, name: str) -> Split:
    images_file, labels_file = FILES[name]
    count = SPLIT_SIZES[name]
    images = _parse_idx(folder / images_file, IMAGES_MAGIC, count, (IMAGE_SIZE, IMAGE_SIZE))
    labels = _parse_idx(folder / labels_file, LABELS_MAGIC, count, ())
    if labels.max() >= NUM_CLASSES:
        raise DatasetError(f"Dataset file {folder / labels_file} has labels outside 0-9.")
    return Split(name, images, labels)


def load_dataset(folder: Path | str | None = None, allow_download: bool = True) -> FashionMNIST:
    """Load both splits from `folder`, or from the first place that has the files.

    Downloads through Keras only when no folder has them and `allow_download` is set.
    Raises DatasetError with a message that says which file is wrong and how to fix it.
    """
    if folder is None:
        folder = find_dataset_dir()
        if folder is None and allow_download:
            folder = _download_with_keras()
        if folder is None:
            searched = ", ".join(str(d) for d in candidate_dirs())
            raise DatasetError(f"Fashion-MNIST not found (searched {searched}). {HOW_TO_FIX}")
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"Dataset folder {folder} does not exist. {HOW_TO_FIX}")
    return FashionMNIST(load_split(folder, "train"), load_split(folder, "test"), folder)


def _download_with_keras() -> Path | None:
    """Let Keras fetch the files into its cache (needs internet); None when that fails."""
    try:
        from keras.datasets import fashion_mnist  # imported late: TensorFlow is slow to import

        fashion_mnist.load_data()
    except Exception:  # no internet, no Keras: the caller explains how to install the data
        return None
    return KERAS_CACHE_DIR if _has_all_files(KERAS_CACHE_DIR) else None


def scale_images(images: np.ndarray) -> np.ndarray:
    """Pixels 0-255 as float32 in 0-1, what the models see (the tutorial's `/ 255.0`)."""
    return images.astype(np.float32) / 255.0
