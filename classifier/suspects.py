"""Suspicious labels, in plain Python: confident learning (written here, after Northcutt et
al., "Confident learning", 2021), the K-fold cross-validation that gives every training
picture a prediction from a model that never saw it, and the reviews people make of the
suspects.

Confident learning, as done here. `probs[i]` must be out-of-sample: from a model that did
not train on picture i (the test set with any run's model; the training set through K-fold
cross-validation). For each class j, its threshold t[j] is the mean probability of j over
the pictures labelled j (the class's "self-confidence"). Picture i, labelled y, is a
suspect when probs[i, y] < t[y]; its score is probs[i, y] (the lower, the more suspicious)
and its suggested label the most probable other class (among the classes some picture has).
Northcutt et al. also ask that another class k be confident (probs[i, k] >= t[k]); on
Fashion-MNIST with flipped labels that dropped real flips and cost precision (README,
"Suspicious labels"), so it is left out.

The cross-validation job. Its folder is `<runs folder>/.explore/<key>/` (a hidden folder,
which the run list ignores), named by preset, folds, epochs, pictures and seed, so the same
question is answered once:
    job.json          what to compute (CrossValidation)
    status.json       state, fold, fraction done, error (rewritten atomically)
    fold-<k>.npy      the held-out probabilities of fold k, once it is done (a stopped or
                      killed job starts again after the last finished fold)
    probabilities.npy (N, 10) float32 out-of-sample probabilities, when complete
    stop              present when someone asked it to stop
    .lock             held (flock) by the live worker
The app starts `python -m classifier.suspects worker FOLDER` (like jobs.JobManager starts a
training worker: it inherits the lock and dies with the server); the command line runs the
same `run_cross_validation` in its own process.

Reviews are saved in `<runs folder>/.explore/label-reviews.json` (written atomically, one
writer at a time), never in the dataset.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from classifier.data import CLASS_NAMES, NUM_CLASSES
from classifier.runs import (
    MAX_JSON_BYTES,
    PROJECT_ROOT,
    atomic_write_bytes,
    atomic_write_json,
    is_locked,
    is_regular_file,
    is_stop_requested,
    read_run_file,
    slugify,
)

EXPLORE_DIR = ".explore"
REVIEWS_FILE = "label-reviews.json"
MAX_REVIEWS_BYTES = 64 << 20
JOB_FILE, STATUS_FILE, RESULT_FILE, STOP_FILE, LOCK_FILE = (
    "job.json",
    "status.json",
    "probabilities.npy",
    "stop",
    ".lock",
)
WORKER_LOG = "worker.log"
DEFAULT_PRESET = "Small CNN"  # 0.84 of flipped labels found, against 0.78 (README)
DEFAULT_FOLDS = 4
STATUS_SECONDS = 0.5  # how often the worker rewrites its status while it trains
NONE, RUNNING, COMPLETED, STOPPED, FAILED, INTERRUPTED = (
    "none",
    "running",
    "completed",
    "stopped",
    "failed",
    "interrupted",
)
RIGHT, WRONG = "right", "wrong"  # review decisions


def _read_json(path: Path, limit: int = MAX_JSON_BYTES):
    """A JSON file of ours, or None when missing, a link, too big or damaged."""
    try:
        return json.loads(read_run_file(path, limit))
    except (OSError, ValueError, RecursionError):
        return None


# --- Confident learning ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Ranking:
    """The suspects, most suspicious first: picture numbers, given labels, suggested labels
    and scores (the probability of the given label); and the classes' thresholds."""

    indices: np.ndarray
    labels: np.ndarray
    suggested: np.ndarray
    scores: np.ndarray
    thresholds: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def rows(self, top: int | None = None, offset: int = 0) -> list[dict]:
        """The first `top` suspects as plain dicts (picture numbers relative to the split,
        plus `offset`), as the command line prints them."""
        count = len(self) if top is None else min(top, len(self))
        return [
            {
                "rank": rank + 1,
                "index": int(self.indices[rank]) + offset,
                "label": CLASS_NAMES[int(self.labels[rank])],
                "suggested": CLASS_NAMES[int(self.suggested[rank])],
                "score": round(float(self.scores[rank]), 6),
                "label_number": int(self.labels[rank]),
                "suggested_number": int(self.suggested[rank]),
            }
            for rank in range(count)
        ]

    def position(self, index: int) -> int | None:
        """The 0-based rank of picture `index`, or None when it is no suspect."""
        found = np.flatnonzero(self.indices == index)
        return int(found[0]) if len(found) else None


