"""Reviews of suspicious labels: what people decided about a picture's label.

Saved in `<runs folder>/.explore/label-reviews.json` (written atomically, one writer at a
time, under a lock file beside it), never in the dataset. The `.explore` folder also holds
the label check's jobs (classifier.jobs.label_check); the run list ignores it.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import time
from pathlib import Path

from classifier.data import CLASS_NAMES, NUM_CLASSES
from classifier.store.files import atomic_write_json, read_json

RIGHT, WRONG = "right", "wrong"  # review decisions


EXPLORE_DIR = ".explore"


REVIEWS_FILE = "label-reviews.json"


MAX_REVIEWS_BYTES = 64 << 20


def explore_dir(root: Path) -> Path:
    return Path(root) / EXPLORE_DIR


def review_key(split: str, index: int) -> str:
    return f"{split}:{int(index)}"


def read_reviews(root: Path) -> dict[str, dict]:
    """Every saved review, by review_key; {} when there are none or the file is damaged.
    Entries that are not what save_review writes are left out."""
    stored = read_json(explore_dir(root) / REVIEWS_FILE, MAX_REVIEWS_BYTES)
    if not isinstance(stored, dict):
        return {}
    reviews = {}
    for key, value in stored.items():
        if not isinstance(key, str) or not isinstance(value, dict):
            continue
        if value.get("decision") not in (RIGHT, WRONG):
            continue
        label = value.get("label")
        if not (isinstance(label, int) and 0 <= label < NUM_CLASSES):
            continue
        reviews[key] = value
    return reviews


def save_review(
    root: Path, split: str, index: int, given: int, decision: str, label: int | None = None
) -> dict:
    """Save one decision: the given label is right, or wrong and `label` is the right one.
    Written atomically, one writer at a time (a lock file beside it)."""
    if decision not in (RIGHT, WRONG):
        raise ValueError(f"A decision is {RIGHT!r} or {WRONG!r}, not {decision!r}.")
    label = int(given if decision == RIGHT else label if label is not None else -1)
    if not 0 <= label < NUM_CLASSES:
        raise ValueError("Say which class the picture really is.")
    folder = explore_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    entry = {
        "split": split,
        "index": int(index),
        "given": int(given),
        "decision": decision,
        "label": label,
        "time": time.time(),
    }
    fd = os.open(folder / f".{REVIEWS_FILE}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        reviews = read_reviews(root)
        reviews[review_key(split, index)] = entry
        atomic_write_json(folder / REVIEWS_FILE, reviews)
    finally:
        os.close(fd)
    return entry


def reviews_csv(reviews: dict[str, dict]) -> str:
    """The reviews as CSV: split, picture, given label, decision, right label, when."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["split", "picture", "given_label", "decision", "right_label", "reviewed_at"])
    for entry in sorted(reviews.values(), key=lambda e: (str(e.get("split")), e.get("index", 0))):
        given = entry.get("given")
        writer.writerow(
            [
                entry.get("split") if entry.get("split") in ("train", "test") else "",
                int(entry.get("index", 0)) if isinstance(entry.get("index"), int) else "",
                CLASS_NAMES[given] if isinstance(given, int) and 0 <= given < 10 else "",
                entry["decision"],
                CLASS_NAMES[entry["label"]],
                _iso_time(entry.get("time")),
            ]
        )
    return buffer.getvalue()


def _iso_time(value) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(value)))
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
