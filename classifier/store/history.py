"""What a model predicted on the test set while it learned, epoch by epoch (plain Python).

The worker appends, at the end of every epoch, the probabilities of all 10,000 test pictures
to `predictions.f16` in the run folder: one record per epoch, 10,000 x 10 little-endian
float16 values (200,000 bytes), nothing else. Append-only fixed-size records make the
file safe and cheap to read:
- a crash mid-write leaves a partial last record, which readers ignore (the size is not a
  multiple of the record), and never touches the epochs before it;
- the epoch count is the file size divided by the record size, and one epoch or one picture
  is read without loading the rest.

During an epoch the worker also writes `live.json` every few seconds (replaced atomically):
the probabilities of a small fixed set of test pictures (see `live_indices`), so the Train
page can show captions turn from red to blue while the model learns.

Runs recorded before this existed have neither file: readers return no epochs.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path

import numpy as np

from classifier.data import NUM_CLASSES, SPLIT_SIZES
from classifier.store.files import atomic_write_bytes, read_json

HISTORY_FILE = "predictions.f16"
LIVE_FILE = "live.json"
MAX_LIVE_BYTES = 64 << 10  # 15 pictures x 10 probabilities as JSON: a few kilobytes
TEST_COUNT = SPLIT_SIZES["test"]
RECORD_DTYPE = np.dtype("<f2")
LIVE_SECONDS = 2.0  # how often the live sample is predicted during an epoch
LIVE_SIZE = 15  # the tutorial's figure: 5 rows of 3 pictures

# The fixed sets of test pictures the live view can show, and the words for them.
LIVE_SETS = {
    "first": "The tutorial's first 15",
    "classes": "One of each class",
    "hardest": "The hardest of the last run",
}


def record_bytes(count: int = TEST_COUNT) -> int:
    return count * NUM_CLASSES * RECORD_DTYPE.itemsize


# --- Writing (the worker) --------------------------------------------------------------------


def append_epoch(path: Path, probabilities: np.ndarray) -> None:
    """Append one epoch's (count, 10) probabilities, durably (flushed and fsynced)."""
    data = np.ascontiguousarray(probabilities, dtype=RECORD_DTYPE).tobytes()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        # A partial record left by a crash is cut off first, so records stay aligned.
        size = os.fstat(fd).st_size
        if size % len(data):
            os.ftruncate(fd, size - size % len(data))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_live(path: Path, epoch: int, batch: int, indices, probabilities) -> None:
    """Replace the live sample file atomically (readers never see half of it)."""
    record = {
        "epoch": int(epoch),
        "batch": int(batch),
        "indices": [int(index) for index in indices],
        "probabilities": np.round(np.asarray(probabilities, dtype=np.float64), 4).tolist(),
    }
    # A temporary file with a random name (never a predictable one a link could sit on).
    atomic_write_bytes(path, json.dumps(record).encode(), durable=False)


# --- Reading ---------------------------------------------------------------------------------


def epoch_count(path: Path, count: int = TEST_COUNT) -> int:
    """Complete epochs in a history file (0 when it is missing, a link, or damaged)."""
    try:
        info = path.lstat()
    except OSError:
        return 0
    if not path.is_file() or path.is_symlink():
        return 0
    return info.st_size // record_bytes(count)


def read_history(path: Path, count: int = TEST_COUNT, max_epochs: int | None = None) -> np.ndarray:
    """All complete epochs as a read-only (epochs, count, 10) float16 array; (0, count, 10)
    when there are none. A truncated last record is ignored. `max_epochs`: the epochs the
    run says it finished; a file that claims more (damaged, or forged) is read only that far.
    Probabilities are kept in 0..1 (a damaged or diverged value reads as 0)."""
    epochs = epoch_count(path, count)
    if max_epochs is not None:
        epochs = min(epochs, max(0, int(max_epochs)))
    if epochs == 0:
        return np.zeros((0, count, NUM_CLASSES), dtype=RECORD_DTYPE)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with open(fd, "rb") as handle:
            data = handle.read(epochs * record_bytes(count))
    except OSError:
        return np.zeros((0, count, NUM_CLASSES), dtype=RECORD_DTYPE)
    history = np.frombuffer(data, dtype=RECORD_DTYPE).reshape(epochs, count, NUM_CLASSES)
    valid = np.isfinite(history) & (history >= 0) & (history <= 1)
    history = np.where(valid, history, 0).astype(RECORD_DTYPE)  # a damaged byte, a NaN
    history.setflags(write=False)
    return history


def read_live(path: Path) -> dict | None:
    """The latest live sample, or None when missing or odd. Never raises."""
    record = read_json(path, MAX_LIVE_BYTES)  # never through a link, never a FIFO
    try:
        indices = [int(index) for index in record["indices"]]
        probabilities = np.asarray(record["probabilities"], dtype=np.float64)
        epoch, batch = int(record["epoch"]), int(record["batch"])
    except (ValueError, TypeError, KeyError, OverflowError):
        return None
    if probabilities.shape != (len(indices), NUM_CLASSES) or not all(
        0 <= index < TEST_COUNT for index in indices
    ):
        return None
    if not np.isfinite(probabilities).all():
        return None
    return {"epoch": epoch, "batch": batch, "indices": indices, "probabilities": probabilities}


# --- What the history says -------------------------------------------------------------------


