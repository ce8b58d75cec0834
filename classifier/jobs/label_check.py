"""The label check's job: K-fold cross-validation in a worker process.

Every training picture gets its probabilities from a model that never saw it: K models of
a preset, each trained on all folds but one, each scoring the fold it did not see. The
result feeds the ranking (classifier.ml.label_ranking).

The job's folder is `<runs folder>/.explore/<key>/` (a hidden folder, which the run list
ignores), named by preset, folds, epochs, pictures and seed, so the same question is
answered once:
    job.json          what to compute (CrossValidation)
    status.json       state, fold, fraction done, error (rewritten atomically)
    fold-<k>.npy      the held-out probabilities of fold k, once it is done (a stopped or
                      killed job starts again after the last finished fold)
    probabilities.npy (N, 10) float32 out-of-sample probabilities, when complete
    stop              present when someone asked it to stop (never created through a link)
    .lock             held (flock) by the live worker
The app starts `python -m classifier label-check-worker FOLDER` (jobs.process.spawn_worker,
like a training worker); the command line runs the same `run_cross_validation` in its own
process.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from classifier.data import NUM_CLASSES
from classifier.jobs.process import (
    EXIT_ERROR,
    EXIT_OK,
    START_LOCK,
    WORKER_LOG,
    JobBusyError,
    become_worker,
    busy_reason,
    spawn_worker,
)
from classifier.store.files import (
    atomic_write_json,
    create_flag_file,
    is_locked,
    read_json,
    read_npy,
    take_lock,
    write_npy,
)
from classifier.store.records import as_error, as_float, as_int, error_summary
from classifier.store.reviews import explore_dir
from classifier.store.runs import RunStore, is_stop_requested, slugify

JOB_FILE, STATUS_FILE, RESULT_FILE = "job.json", "status.json", "probabilities.npy"
STOP_FILE = "stop"
NONE, RUNNING, COMPLETED, STOPPED, FAILED, INTERRUPTED = (
    "none",
    "running",
    "completed",
    "stopped",
    "failed",
    "interrupted",
)


DEFAULT_PRESET = "Small CNN"  # top-K precision 0.81 on flipped labels, MLP 0.74 (README)
DEFAULT_FOLDS = 4
STATUS_SECONDS = 0.5  # how often the worker rewrites its status while it trains


# Each fold's model sees about as many pictures in all (pictures x epochs) as the preset's
# epochs on 9,000 pictures (4 folds of 12,000, where the check was tuned): fewer epochs on
# more pictures. On all 60,000 the Small CNN trains 3 epochs instead of 14, about 5 times
# faster, and finds flipped labels better (docs/benchmarks.md, "bench_label_issues").
REFERENCE_PICTURES = 9_000


def check_epochs(preset_epochs: int, pictures_per_model: int) -> int:
    """The epochs of each fold's model: the preset's on up to REFERENCE_PICTURES pictures,
    proportionally fewer on more (at least 1)."""
    scaled = round(preset_epochs * REFERENCE_PICTURES / max(pictures_per_model, 1))
    return max(1, min(preset_epochs, scaled))


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
        from classifier.ml.models import PRESETS

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
        folds are all for training), for `self.epochs` or check_epochs."""
        from classifier.ml.models import PRESETS, preset_config

        pictures = _job_count(self) * (self.folds - 1) // self.folds
        epochs = self.epochs or check_epochs(PRESETS[self.preset].defaults.epochs, pictures)
        return preset_config(self.preset, epochs=epochs, validation_split=0.0, seed=self.seed)

    @classmethod
    def from_dict(cls, values: dict) -> CrossValidation:
        known = {"preset", "folds", "epochs", "limit", "seed"}
        return cls(**{key: values[key] for key in known if key in values}).validate()


# Seconds one training picture costs per epoch with each preset, measured on this 2-core
# machine when quiet (README, "Models": 30 s for the MLP's 10 epochs of 60,000 pictures,
# 96 s for the Small CNN's 14; one network of the Best CNN's twins took 20.3 s an epoch on
# the Intel machine with AMX, and the twins 1.5-2 times that beside it). A busy machine, or
# the AMD one (up to twice as long for the Best CNN), takes longer.
SECONDS_PER_PICTURE_EPOCH = {"Tutorial MLP": 5.0e-5, "Small CNN": 1.15e-4, "Best CNN": 6.4e-4}
START_SECONDS = 6.0  # a worker's start (TensorFlow's import) and each model's setup


def estimate_seconds(job: CrossValidation) -> float:
    """About how long the check takes on a quiet machine: K models, each trained on all
    the pictures but one part, for the preset's epochs."""
    pictures = _job_count(job) * (job.folds - 1) / job.folds
    rate = SECONDS_PER_PICTURE_EPOCH.get(job.preset, max(SECONDS_PER_PICTURE_EPOCH.values()))
    epochs = job.train_config().epochs
    return START_SECONDS * (job.folds + 1) + job.folds * epochs * pictures * rate


def about_time(seconds: float) -> str:
    """'about 40 s', 'about 3 min', 'about 1 h 10 min': how people say an estimate."""
    if seconds < 90:
        return f"about {max(5, round(seconds / 5) * 5):.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"