def class_thresholds(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(10,) the mean probability of each class over the pictures labelled with it; inf for
    a class no picture has (no picture then counts as confidently that class)."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    classes = probs.shape[1]
    sums = np.bincount(labels, weights=probs[np.arange(len(labels)), labels], minlength=classes)
    counts = np.bincount(labels, minlength=classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)


def rank_suspects(probs: np.ndarray, labels: np.ndarray) -> Ranking:
    """Confident learning (see the module docstring): the suspects, lowest score first
    (ties: the lower picture number first)."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(f"{len(labels)} labels for probabilities of shape {probs.shape}.")
    thresholds = class_thresholds(probs, labels)
    rows = np.arange(len(labels))
    given = probs[rows, labels]
    candidates = np.where(np.isfinite(thresholds)[None, :], probs, -np.inf)
    candidates[rows, labels] = -np.inf  # another class than the given one
    suggested = candidates.argmax(axis=1)
    suspect = (given < thresholds[labels]) & np.isfinite(candidates[rows, suggested])
    chosen = np.flatnonzero(suspect)
    order = np.lexsort((chosen, given[chosen]))
    chosen = chosen[order]
    return Ranking(
        indices=chosen.astype(np.int64),
        labels=labels[chosen],
        suggested=suggested[chosen].astype(np.int64),
        scores=given[chosen].astype(np.float32),
        thresholds=thresholds,
    )


# --- K-fold cross-validation -----------------------------------------------------------------


def fold_ids(count: int, folds: int, seed: int = 0) -> np.ndarray:
    """(count,) the fold (0..folds-1) of each picture: a shuffle cut into equal parts."""
    if not 2 <= folds <= count:
        raise ValueError(f"Folds must be between 2 and the number of pictures, not {folds}.")
    order = np.random.default_rng(seed).permutation(count)
    ids = np.empty(count, dtype=np.int64)
    ids[order] = np.arange(count) % folds
    return ids


def fold_split(ids: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """(training pictures, held-out pictures) of one fold: disjoint, ascending."""
    ids = np.asarray(ids)
    return np.flatnonzero(ids != fold), np.flatnonzero(ids == fold)


@dataclass(frozen=True)
class CrossValidation:
    """What a cross-validation job computes: K models of a preset, each trained on all
    folds but one, predicting the one left out."""

    preset: str = DEFAULT_PRESET
    folds: int = DEFAULT_FOLDS
    epochs: int = 0  # 0: the preset's
    limit: int = 0  # the first N training pictures (0: all 60,000)
    seed: int = 0

    def validate(self) -> CrossValidation:
        from classifier.models import PRESETS

        if self.preset not in PRESETS:
            raise ValueError(f"Unknown preset {self.preset!r}; choose one of {list(PRESETS)}.")
        if not 2 <= self.folds <= 10:
            raise ValueError("Folds must be between 2 and 10.")
        if not 0 <= self.epochs <= 200:
            raise ValueError("Epochs must be between 1 and 200 (0: the preset's).")
        if not (self.limit == 0 or 20 <= self.limit <= 60_000):
            raise ValueError("The number of pictures must be 20 to 60,000 (0: all).")
        return self

    @property
    def key(self) -> str:
        pictures = self.limit or "all"
        return slugify(
            f"cv-{self.preset}-k{self.folds}-e{self.train_config().epochs}-n{pictures}-s{self.seed}"
        )

    def train_config(self):
        """The preset's settings for each fold's model (no validation split: the other
        folds are all for training)."""
        from classifier.models import PRESETS, preset_config

        epochs = self.epochs or PRESETS[self.preset].defaults.epochs
        return preset_config(self.preset, epochs=epochs, validation_split=0.0, seed=self.seed)

    @classmethod
    def from_dict(cls, values: dict) -> CrossValidation:
        known = {"preset", "folds", "epochs", "limit", "seed"}
        return cls(**{key: values[key] for key in known if key in values}).validate()


def explore_dir(root: Path) -> Path:
    return Path(root) / EXPLORE_DIR


def job_dir(root: Path, job: CrossValidation) -> Path:
    return explore_dir(root) / job.key


@dataclass(frozen=True)
class JobState:
    """Where a cross-validation job stands, for the page and the command line."""

    status: str = NONE  # NONE, RUNNING, COMPLETED, STOPPED, FAILED or INTERRUPTED
    fraction: float = 0.0
    fold: int = 0  # 1-based, the fold being trained
    folds: int = 0
    error: str | None = None
    seconds: float | None = None

    @property
    def text(self) -> str:
        if self.status == RUNNING:
            where = f"Training model {self.fold} of {self.folds}" if self.fold else "Starting"
            return f"{where}: {self.fraction:.0%} done"
        if self.status == COMPLETED:
            took = f" in {self.seconds:.0f} s" if self.seconds else ""
            return f"Done{took}: every picture was scored by a model that never saw it."
        if self.status == STOPPED:
            return "Stopped. Start again to go on from the last finished model."
        if self.status == INTERRUPTED:
            return "Interrupted (the server stopped). Start again to go on."
        if self.status == FAILED:
            return f"Failed: {self.error or 'unknown error'}"
        return "Not computed yet."


def job_state(root: Path, job: CrossValidation) -> JobState:
    folder = job_dir(root, job)
    status = _read_json(folder / STATUS_FILE)
    if not isinstance(status, dict):
        return JobState()
    state = status.get("status")
    if state not in (RUNNING, COMPLETED, STOPPED, FAILED):
        return JobState()
    if state == RUNNING and not is_locked(folder):
        state = INTERRUPTED
    if state == COMPLETED and read_result(root, job) is None:
        return JobState()
    fraction = status.get("fraction")
    fraction = float(fraction) if isinstance(fraction, int | float) else 0.0
    seconds = status.get("seconds")
    return JobState(
        status=state,
        fraction=min(max(fraction, 0.0), 1.0),
        fold=int(status.get("fold") or 0) if isinstance(status.get("fold"), int) else 0,
        folds=job.folds,
        error=str(status.get("error") or "")[:300] or None,
        seconds=float(seconds) if isinstance(seconds, int | float) else None,
    )


def _job_count(job: CrossValidation) -> int:
    return job.limit or 60_000


def _read_array(path: Path, shape: tuple[int, int]) -> np.ndarray | None:
    if not is_regular_file(path):
        return None
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if array.shape != shape or not np.isfinite(array).all():
        return None
    return array.astype(np.float32)


def _write_array(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array, dtype=np.float32), allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())


def read_result(root: Path, job: CrossValidation) -> np.ndarray | None:
    """The (N, 10) out-of-sample probabilities of a complete job, or None."""
    return _read_array(job_dir(root, job) / RESULT_FILE, (_job_count(job), NUM_CLASSES))


class JobBusy(RuntimeError):
    """Another job (a training run, or another cross-validation) is using the machine."""


def _take_lock(folder: Path) -> int | None:
    """The job folder's lock, or None when a live process holds it."""
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def check_running(root: Path) -> bool:
    """Whether a cross-validation job holds its lock under this runs folder."""
    folder = explore_dir(root)
    try:
        return any(job.is_dir() and is_locked(job) for job in folder.iterdir())
    except OSError:  # no such folder yet
        return False


def _prepare(root: Path, job: CrossValidation) -> tuple[Path, int]:
    """Create the job folder and take its lock; JobBusy while it or a run is live."""
    from classifier.runs import RunStore

    job.validate()
    active = RunStore(root).active_runs()
    if active:
        raise JobBusy(
            f"Run '{active[0].name}' is training, and this machine trains one thing at a "
            "time. Start the check when it has finished."
        )
    folder = job_dir(root, job)
    folder.mkdir(parents=True, exist_ok=True)
    for other in explore_dir(root).iterdir():
        if other != folder and other.is_dir() and is_locked(other):
            raise JobBusy("Another check of the training labels is running: wait for it.")
    fd = _take_lock(folder)
    if fd is None:
        raise JobBusy("This check is already running.")
    with contextlib.suppress(OSError):
        (folder / STOP_FILE).unlink()
    atomic_write_json(folder / JOB_FILE, asdict(job))
    atomic_write_json(folder / STATUS_FILE, {"status": RUNNING, "fraction": 0.0, "fold": 0})
    return folder, fd


def start_job(root: Path, job: CrossValidation) -> None:
    """Start the job in a worker process (unless it is complete); JobBusy when the machine
    is busy. The worker holds the lock; it exits when this process does."""
    root = Path(root).resolve()
    if read_result(root, job) is not None:
        return
    folder, fd = _prepare(root, job)
    try:
        with open(folder / WORKER_LOG, "ab") as log:
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "classifier.suspects",
                    "worker",
                    str(folder),
                    "--lock-fd",
                    str(fd),
                    "--parent-pid",
                    str(os.getpid()),
                ],
                cwd=PROJECT_ROOT,
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    except OSError as error:
        atomic_write_json(folder / STATUS_FILE, {"status": FAILED, "error": str(error)[:300]})
        raise
    finally:
        os.close(fd)  # the worker holds the lock from now on


