"""What the Dataset and Verify pages share about a clickable grid of pictures, in plain
Python: reading links, cutting an ordered list of images into pages, stepping to the
neighbouring image, and reading what a click on a plotly chart carries.

Everything a link or a click hands us is hostile until checked: parsers return None for
anything odd and never raise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from classifier.data import CLASS_NAMES, NUM_CLASSES

# An image number has at most this many digits (the largest split has 60,000 images); a
# longer string is refused before int() sees it (int() refuses more than 4,300 digits).
MAX_INDEX_DIGITS = 6


# --- Links ---------------------------------------------------------------------------------


def first_param(value: str | Sequence[str] | None) -> str:
    """One query parameter as stripped text; a repeated one (?image=1&image=2) keeps the
    first value."""
    if value is not None and not isinstance(value, str):
        value = str(value[0]) if len(value) else None
    return (value or "").strip()


def parse_index(text: str | None, size: int) -> int | None:
    """A picture number 0..size-1 from a link, or None. Only ASCII digits count: "²" and
    "①" pass str.isdigit() but int() refuses them."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_INDEX_DIGITS:
        return None
    index = int(text)
    return index if index < size else None


def parse_class(text: str | None) -> int | None:
    """A class from a link or a select box: its name (any case) or its number; else None."""
    text = (text or "").strip()
    by_name = {name.lower(): number for number, name in enumerate(CLASS_NAMES)}
    if text.lower() in by_name:
        return by_name[text.lower()]
    return parse_index(text, NUM_CLASSES)


# --- Pages and neighbours ------------------------------------------------------------------


def page_count(item_count: int, page_size: int) -> int:
    """Pages needed for `item_count` items; at least 1, so an empty filter has page 1."""
    if page_size < 1:
        raise ValueError(f"The page size must be at least 1, not {page_size}.")
    return max(1, -(-item_count // page_size))


def clamp_page(page: int, pages: int) -> int:
    """A 1-based page number forced into 1..pages."""
    return min(max(int(page), 1), pages)


def page_items(ordered: np.ndarray, page: int, page_size: int) -> np.ndarray:
    """The images on 1-based `page` of `ordered`; out-of-range pages are clamped."""
    page = clamp_page(page, page_count(len(ordered), page_size))
    return ordered[(page - 1) * page_size : page * page_size]


def page_of(ordered: np.ndarray, image: int | None, page_size: int) -> int | None:
    """The 1-based page that shows `image`, or None when it is not in `ordered`."""
    if image is None:
        return None
    positions = np.flatnonzero(np.asarray(ordered) == image)
    return int(positions[0]) // page_size + 1 if len(positions) else None


def neighbour(ordered: np.ndarray, current: int, step: int) -> int | None:
    """The image before (step=-1) or after (+1) `current` in the grid's order; None at
    either end.

    When `current` is not in the grid (a link opened it, or a filter changed), the
    neighbours are the nearest image numbers in the grid below and above it, so the
    buttons still lead into the grid.
    """
    ordered = np.asarray(ordered)
    positions = np.flatnonzero(ordered == current)
    if len(positions):
        target = int(positions[0]) + step
        return int(ordered[target]) if 0 <= target < len(ordered) else None
    if step > 0:
        above = ordered[ordered > current]
        return int(above.min()) if len(above) else None
    below = ordered[ordered < current]
    return int(below.max()) if len(below) else None


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
    """The image index that a click on a grid carries (its marker's customdata)."""
    value = _customdata(selection)
    return int(value[0]) if value else None


def cell_from_selection(selection: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """(true, predicted) of a clicked confusion-matrix cell."""
    value = _customdata(selection)
    return (int(value[0]), int(value[1])) if value and len(value) >= 2 else None
