"""The logic behind the Dataset page, in plain Python: no Streamlit here.

What a view of the dataset is (split, class filter, chosen image), how it travels in a URL,
how the filtered images are cut into pages, and the statistics of a split. The page only
draws widgets and calls these functions, so all of this is tested without a server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.data import CLASS_NAMES, IMAGE_SIZE, NUM_CLASSES, SPLIT_SIZES, SPLITS, Split

ALL_CLASSES = "All"
CLASS_FILTER_OPTIONS: tuple[str, ...] = (ALL_CLASSES, *CLASS_NAMES)
DEFAULT_SPLIT = "train"
# The tutorial's figure of the first 25 training images is a 5 x 5 grid.
DEFAULT_ROWS = 5
DEFAULT_COLUMNS = 5
MAX_ROWS = 10
MAX_COLUMNS = 10
PIXEL_LEVELS = 256

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


def _first_value(value: str | Sequence[str] | None) -> str | None:
    """Query parameters may repeat (?image=1&image=2): keep the first value."""
    if value is None or isinstance(value, str):
        return value
    return value[0] if len(value) else None


def parse_view_params(params: Mapping[str, Any]) -> DatasetView:
    """Read a view from URL query parameters; anything invalid falls back to the default.

    `cls` is a class name ("Shirt", case-insensitive) or its number ("6"). `image` is the
    index of an image inside the split; it is dropped when it is outside the split.
    """
    split = (_first_value(params.get(SPLIT_PARAM)) or "").strip().lower()
    if split not in SPLITS:
        split = DEFAULT_SPLIT
    return DatasetView(
        split=split,
        class_name=_parse_class(_first_value(params.get(CLASS_PARAM))),
        image=_parse_image(_first_value(params.get(IMAGE_PARAM)), SPLIT_SIZES[split]),
    )


def _parse_class(text: str | None) -> str:
    text = (text or "").strip()
    by_lower_name = {name.lower(): name for name in CLASS_FILTER_OPTIONS}
    if text.lower() in by_lower_name:
        return by_lower_name[text.lower()]
    if text.isdigit() and int(text) < NUM_CLASSES:
        return CLASS_NAMES[int(text)]
    return ALL_CLASSES


def _parse_image(text: str | None, split_size: int) -> int | None:
    text = (text or "").strip()
    if not text.isdigit():  # also rejects "-1", "3.5" and "" without an exception
        return None
    index = int(text)
    return index if index < split_size else None


def view_to_params(view: DatasetView) -> dict[str, str | None]:
    """The query parameters of a view; None marks a default, to drop from the URL."""
    return {
        SPLIT_PARAM: view.split,
        CLASS_PARAM: None if view.class_name == ALL_CLASSES else view.class_name,
        IMAGE_PARAM: None if view.image is None else str(view.image),
    }


def filter_indices(labels: np.ndarray, class_name: str) -> np.ndarray:
    """Indices (ascending int64) of the images of one class, or of all images."""
    if class_name == ALL_CLASSES:
        return np.arange(len(labels), dtype=np.int64)
    if class_name not in CLASS_NAMES:
        raise ValueError(f"Unknown class {class_name!r}; choose one of {CLASS_FILTER_OPTIONS}.")
    return np.flatnonzero(labels == CLASS_NAMES.index(class_name)).astype(np.int64)


def page_count(item_count: int, page_size: int) -> int:
    """Number of pages needed for `item_count` items; at least 1, so an empty filter has page 1."""
    if page_size < 1:
        raise ValueError(f"The page size must be at least 1, not {page_size}.")
    return max(1, -(-item_count // page_size))


def clamp_page(page: int, pages: int) -> int:
    """A 1-based page number forced into 1..pages."""
    return min(max(int(page), 1), pages)


def page_items(indices: np.ndarray, page: int, page_size: int) -> np.ndarray:
    """The indices shown on 1-based `page`; out-of-range pages are clamped."""
    page = clamp_page(page, page_count(len(indices), page_size))
    start = (page - 1) * page_size
    return indices[start : start + page_size]


def page_of(indices: np.ndarray, image: int | None, page_size: int) -> int | None:
    """The 1-based page that shows `image`, or None when the filter does not include it."""
    if image is None:
        return None
    position = int(np.searchsorted(indices, image))
    if position < len(indices) and indices[position] == image:
        return position // page_size + 1
    return None


def linked_page(view: DatasetView, labels: np.ndarray, page_size: int) -> int:
    """The page of the grid to open for a view: the one showing its image, else the first."""
    if view.image is None:
        return 1
    return page_of(filter_indices(labels, view.class_name), view.image, page_size) or 1


def neighbour(indices: np.ndarray, current: int, step: int) -> int | None:
    """The next (step=+1) or previous (step=-1) image of the filter, or None at either end.

    Works when `current` is not in the filter (e.g. opened from a link): the next one is
    then the first filtered image after it.
    """
    if step > 0:
        position = int(np.searchsorted(indices, current, side="right"))
        return int(indices[position]) if position < len(indices) else None
    position = int(np.searchsorted(indices, current, side="left")) - 1
    return int(indices[position]) if position >= 0 else None


def index_from_selection(selection: Mapping[str, Any] | None) -> int | None:
    """The image index carried by a clicked point of a plotly grid (its customdata)."""
    points = (selection or {}).get("points") or []
    for point in points:
        customdata = point.get("customdata")
        if isinstance(customdata, list | tuple):
            customdata = customdata[0] if customdata else None
        if customdata is not None:
            return int(customdata)
    return None


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
    "one number, from 0 (black) to 255 (white). Each photo has a label saying which of "
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


def grid_caption(view: DatasetView, shown: int, first: int, total: int) -> str:
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
        f"{stats.black_fraction:.0%} of all pixels are exactly 0, the black background around "
        f"each article; the average pixel value is {stats.mean_intensity:.0f}."
    )