def is_prediction(probabilities: np.ndarray) -> bool:
    """Whether one picture's recorded probabilities are a prediction: `read_history` reads a
    diverged model's NaNs (or damaged bytes) as 0, so a row that does not sum to about 1
    predicted nothing."""
    return abs(float(np.sum(probabilities, dtype=np.float64)) - 1.0) < 0.05


def correct_by_epoch(history: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(epochs, count) bool: was each picture right at each epoch?"""
    return np.asarray(history).argmax(axis=2) == np.asarray(labels)[None, :]


def learned_epoch(correct: np.ndarray) -> np.ndarray:
    """(count,) int: the 1-based epoch from which each picture stayed right to the end;
    0 for pictures wrong at the last epoch."""
    epochs = len(correct)
    if epochs == 0:
        return np.zeros(correct.shape[1] if correct.ndim == 2 else 0, dtype=np.int64)
    wrong_positions = np.where(~correct, np.arange(1, epochs + 1)[:, None], 0)
    last_wrong = wrong_positions.max(axis=0)  # 0 when never wrong
    return np.where(correct[-1], last_wrong + 1, 0).astype(np.int64)


def first_right_epoch(correct: np.ndarray) -> np.ndarray:
    """(count,) int: the first 1-based epoch at which each picture was right; 0 if never."""
    if len(correct) == 0:
        return np.zeros(correct.shape[1] if correct.ndim == 2 else 0, dtype=np.int64)
    return np.where(correct.any(axis=0), correct.argmax(axis=0) + 1, 0).astype(np.int64)


def late_start(epochs: int) -> int:
    """The first epoch (1-based) of the last quarter of `epochs` (at least the last one)."""
    return epochs - max(1, math.ceil(epochs / 4)) + 1


# The history filters of the Verify grid, and the words for them.
HISTORY_FILTERS = {
    "learned_in": "Learned in the chosen epoch",
    "learned_late": "Learned late (right only in the last quarter)",
    "forgotten": "Forgotten (right, then wrong again)",
    "never_learned": "Never learned",
}


def history_mask(correct: np.ndarray, mode: str, epoch: int | None = None) -> np.ndarray:
    """(count,) bool: the pictures a history filter keeps.

    learned_in: right from `epoch` to the last epoch, wrong just before it (each picture
    right at the end is learned in exactly one epoch). learned_late: right at the end and
    wrong at every epoch before the last quarter. forgotten: right at some epoch, wrong at a
    later one. never_learned: wrong at every epoch.
    """
    if mode not in HISTORY_FILTERS:
        raise ValueError(f"Unknown history filter {mode!r}; choose one of {list(HISTORY_FILTERS)}.")
    correct = np.asarray(correct, dtype=bool)
    epochs = len(correct)
    if epochs == 0:
        return np.zeros(correct.shape[1] if correct.ndim == 2 else 0, dtype=bool)
    if mode == "learned_in":
        return learned_epoch(correct) == int(epoch or epochs)
    if mode == "learned_late":
        start = late_start(epochs)
        return correct[-1] & ~correct[: start - 1].any(axis=0)
    if mode == "forgotten":
        # Right before some wrong epoch: the running "was ever right" meets a wrong one.
        ever_right = np.logical_or.accumulate(correct, axis=0)
        return (ever_right[:-1] & ~correct[1:]).any(axis=0)
    return ~correct.any(axis=0)


# --- The live sample -------------------------------------------------------------------------


def live_indices(labels: np.ndarray, last_history: np.ndarray | None = None) -> dict:
    """The fixed sets of test pictures the live view can show, by LIVE_SETS key.

    first: the tutorial's first 15. classes: the first picture of each class. hardest: the
    15 pictures whose true class the last recorded run found least likely at its last
    epoch (empty without such a run).
    """
    labels = np.asarray(labels)
    sets = {
        "first": list(range(min(LIVE_SIZE, len(labels)))),
        "classes": [
            int(np.flatnonzero(labels == k)[0]) for k in range(NUM_CLASSES) if (labels == k).any()
        ],
        "hardest": [],
    }
    if last_history is not None and len(last_history):
        last = np.asarray(last_history[-1], dtype=np.float32)
        true_probability = last[np.arange(len(labels)), labels]
        sets["hardest"] = [int(i) for i in np.argsort(true_probability, kind="stable")[:LIVE_SIZE]]
    return sets


def file_size(path: Path) -> int:
    """The size of a history file, as a cache key (0 if missing): it grows with each epoch."""
    with contextlib.suppress(OSError):
        return path.lstat().st_size
    return 0


def recorded_final_epoch(store, run_id: str) -> tuple[int, int] | None:
    """(last epoch, history file size) when a run's recorded history can stand in for its
    model, else None. It can when the run completed, its history holds every epoch, and the
    model file is intact (its sha256 as recorded): the last epoch's predictions were then
    made by the very weights it saved, so Verify opens without loading TensorFlow. Anything
    odd (a damaged model, a missing epoch) is None: loading the model says what is wrong.
    `store` is a runs.RunStore."""
    from classifier.store.files import sha256_file
    from classifier.store.records import RunError
    from classifier.store.runs import COMPLETED

    try:
        info, history = store.get(run_id), store.run_dir(run_id) / HISTORY_FILE
        if (
            info.status == COMPLETED
            and info.epochs_done > 0
            and epoch_count(history) == info.epochs_done
            and info.model_sha256
            and sha256_file(store.model_path(run_id)) == info.model_sha256
        ):
            return info.epochs_done, file_size(history)
    except (RunError, OSError):
        pass
    return None
