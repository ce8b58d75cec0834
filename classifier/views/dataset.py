"""The logic behind the Dataset page, in plain Python: no Streamlit here.

What a view of the dataset is (split, class filter, chosen image), how it travels in a URL,
and the statistics of a split; paging and clicks come from grid_view.py. The page only
draws widgets and calls these functions, so all of this is tested without a server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.data import CLASS_NAMES, IMAGE_SIZE, NUM_CLASSES, SPLIT_SIZES, SPLITS, Split
from classifier.views.grid import first_param, page_of, parse_class, parse_index

ALL_CLASSES = "All"
CLASS_FILTER_OPTIONS: tuple[str, ...] = (ALL_CLASSES, *CLASS_NAMES)
DEFAULT_SPLIT = "train"
# The tutorial's figure of the first 25 training images is a 5 x 5 grid.
DEFAULT_ROWS = 5
DEFAULT_COLUMNS = 5
MAX_ROWS = 10
MAX_COLUMNS = 10
PIXEL_LEVELS = 256

PIXEL_VIEWS = ("Raw 0-255", "Scaled 0-1")
GRID_WIDTH_PX = 480  # tiles shrink as columns are added, so the grid stays about this wide


class Keys:
    """The page's session-state keys, named once."""

    SPLIT = "dataset_split"
    CLASS = "dataset_class"
    INDEX = "dataset_index"  # the picture in the inspector, or None
    CLICKED = "dataset_clicked"  # a picture of the grid was just clicked: go to the inspector
    PAGE = "dataset_page"
    ROWS = "dataset_rows"
    COLUMNS = "dataset_columns"
    PIXELS = "dataset_pixels"


# The URL keys of a view: ?split=test&cls=Shirt&image=42
SPLIT_PARAM = "split"
CLASS_PARAM = "cls"
IMAGE_PARAM = "image"


@dataclass(frozen=True)
class DatasetView:
    """What the page shows: a split, a class filter, and the inspected image (or none)."""

    split: str = DEFAULT_SPLIT
    class_name: str = ALL_CLASSES
    image: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> DatasetView:
        """Read a view from URL query parameters; anything invalid falls back to the default.

        `cls` is a class name ("Shirt", case-insensitive) or its number ("6"). `image` is the
        index of an image inside the split; it is dropped when it is outside the split.
        """
        split = first_param(params.get(SPLIT_PARAM)).lower()
        if split not in SPLITS:
            split = DEFAULT_SPLIT
        class_number = parse_class(first_param(params.get(CLASS_PARAM)))
        return cls(
            split=split,
            class_name=ALL_CLASSES if class_number is None else CLASS_NAMES[class_number],
            image=parse_index(first_param(params.get(IMAGE_PARAM)), SPLIT_SIZES[split]),
        )

    def to_params(self) -> dict[str, str | None]:
        """The query parameters of this view; None marks a default, to drop from the URL."""
        return {
            SPLIT_PARAM: self.split,
            CLASS_PARAM: None if self.class_name == ALL_CLASSES else self.class_name,
            IMAGE_PARAM: None if self.image is None else str(self.image),
        }


def class_indices(labels: np.ndarray, class_name: str) -> np.ndarray:
    """Indices (ascending int64) of the images of one class, or of all images."""
    if class_name == ALL_CLASSES:
        return np.arange(len(labels), dtype=np.int64)
    if class_name not in CLASS_NAMES:
        raise ValueError(f"Unknown class {class_name!r}; choose one of {CLASS_FILTER_OPTIONS}.")
    return np.flatnonzero(labels == CLASS_NAMES.index(class_name)).astype(np.int64)


def linked_state(view: DatasetView, labels: np.ndarray) -> dict[str, Any]:
    """The session state that opens a view (from a link): its page shows its picture."""
    first_page_size = DEFAULT_ROWS * DEFAULT_COLUMNS
    return {
        Keys.SPLIT: view.split,
        Keys.CLASS: view.class_name,
        Keys.INDEX: view.image,
        Keys.PAGE: linked_page(view, labels, first_page_size),
    }


def grid_chart_key(view: DatasetView, page: int, rows: int, columns: int) -> str:
    """One chart key per view drawn: any change gives a new chart without the old selection,
    so a tile stays clickable after the picture was changed by a button or the number box
    (plotly takes a second click on a still-selected point as "deselect")."""
    class_number = CLASS_FILTER_OPTIONS.index(view.class_name)
    parts = (view.split, class_number, page, rows, columns, view.image)
    return "dataset_grid_" + "_".join(str(part) for part in parts)


def linked_page(view: DatasetView, labels: np.ndarray, page_size: int) -> int:
    """The page of the grid to open for a view: the one showing its image, else the first."""
    if view.image is None:
        return 1
    return page_of(class_indices(labels, view.class_name), view.image, page_size) or 1


