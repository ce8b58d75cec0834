"""The run store: one directory per training run, durable like a TensorBoard logdir.

Layout of `<root>/<run_id>/`:
    config.json     the TrainConfig (written once, atomically)
    status.json     state, progress, test scores, model sha256 (rewritten atomically)
    metrics.jsonl   one JSON line per finished epoch (flushed and fsynced)
    batches.jsonl   one JSON line per training batch (flushed a few times a second)
    model.keras     the latest saved model (replaced atomically)
    error.log       the full traceback of a failed run (appended; status.json has one line)
    stop            present when someone asked the job to stop (a regular file, never a link)
    .lock           held (flock) by the live training process

A run whose status says "running" while nobody holds its lock was killed: it is shown as
"interrupted". This module never imports TensorFlow except inside `load_model`.

Odd input. A runs folder can be shared, so its files may have been written by another
version of this app, or by a hostile user. The readers (`list_runs`, `get`, `usable_runs`,
`active_runs`, `read_metrics`, `read_batches`, `metrics_csv`) never raise on what they find
in a run folder (only on a run id that is not valid or not there): anything odd is a damaged
field, never a crash.

- A run's files are opened without following links and without blocking (a FIFO), and read
  only when they are regular files; a config.json or status.json over 1 MB is damaged.
- `RunInfo`, `read_metrics` and `read_batches` are typed and in range (store.records says
  how).

Folders that hold nothing but `.lock` (an older version left them when it could not write a
run) are not runs: `list_runs` skips them, `delete` removes them, and `remove_abandoned`
(which `create_run` calls) removes them once they are a minute old and unlocked.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import os
import re
import shutil
import stat
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from classifier.store.files import (
    LOCK_FILE,
    IncrementalJsonLines,
    append_text,
    atomic_write_json,
    create_flag_file,
    is_locked,
    is_regular_file,
    lexists,
    open_append,
    read_json,
    read_json_lines,
    remove_temp_files,
    sha256_file,
)
from classifier.store.records import (
    MAX_EPOCHS,
    MAX_NAME_CHARS,
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
    ModelLoadError,
    RunError,
    as_error,
    as_float,
    as_int,
    as_text,
    batches_row,
    cannot_write_message,
    error_summary,
    is_disk_full,
    log_size_limits,
    metrics_row,
    os_error_reason,
    refused_by_safe_mode,
    typed_status,
    unknown_status_error,
)

RUNS_DIR_ENV = "CLASSIFIER_RUNS_DIR"
PROJECT_ROOT = Path(__file__).resolve().parents[2]

RUNNING, COMPLETED, STOPPED, FAILED, INTERRUPTED = (
    "running",
    "completed",
    "stopped",
    "failed",
    "interrupted",
)
STATUSES = (RUNNING, COMPLETED, STOPPED, FAILED, INTERRUPTED)
# status.json's "phase" after the last epoch: what the worker does before it is done.
TESTING, SAVING = "testing", "saving"
# Runs whose model the Verify page can use.
USABLE_STATUSES = (COMPLETED, STOPPED)

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
BATCHES_FILE = "batches.jsonl"
MODEL_FILE = "model.keras"
STOP_FILE = "stop"
ERROR_LOG = "error.log"

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")  # \Z: "$" would accept a final "\n"

ABANDONED_AFTER_S = 60.0
KEPT_AFTER_DISK_FULL = (
    "The disk filled up, so training stopped there; the model of the last finished epoch "
    "was kept. Free some space, then continue it."
)


def default_runs_root() -> Path:
    """`$CLASSIFIER_RUNS_DIR`, or `runs/` in the project folder."""
    configured = os.environ.get(RUNS_DIR_ENV)
    return Path(configured).expanduser() if configured else PROJECT_ROOT / "runs"


def slugify(text: str, fallback: str = "run") -> str:
    """A user-typed name as a safe path component: `[A-Za-z0-9_-]{1,64}`."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")[:64].strip("-_")
    return slug or fallback