def request_stop(root: Path, job: CrossValidation) -> None:
    folder = job_dir(root, job)
    if folder.is_dir():
        (folder / STOP_FILE).touch()


def cross_validated_probabilities(
    root: Path, job: CrossValidation, verbose: bool = False
) -> np.ndarray:
    """The job's result: read when complete, else computed here (the command line)."""
    result = read_result(root, job)
    if result is not None:
        return result
    folder, fd = _prepare(Path(root), job)
    try:
        return run_cross_validation(folder, verbose=verbose)
    finally:
        os.close(fd)


def run_cross_validation(folder: Path, verbose: bool = False) -> np.ndarray | None:
    """Train the K models of the job in `folder` (whose lock the caller holds) and store the
    out-of-sample probabilities; None when stopped. Folds already done are reused."""
    started = time.time()
    try:
        job = CrossValidation.from_dict(_read_json(folder / JOB_FILE) or {})
        result = _cross_validate(folder, job, verbose)
    except BaseException as error:
        status = {"status": FAILED, "error": f"{type(error).__name__}: {error}"[:300]}
        with contextlib.suppress(OSError):
            atomic_write_json(folder / STATUS_FILE, status)
        raise
    if result is None:
        atomic_write_json(folder / STATUS_FILE, {"status": STOPPED, "fraction": 0.0})
        return None
    _write_array(folder / RESULT_FILE, result)
    done = {"status": COMPLETED, "fraction": 1.0, "seconds": time.time() - started}
    atomic_write_json(folder / STATUS_FILE, done)
    return result