@dataclass(frozen=True)
class SplitStats:
    """Statistics of one split, computed once and cached by the page (keyed by split name)."""

    split: str
    class_counts: np.ndarray  # (10,) int64: images per class
    mean_images: np.ndarray  # (10, 28, 28) float32: the average picture of each class, 0-255
    intensity_counts: np.ndarray  # (256,) int64: how many pixels have each value 0..255

    @property
    def image_count(self) -> int:
        return int(self.class_counts.sum())

    @property
    def pixel_count(self) -> int:
        return int(self.intensity_counts.sum())

    @property
    def black_fraction(self) -> float:
        """Share of pixels that are exactly 0: the empty background around each article."""
        return float(self.intensity_counts[0] / self.pixel_count)

    @property
    def mean_intensity(self) -> float:
        levels = np.arange(PIXEL_LEVELS)
        return float((levels * self.intensity_counts).sum() / self.pixel_count)


def compute_split_stats(split: Split) -> SplitStats:
    """Images per class, the mean image of each class and the pixel-intensity histogram."""
    labels = split.labels.astype(np.int64)
    class_counts = np.bincount(labels, minlength=NUM_CLASSES)
    # Sum per class in integers, then divide; a class with no images keeps a black mean.
    sums = np.zeros((NUM_CLASSES, IMAGE_SIZE * IMAGE_SIZE), dtype=np.float64)
    flat = split.images.reshape(len(labels), -1)
    for class_index in range(NUM_CLASSES):
        members = flat[labels == class_index]
        if len(members):
            sums[class_index] = members.sum(axis=0, dtype=np.uint32)  # exact; 60,000 x 255 fits
    counts_column = np.maximum(class_counts, 1)[:, None]
    mean_images = (sums / counts_column).astype(np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    stats = SplitStats(split.name, class_counts, mean_images, intensity_histogram(split.images))
    for array in (stats.class_counts, stats.mean_images, stats.intensity_counts):
        array.setflags(write=False)  # shared by every session through st.cache_resource
    return stats


def intensity_histogram(images: np.ndarray, chunk_size: int = 1 << 18) -> np.ndarray:
    """How many pixels have each value 0..255, as (256,) int64.

    np.bincount casts its input to 64-bit integers: on all 47 million training pixels at once
    that is a 376 MB temporary and about 0.8 s; in chunks it takes about 0.1 s.
    """
    pixels = np.asarray(images, dtype=np.uint8).ravel()
    counts = np.zeros(PIXEL_LEVELS, dtype=np.int64)
    for start in range(0, len(pixels), chunk_size):
        counts += np.bincount(pixels[start : start + chunk_size], minlength=PIXEL_LEVELS)
    return counts


# Texts for people who do not program. Numbers that depend on the data are computed.
SPLIT_LABELS = {"train": "Training (60,000)", "test": "Test (10,000)"}
INTRO = (
    "Fashion-MNIST is a collection of **70,000 small photos of clothes, shoes and bags** from "
    "the online shop Zalando. Each photo is **28 x 28 pixels in grayscale**: every pixel is "
    "one number from 0 to 255, drawn here as in the TensorFlow tutorial: 0 white, 255 "
    "black. Each photo has a label saying which of "
    "**ten classes** it shows. **60,000 photos are for training** a model; **10,000 are kept "
    "apart as a test**, to check the model on photos it has never seen."
)
SCALING_NOTE = (
    "The colours only make the numbers visible; hover over a pixel to read its value. "
    "Before training, every value is divided by 255, so 0-255 becomes 0-1 (*Scaled*). "
    "The picture stays the same, but a model learns more steadily from small numbers "
    "of similar size."
)
MEANS_NOTE = (
    "Each tile averages all photos of one class, pixel by pixel: the typical shape a model "
    "can pick up, and a hint why shirts, pullovers and coats get confused."
)


def page_caption(view: DatasetView, shown: int, first: int, total: int) -> str:
    """'Showing images 1-25 of 60,000 in the train split.' for a page of the grid."""
    which = "images" if view.class_name == ALL_CLASSES else f"images of class {view.class_name}"
    if total == 0:
        return f"No {which} in the {view.split} split."
    return (
        f"Showing {which} {first + 1:,}-{first + shown:,} of {total:,} in the {view.split} "
        "split. Click a picture to inspect it."
    )


def counts_note(stats: SplitStats) -> str:
    low, high = int(stats.class_counts.min()), int(stats.class_counts.max())
    balance = (
        f"every class has {low:,}: the classes are balanced"
        if low == high
        else f"classes have {low:,} to {high:,} photos"
    )
    return f"{stats.image_count:,} photos in the {stats.split} split; {balance}."


def intensity_note(stats: SplitStats) -> str:
    return (
        f"{stats.black_fraction:.0%} of all pixels are exactly 0: the empty background "
        f"around each article, white in these pictures; the average pixel value is "
        f"{stats.mean_intensity:.0f}."
    )