# --- Durable writes ------------------------------------------------------------------------


def is_stop_requested(run_path: Path) -> bool:
    """Whether the run's `stop` flag is there: a regular file, not a link (lstat only, so
    a link, dangling or leading anywhere, is never followed and is no request)."""
    return is_regular_file(run_path / STOP_FILE)


# --- What a reader sees --------------------------------------------------------------------


@dataclass
class RunInfo:
    """A summary of one run, as the run list shows it (typed and in range: see the module
    docstring)."""

    run_id: str
    path: Path
    name: str = ""
    preset: str = ""
    status: str = FAILED
    epochs_done: int = 0
    epochs_planned: int = 0
    test_accuracy: float | None = None
    test_loss: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None
    model_sha256: str | None = None
    has_model: bool = False
    error: str | None = None
    config: dict = field(default_factory=dict)
    status_data: dict = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """Whether the Verify page can load this run's model."""
        return self.status in USABLE_STATUSES and self.has_model

    @property
    def given_name(self) -> str | None:
        """The name the user gave the run, or None (an unnamed run is named by its id,
        which no one should have to read)."""
        return self.name if self.name and self.name != self.run_id else None

    @property
    def spoken_name(self) -> str:
        """The run in a sentence: "run 'my shirts'", or "the Small CNN run" when unnamed."""
        if self.given_name:
            return f"run '{self.given_name}'"
        return f"the {self.preset or 'unnamed'} run"