def _cross_validate(folder: Path, job: CrossValidation, verbose: bool) -> np.ndarray | None:
    from classifier.data import load_dataset, scale_images

    train = load_dataset().train
    count = _job_count(job)
    images, labels = scale_images(train.images[:count]), train.labels[:count]
    return cross_validate(images, labels, job.train_config(), job.folds, job.seed, folder, verbose)


def cross_validate(
    images: np.ndarray,
    labels: np.ndarray,
    config,
    folds: int,
    seed: int = 0,
    folder: Path | None = None,
    verbose: bool = False,
) -> np.ndarray | None:
    """(N, 10) out-of-sample probabilities: for each fold, a new model of `config`
    (models.TrainConfig) trained on the other folds predicts this one. With a job
    `folder`: progress and finished folds are written there, finished folds are reused,
    and a stop request ends it (None)."""
    import keras

    from classifier.inference import softmax
    from classifier.models import build_model, loss_targets

    count = len(labels)
    labels = np.asarray(labels).astype("int32")
    ids = fold_ids(count, folds, seed)
    result = np.zeros((count, NUM_CLASSES), dtype=np.float32)
    for fold in range(folds):
        training, held_out = fold_split(ids, fold)
        saved_path = folder / f"fold-{fold}.npy" if folder else None
        saved = _read_array(saved_path, (len(held_out), NUM_CLASSES)) if saved_path else None
        if saved is not None:
            result[held_out] = saved
            continue
        if folder and is_stop_requested(folder):
            return None
        steps = -(-len(training) // config.batch_size)
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed + fold)
        model = build_model(config, steps)
        progress = _progress_callback(folder, fold, folds, config.epochs, steps)
        model.fit(
            images[training],
            loss_targets(model, labels[training]),
            epochs=config.epochs,
            batch_size=config.batch_size,
            callbacks=[progress],
            verbose=2 if verbose else 0,
        )
        if progress.stopped:
            return None
        probabilities = softmax(model.predict(images[held_out], batch_size=1000, verbose=0))
        if saved_path:
            _write_array(saved_path, probabilities)
        result[held_out] = probabilities
    return result


def _progress_callback(folder: Path | None, fold: int, folds: int, epochs: int, steps: int):
    import keras

    class Progress(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.stopped = False
            self.epoch = 0
            self.last = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if folder is None:
                return
            now = time.monotonic()
            if now - self.last >= STATUS_SECONDS:
                self.last = now
                fraction = (fold + (self.epoch + (batch + 1) / steps) / epochs) / folds
                status = {"status": RUNNING, "fraction": fraction, "fold": fold + 1}
                atomic_write_json(folder / STATUS_FILE, status)
            if is_stop_requested(folder):
                self.stopped = True
                self.model.stop_training = True

    return Progress()


def worker_main(argv: list[str]) -> int:
    """`python -m classifier.suspects worker FOLDER --lock-fd FD --parent-pid PID`."""
    import signal

    from classifier.jobs import EXIT_ERROR, EXIT_OK, exit_when_parent_dies

    parser = argparse.ArgumentParser(prog="python -m classifier.suspects")
    parser.add_argument("command", choices=["worker"])
    parser.add_argument("folder")
    parser.add_argument("--lock-fd", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, default=0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if args.parent_pid:
        exit_when_parent_dies(args.parent_pid)
    try:
        run_cross_validation(Path(args.folder), verbose=True)
    except Exception as error:
        print(f"cross-validation failed: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        with contextlib.suppress(OSError):
            os.close(args.lock_fd)
    return EXIT_OK


# --- Reviews ---------------------------------------------------------------------------------


def review_key(split: str, index: int) -> str:
    return f"{split}:{int(index)}"


def read_reviews(root: Path) -> dict[str, dict]:
    """Every saved review, by review_key; {} when there are none or the file is damaged.
    Entries that are not what save_review writes are left out."""
    stored = _read_json(explore_dir(root) / REVIEWS_FILE, MAX_REVIEWS_BYTES)
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


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
