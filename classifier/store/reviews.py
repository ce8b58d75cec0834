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
SPLITS = ("train", "test")


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
        if value.get("decision") not in (RIGHT, WRONG) or value.get("split") not in SPLITS:
            continue
        index, label, given = value.get("index"), value.get("label"), value.get("given")
        if not all(_is_int(number) for number in (index, label, given)):
            continue  # text, a float or true where save_review writes a number
        if not (0 <= label < NUM_CLASSES and 0 <= given < NUM_CLASSES and 0 <= index < 10**6):
            continue
        reviews[key] = value
    return reviews


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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


# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A CSV cell a spreadsheet shows as text: a text that starts like a formula gets a
    single quote in front (OWASP's advice); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def suspects_csv(split: str, rows: list[dict]) -> str:
    """Suspects as CSV, most doubtful first: rank, split, picture, given label, suggested
    label, score (rows as label_ranking.Ranking.rows makes them)."""
    header = ["rank", "split", "picture", "given_label", "suggested_label", "score"]
    cells = ("index", "label", "suggested", "score")
    return _csv(header, ([row["rank"], split, *(row[key] for key in cells)] for row in rows))


def reviews_csv(reviews: dict[str, dict]) -> str:
    """The reviews as CSV: split, picture, given label, decision, right label, when."""
    header = ["split", "picture", "given_label", "decision", "right_label", "reviewed_at"]
    return _csv(header, _review_rows(reviews))


def _review_rows(reviews: dict[str, dict]):
    for entry in sorted(reviews.values(), key=lambda e: (str(e.get("split")), e.get("index", 0))):
        given = entry.get("given")
        yield [
            entry.get("split") if entry.get("split") in ("train", "test") else "",
            int(entry.get("index", 0)) if isinstance(entry.get("index"), int) else "",
            CLASS_NAMES[given] if isinstance(given, int) and 0 <= given < 10 else "",
            entry["decision"],
            CLASS_NAMES[entry["label"]],
            _iso_time(entry.get("time")),
        ]


def _iso_time(value) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(value)))
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