def estimate_sentence(job: CrossValidation) -> str:
    """The check's cost before it starts, in words."""
    pictures = _job_count(job)
    each = pictures * (job.folds - 1) // job.folds
    epochs = job.train_config().epochs
    return (
        f"It trains {job.folds} {job.preset} models, each on {each:,} of the {pictures:,} "
        f"training pictures for {epochs} epoch{'s' if epochs != 1 else ''}: "
        f"{about_time(estimate_seconds(job))} on a quiet machine, longer while other work runs."
    )


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
    seconds_left: float | None = None  # the worker's estimate while it runs

    @property
    def text(self) -> str:
        if self.status == RUNNING:
            where = f"Training model {self.fold} of {self.folds}" if self.fold else "Starting"
            left = f", {about_time(self.seconds_left)} left" if self.seconds_left else ""
            return f"{where}: {self.fraction:.0%} done{left}"
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
    status = read_json(folder / STATUS_FILE)
    if not isinstance(status, dict):
        return JobState()
    state = status.get("status")
    if state not in (RUNNING, COMPLETED, STOPPED, FAILED):
        return JobState()
    if state == RUNNING and not is_locked(folder):
        state = INTERRUPTED
    if state == COMPLETED and read_result(root, job) is None:
        return JobState()
    # Typed like a run's status (store.records): a 400-digit number is no fraction.
    fraction = as_float(status.get("fraction"), 0.0, 1.0) or 0.0
    return JobState(
        status=state,
        fraction=fraction,
        fold=as_int(status.get("fold"), 0, job.folds) or 0,
        folds=job.folds,
        error=as_error(status.get("error")),
        seconds=as_float(status.get("seconds"), 0.0),
        seconds_left=as_float(status.get("seconds_left"), 0.0, 86_400.0 * 7),
    )


def _job_count(job: CrossValidation) -> int:
    return job.limit or 60_000


def read_result(root: Path, job: CrossValidation) -> np.ndarray | None:
    """The (N, 10) out-of-sample probabilities of a complete job, or None."""
    return read_npy(job_dir(root, job) / RESULT_FILE, (_job_count(job), NUM_CLASSES))


def _prepare(root: Path, job: CrossValidation) -> tuple[Path, int]:
    """Create the job folder and take its lock; JobBusyError while it or a run is live.
    The caller holds START_LOCK, so the busy check and the start are one step. On any
    failure the lock is released again: a check that could not start blocks nothing."""
    job.validate()
    reason = busy_reason(RunStore(root))
    if reason:
        raise JobBusyError(reason)
    folder = job_dir(root, job)
    folder.mkdir(parents=True, exist_ok=True)
    fd = take_lock(folder)
    if fd is None:
        raise JobBusyError("This check is already running.")
    try:
        with contextlib.suppress(FileNotFoundError):
            (folder / STOP_FILE).unlink()
        atomic_write_json(folder / JOB_FILE, asdict(job))
        atomic_write_json(folder / STATUS_FILE, {"status": RUNNING, "fraction": 0.0, "fold": 0})
    except BaseException:
        os.close(fd)
        raise
    return folder, fd


def start_job(root: Path, job: CrossValidation) -> None:
    """Start the job in a worker process (unless it is complete); JobBusyError when the
    machine is busy. The worker holds the lock; it exits when this process does."""
    root = Path(root).resolve()
    if read_result(root, job) is not None:
        return
    with START_LOCK:
        folder, fd = _prepare(root, job)
        try:
            spawn_worker(["label-check-worker", str(folder)], folder / WORKER_LOG, fd)
        except OSError as error:
            with contextlib.suppress(OSError):
                failed = {"status": FAILED, "error": error_summary(error)}
                atomic_write_json(folder / STATUS_FILE, failed)
            raise
        finally:
            os.close(fd)  # the worker holds the lock from now on


def request_stop(root: Path, job: CrossValidation) -> None:
    folder = job_dir(root, job)
    if folder.is_dir():
        create_flag_file(folder / STOP_FILE)


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
        job = CrossValidation.from_dict(read_json(folder / JOB_FILE) or {})
        result = _cross_validate(folder, job, verbose)
    except BaseException as error:
        status = {"status": FAILED, "error": error_summary(error)}
        with contextlib.suppress(OSError):
            atomic_write_json(folder / STATUS_FILE, status)
        raise
    if result is None:
        atomic_write_json(folder / STATUS_FILE, {"status": STOPPED, "fraction": 0.0})
        return None
    write_npy(folder / RESULT_FILE, result)
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

    from classifier.ml.inference import softmax
    from classifier.ml.models import build_model, loss_targets

    count = len(labels)
    labels = np.asarray(labels).astype("int32")
    ids = fold_ids(count, folds, seed)
    result = np.zeros((count, NUM_CLASSES), dtype=np.float32)
    for fold in range(folds):
        training, held_out = fold_split(ids, fold)
        saved_path = folder / f"fold-{fold}.npy" if folder else None
        saved = read_npy(saved_path, (len(held_out), NUM_CLASSES)) if saved_path else None
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
            write_npy(saved_path, probabilities)
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
            self.start: tuple[float, float] | None = None  # (time, fraction) at the first batch

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
                # The time left at the pace of this worker so far (folds done earlier and
                # reused do not count).
                begun, begun_at = self.start or (now, fraction)
                self.start = (begun, begun_at)
                if fraction - begun_at > 0.005:
                    pace = (now - begun) / (fraction - begun_at)
                    status["seconds_left"] = pace * (1.0 - fraction)
                atomic_write_json(folder / STATUS_FILE, status)
            if is_stop_requested(folder):
                self.stopped = True
                self.model.stop_training = True

    return Progress()


def label_check_worker(folder: Path, lock_fd: int, parent_pid: int = 0) -> int:
    """The worker process (`python -m classifier label-check-worker FOLDER`): run the job
    whose lock it inherited; its exit code."""
    become_worker(parent_pid)
    try:
        run_cross_validation(Path(folder), verbose=True)
    except Exception as error:
        print(f"label check failed: {error_summary(error)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        with contextlib.suppress(OSError):
            os.close(lock_fd)
    return EXIT_OK