class RunStore:
    """All runs under one root folder. Safe to use from several threads and processes."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_runs_root()

    # Paths -------------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        """The folder of `run_id`, refusing anything that could leave the store."""
        if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
            raise RunError(f"Not a valid run id: {run_id!r}.")
        root = self.root.resolve()
        path = (root / run_id).resolve()
        if path.parent != root:
            raise RunError(f"Run {run_id!r} is outside the runs folder.")
        return path

    def _new_run_id(self, name: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{slugify(name)}"[:60]
        candidate, suffix = base, 1
        while os.path.lexists(self.root / candidate):
            suffix += 1
            candidate = f"{base}-{suffix}"
        return candidate

    # Writing -----------------------------------------------------------------------------

    def create_run(self, config: dict, name: str = "") -> RunWriter:
        """Make a new run folder, take its lock, write its config and a "running" status.

        `name` is kept for display as typed (lone surrogates replaced, at most
        MAX_NAME_CHARS); the folder name is a slug of it. When the files cannot be written
        (no permission, a full disk), the new folder is removed again and RunError says
        what to do."""
        name = as_text(name, MAX_NAME_CHARS) or ""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.remove_abandoned()
            for _ in range(20):  # two processes may pick the same id in the same second
                run_id = self._new_run_id(name or str(config.get("preset") or "run"))
                path = self.run_dir(run_id)
                try:
                    path.mkdir()
                    break
                except FileExistsError:
                    continue
            else:
                raise RunError("Could not create a new run folder.")
        except OSError as error:
            raise RunError(cannot_write_message(self.root, error)) from error
        writer = None
        try:
            writer = RunWriter(run_id, path)
            atomic_write_json(path / CONFIG_FILE, {**config, "name": name or run_id})
            writer.write_status(
                status=RUNNING,
                started_at=time.time(),
                epochs_done=0,
                epochs_planned=as_int(config.get("epochs"), 0, MAX_EPOCHS) or 0,
            )
        except BaseException as error:
            if writer is not None:
                writer.release()
            shutil.rmtree(path, ignore_errors=True)  # no empty run left behind
            if isinstance(error, OSError):
                raise RunError(cannot_write_message(self.root, error)) from error
            raise
        return writer

    def remove_abandoned(self, min_age_s: float = ABANDONED_AFTER_S) -> list[str]:
        """Remove the folders that hold nothing but an unlocked, regular `.lock`, untouched
        for `min_age_s` (an older version left them when it could not write a run; a run
        being created is younger). Returns their names; never raises."""
        removed = []
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return removed
        now = time.time()
        for entry in entries:
            if not RUN_ID_PATTERN.match(entry.name):
                continue
            path = Path(entry.path)
            lock = path / LOCK_FILE
            try:
                if not entry.is_dir(follow_symlinks=False) or os.listdir(path) != [LOCK_FILE]:
                    continue
                lock_info = lock.lstat()
                newest = max(entry.stat(follow_symlinks=False).st_mtime, lock_info.st_mtime)
                if not stat.S_ISREG(lock_info.st_mode) or now - newest < min_age_s:
                    continue
                if is_locked(path):
                    continue
                lock.unlink()
                path.rmdir()  # fails, and keeps the folder, if anything appeared meanwhile
                removed.append(entry.name)
            except OSError:
                continue
        return sorted(removed)

    def request_stop(self, run_id: str) -> None:
        """Ask a live job to stop; it does so at the end of the current batch.

        The flag is created without following a link: a `stop` link (to a file outside the
        store, say) is replaced by a regular file, and its target is never touched."""
        path = self.run_dir(run_id)
        if not path.is_dir():
            return
        try:
            create_flag_file(path / STOP_FILE)
        except OSError as error:
            reason = os_error_reason(error)
            raise RunError(f"Cannot ask run {run_id!r} to stop: {reason}.") from error

    def delete(self, run_id: str) -> None:
        path = self.run_dir(run_id)
        if not path.is_dir():
            raise RunError(f"No run named {run_id!r}.")
        if is_locked(path):
            raise RunError("This run is still training: stop it before deleting it.")
        _BATCH_READER.forget(path)
        try:
            shutil.rmtree(path)
        except OSError as error:
            raise RunError(f"Could not delete run {run_id!r}: {os_error_reason(error)}.") from error

    # Reading -----------------------------------------------------------------------------

    def list_runs(self) -> list[RunInfo]:
        """Every run, newest first. Unknown files and damaged runs never break the list."""
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return []
        infos = []
        for entry in entries:
            if not RUN_ID_PATTERN.match(entry.name):
                continue
            try:
                if not entry.is_dir(follow_symlinks=False):
                    continue  # run_dir() refuses links that lead out of the store: so do we
            except OSError:
                continue
            path = self.root / entry.name
            if not (lexists(path / CONFIG_FILE) or lexists(path / STATUS_FILE)):
                continue  # not a run (or one being created): never offer to delete it
            infos.append(self._read_info(entry.name, path))
        infos.sort(key=lambda info: (info.started_at or 0.0, info.run_id), reverse=True)
        return infos

    def get(self, run_id: str) -> RunInfo:
        path = self.run_dir(run_id)
        if not path.is_dir():
            raise RunError(f"No run named {run_id!r}.")
        return self._read_info(run_id, path)

    def active_runs(self) -> list[RunInfo]:
        return [info for info in self.list_runs() if info.status == RUNNING]

    def usable_runs(self) -> list[RunInfo]:
        """Runs with a loadable model, the best by test accuracy first."""
        runs = [info for info in self.list_runs() if info.usable]
        runs.sort(key=lambda info: info.test_accuracy or 0.0, reverse=True)
        return runs

    def read_metrics(self, run_id: str) -> list[dict]:
        """One row per finished epoch (see the module docstring for what a row holds)."""
        path = self.run_dir(run_id)
        limit, _ = log_size_limits(read_json(path / STATUS_FILE))
        return read_json_lines(path / METRICS_FILE, metrics_row, limit)

    def lineage(self, run_id: str, limit: int = 50) -> list[RunInfo]:
        """The run and the runs it continues (config "parent"), oldest first. A missing
        parent, a loop or a chain longer than `limit` ends the line there."""
        line, seen = [], set()
        current: str | None = run_id
        while current and current not in seen and len(line) < limit:
            seen.add(current)
            try:
                info = self.get(current)
            except RunError:
                break
            line.append(info)
            parent = info.config.get("parent")
            current = parent if isinstance(parent, str) else None
        return line[::-1]

    def joined_metrics(self, run_id: str) -> list[dict]:
        """The epoch rows of a run and of the runs it continues, numbered on from one run to
        the next, each row saying which run it belongs to ("run")."""
        rows, offset = [], 0
        for info in self.lineage(run_id):
            metrics = self.read_metrics(info.run_id)
            rows += [{**row, "epoch": offset + row["epoch"], "run": info.run_id} for row in metrics]
            offset += max((row["epoch"] for row in metrics), default=0)
        return rows

    def read_batches(self, run_id: str) -> list[dict]:
        """One row per training batch (see the module docstring for what a row holds)."""
        path = self.run_dir(run_id)
        _, limit = log_size_limits(read_json(path / STATUS_FILE))
        return _BATCH_READER.read(path / BATCHES_FILE, limit)

    def metrics_csv(self, run_id: str) -> str:
        rows = self.read_metrics(run_id)
        columns = sorted({key for row in rows for key in row}, key=_column_order)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()

    def model_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / MODEL_FILE

    def load_model(self, run_id: str):
        """Load a run's model with Keras' safe mode, after checking its sha256."""
        info = self.get(run_id)
        path = self.model_path(run_id)
        if not is_regular_file(path):
            raise ModelLoadError(f"Run {info.name!r} has no saved model.")
        expected = info.model_sha256
        if expected is None and info.status_data.get("model_sha256"):
            raise ModelLoadError(
                f"The recorded checksum of the model of run {info.name!r} is damaged, so the "
                "model cannot be trusted. Train it again or delete the run."
            )
        try:
            matches = not expected or sha256_file(path) == expected
        except OSError as error:
            raise ModelLoadError(
                f"The model of run {info.name!r} could not be read ({os_error_reason(error)})."
            ) from error
        if not matches:
            raise ModelLoadError(
                f"The model file of run {info.name!r} does not match its recorded checksum: "
                "it was changed or damaged after training. Train it again or delete the run."
            )
        import keras  # late: TensorFlow is slow to import

        try:
            return keras.saving.load_model(path, safe_mode=True)
        except Exception as error:  # Keras raises many types for a damaged archive
            if refused_by_safe_mode(error):
                raise ModelLoadError(
                    f"The model of run {info.name!r} uses code that is not allowed to run "
                    "(Keras safe mode refused it), such as a Lambda layer. Only models built "
                    "by this app are loaded; train it again or delete the run."
                ) from error
            raise ModelLoadError(
                f"The model of run {info.name!r} could not be loaded ({type(error).__name__}). "
                "The file is damaged; train it again or delete the run."
            ) from error

    def _read_info(self, run_id: str, path: Path) -> RunInfo:
        info = RunInfo(run_id=run_id, path=path)
        config = read_json(path / CONFIG_FILE)
        status = read_json(path / STATUS_FILE)
        info.config = config if isinstance(config, dict) else {}
        info.status_data = data = typed_status(status) if isinstance(status, dict) else {}
        info.name = as_text(info.config.get("name"), MAX_NAME_CHARS) or run_id
        info.preset = as_text(info.config.get("preset"), MAX_NAME_CHARS) or ""
        info.has_model = is_regular_file(path / MODEL_FILE)
        info.epochs_planned = as_int(info.config.get("epochs"), 0, MAX_EPOCHS) or 0
        if not isinstance(status, dict):
            info.status = FAILED
            info.error = "The run's status file is missing or damaged."
        else:
            info.error = as_error(status.get("error"))
            state = status.get("status")
            if isinstance(state, str) and state in STATUSES:
                info.status = state
            else:
                info.status = FAILED
                info.error = unknown_status_error(state, info.error)
            info.test_accuracy = data.get("test_accuracy")
            info.test_loss = data.get("test_loss")
            info.started_at = data.get("started_at")
            info.finished_at = data.get("finished_at")
            digest = status.get("model_sha256")
            if isinstance(digest, str) and _SHA256.match(digest):
                info.model_sha256 = digest.lower()
        # The metrics log is the truth about finished epochs, even after a crash.
        metrics = read_json_lines(path / METRICS_FILE, metrics_row, log_size_limits(data)[0])
        info.epochs_done = max((row["epoch"] for row in metrics), default=0)
        if info.status == RUNNING and not is_locked(path):
            info.status = INTERRUPTED
            info.error = info.error or "The training process ended without finishing the run."
            # A process killed mid-save left half-written files; nobody will finish them.
            remove_temp_files(path, MODEL_FILE)
        end = info.finished_at or (time.time() if info.status == RUNNING else None)
        if end is None and metrics:
            end = as_float(metrics[-1].get("time"), MIN_TIMESTAMP, MAX_TIMESTAMP)
        if info.started_at and end:
            info.duration_s = max(0.0, end - info.started_at)
        return info


class RunWriter:
    """The training process's handle on its own run: lock, logs and status."""

    def __init__(self, run_id: str, path: Path, lock_fd: int | None = None):
        self.run_id = run_id
        self.path = path
        if lock_fd is None:
            lock_fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        # The lock lives as long as this descriptor (and its copies in child processes).
        self.lock_fd = lock_fd
        status = read_json(path / STATUS_FILE)
        self._status: dict = status if isinstance(status, dict) else {}

    @property
    def config(self) -> dict:
        config = read_json(self.path / CONFIG_FILE)
        return config if isinstance(config, dict) else {}

    def write_status(self, **changes) -> None:
        self._status.update(changes, updated_at=time.time(), pid=os.getpid())
        atomic_write_json(self.path / STATUS_FILE, self._status)

    def record_failure(self, error: BaseException) -> str:
        """Record that the run failed with `error`: its full traceback is appended to
        error.log, and status.json gets status "failed", `finished_at` and a one-line
        `error` (`error_summary`: type and first line of the message, at most
        MAX_ERROR_CHARS), which is returned.

        Best effort: when the disk is too full for these writes, nothing is raised, so the
        caller re-raises `error` itself rather than a second error that hides it."""
        summary = error_summary(error)
        try:
            details = "".join(traceback.format_exception(error))
        except Exception:
            details = summary + "\n"
        header = f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}\n"
        with contextlib.suppress(OSError):
            append_text(self.error_log, header + details)
        status = FAILED
        if is_disk_full(error) and self._kept_model_intact():
            # The model of the last finished epoch is there and whole: the run stopped early
            # rather than failed, so it can be verified and continued once there is space.
            status = STOPPED
            summary = as_error(f"{KEPT_AFTER_DISK_FULL} ({summary})") or summary
        with contextlib.suppress(OSError):
            self.write_status(status=status, error=summary, finished_at=time.time())
        return summary

    def _kept_model_intact(self) -> bool:
        """Whether model.keras is the model this run's status records (its sha256)."""
        recorded = self._status.get("model_sha256")
        model = self.path / MODEL_FILE
        try:
            return bool(recorded) and is_regular_file(model) and sha256_file(model) == recorded
        except OSError:
            return False

    @property
    def error_log(self) -> Path:
        """Where `record_failure` appends the full traceback."""
        return self.path / ERROR_LOG

    @property
    def stop_requested(self) -> bool:
        return is_stop_requested(self.path)

    def open_log(self, name: str):
        """A log of the run (metrics.jsonl, batches.jsonl) opened to append: never through
        a link, never to a FIFO. The caller closes it."""
        return open_append(self.path / name)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.lock_fd)


# --- Typing what was read ------------------------------------------------------------------

_SHA256 = re.compile(r"[0-9a-fA-F]{64}\Z")


_BATCH_READER = IncrementalJsonLines(batches_row)
_COLUMN_ORDER = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"]


def _column_order(name: str) -> tuple[int, str]:
    return (_COLUMN_ORDER.index(name) if name in _COLUMN_ORDER else len(_COLUMN_ORDER), name)
