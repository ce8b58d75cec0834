"""The run store: one directory per training run, durable like a TensorBoard logdir.

Layout of `<root>/<run_id>/`:
    config.json     the TrainConfig (written once, atomically)
    status.json     state, progress, test scores, model sha256 (rewritten atomically)
    metrics.jsonl   one JSON line per finished epoch (flushed and fsynced)
    batches.jsonl   one JSON line per training batch (flushed a few times a second)
    model.keras     the latest saved model (replaced atomically)
    stop            present when someone asked the job to stop
    .lock           held (flock) by the live training process

A run whose status says "running" while nobody holds its lock was killed: it is shown as
"interrupted". Readers never raise on a damaged run; they report what they can.
This module never imports TensorFlow except inside `load_model`.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUNS_DIR_ENV = "CLASSIFIER_RUNS_DIR"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

RUNNING, COMPLETED, STOPPED, FAILED, INTERRUPTED = (
    "running",
    "completed",
    "stopped",
    "failed",
    "interrupted",
)
# Runs whose model the Verify page can use.
USABLE_STATUSES = (COMPLETED, STOPPED)

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
BATCHES_FILE = "batches.jsonl"
MODEL_FILE = "model.keras"
STOP_FILE = "stop"
LOCK_FILE = ".lock"

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")  # \Z: "$" would accept a final "\n"


class RunError(RuntimeError):
    """A run cannot be found, read or written; the message says why."""


class ModelLoadError(RunError):
    """A run's model is missing, damaged or does not match its recorded checksum."""


def default_runs_root() -> Path:
    """`$CLASSIFIER_RUNS_DIR`, or `runs/` in the project folder."""
    configured = os.environ.get(RUNS_DIR_ENV)
    return Path(configured).expanduser() if configured else PROJECT_ROOT / "runs"


def slugify(text: str, fallback: str = "run") -> str:
    """A user-typed name as a safe path component: `[A-Za-z0-9_-]{1,64}`."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")[:64].strip("-_")
    return slug or fallback


# --- Durable writes ------------------------------------------------------------------------


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in `folder` survive a power cut."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_dir(path.parent)


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, json.dumps(value, indent=2, sort_keys=True).encode())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model_atomically(model, path: Path) -> str:
    """Save a Keras model without ever leaving a half-written file at `path`.

    `model.save()` writes in place, so a crash mid-save would destroy the last good model.
    We save under a temporary name that still ends in `.keras` (Keras insists), fsync,
    then rename. Returns the sha256 of the saved file.
    """
    tmp_path = path.with_name(f".{path.stem}.tmp-{os.getpid()}-{threading.get_ident()}.keras")
    try:
        model.save(tmp_path)
        with open(tmp_path, "rb") as handle:
            os.fsync(handle.fileno())
        digest = sha256_file(tmp_path)
        os.replace(tmp_path, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if error.errno == errno.ENOSPC:
            raise RunError(
                f"Not enough disk space to save the model in {path.parent}; "
                "the previous model was kept. Free some space and try again."
            ) from error
        raise RunError(f"Could not save the model to {path}: {error}") from error
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise
    fsync_dir(path.parent)
    return digest


def append_json_line(handle, record: dict, durable: bool = True) -> None:
    handle.write(json.dumps(record) + "\n")
    handle.flush()
    if durable:
        os.fsync(handle.fileno())


def is_regular_file(path: Path) -> bool:
    """A real file, not a link: a run's files are never links (one could lead out of the
    store, e.g. a "model.keras" served for download that is really someone's secrets)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def read_run_file(path: Path) -> bytes:
    """The bytes of a run's file; OSError for a link or anything but a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)  # a link at `path` fails with ELOOP
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Not a regular file", str(path))
        return handle.read()


def read_json_lines(path: Path) -> list[dict]:
    """Every complete, valid JSON object line; a truncated or garbage line is skipped."""
    try:
        return _parse_lines(read_run_file(path))
    except OSError:
        return []


# --- What a reader sees --------------------------------------------------------------------


@dataclass
class RunInfo:
    """A summary of one run, as the run list shows it."""

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
    def label(self) -> str:
        accuracy = f"{self.test_accuracy:.1%}" if self.test_accuracy is not None else "n/a"
        return f"{self.name or self.run_id} ({self.preset}, {self.status}, test acc. {accuracy})"


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
        while (self.root / candidate).exists():
            suffix += 1
            candidate = f"{base}-{suffix}"
        return candidate

    # Writing -----------------------------------------------------------------------------

    def create_run(self, config: dict, name: str = "") -> RunWriter:
        """Make a new run folder, take its lock, write its config and a "running" status."""
        self.root.mkdir(parents=True, exist_ok=True)
        for _ in range(20):  # two processes may pick the same id in the same second
            run_id = self._new_run_id(name or config.get("preset", "run"))
            path = self.run_dir(run_id)
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
        else:
            raise RunError("Could not create a new run folder.")
        writer = RunWriter(run_id, path)
        atomic_write_json(path / CONFIG_FILE, {**config, "name": name or run_id})
        writer.write_status(
            status=RUNNING,
            started_at=time.time(),
            epochs_done=0,
            epochs_planned=int(config.get("epochs", 0)),
        )
        return writer

    def request_stop(self, run_id: str) -> None:
        """Ask a live job to stop; it does so at the end of the current batch."""
        path = self.run_dir(run_id)
        if path.is_dir():
            (path / STOP_FILE).touch()

    def delete(self, run_id: str) -> None:
        path = self.run_dir(run_id)
        if not path.is_dir():
            raise RunError(f"No run named {run_id!r}.")
        if is_locked(path):
            raise RunError("This run is still training: stop it before deleting it.")
        shutil.rmtree(path)

    # Reading -----------------------------------------------------------------------------

    def list_runs(self) -> list[RunInfo]:
        """Every run, newest first. Unknown files and damaged runs never break the list."""
        if not self.root.is_dir():
            return []
        infos = []
        for entry in self.root.iterdir():
            if entry.is_symlink() or not (entry.is_dir() and RUN_ID_PATTERN.match(entry.name)):
                continue  # run_dir() refuses links that lead out of the store: so do we
            if not ((entry / CONFIG_FILE).exists() or (entry / STATUS_FILE).exists()):
                continue  # not a run (or one being created): never offer to delete it
            infos.append(self._read_info(entry.name, entry))
        infos.sort(key=lambda info: (info.started_at or 0, info.run_id), reverse=True)
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
        return read_json_lines(self.run_dir(run_id) / METRICS_FILE)

    def read_batches(self, run_id: str) -> list[dict]:
        return _BATCH_READER.read(self.run_dir(run_id) / BATCHES_FILE)

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
        if expected and sha256_file(path) != expected:
            raise ModelLoadError(
                f"The model file of run {info.name!r} does not match its recorded checksum: "
                "it was changed or damaged after training. Train it again or delete the run."
            )
        import keras  # late: TensorFlow is slow to import

        try:
            return keras.saving.load_model(path, safe_mode=True)
        except Exception as error:  # Keras raises many types for a damaged archive
            raise ModelLoadError(
                f"The model of run {info.name!r} could not be loaded ({type(error).__name__}). "
                "The file is damaged; train it again or delete the run."
            ) from error

    def _read_info(self, run_id: str, path: Path) -> RunInfo:
        info = RunInfo(run_id=run_id, path=path)
        config = _read_json(path / CONFIG_FILE)
        status = _read_json(path / STATUS_FILE)
        info.config = config if isinstance(config, dict) else {}
        info.status_data = status if isinstance(status, dict) else {}
        info.name = str(info.config.get("name") or run_id)
        info.preset = str(info.config.get("preset", ""))
        info.has_model = is_regular_file(path / MODEL_FILE)
        info.epochs_planned = _as_int(info.config.get("epochs"))
        if not isinstance(status, dict):
            info.status = FAILED
            info.error = "The run's status file is missing or damaged."
        else:
            info.status = str(status.get("status", FAILED))
            info.test_accuracy = _as_float(status.get("test_accuracy"))
            info.test_loss = _as_float(status.get("test_loss"))
            info.started_at = _as_float(status.get("started_at"))
            info.finished_at = _as_float(status.get("finished_at"))
            info.model_sha256 = status.get("model_sha256") or None
            info.error = status.get("error")
        # The metrics log is the truth about finished epochs, even after a crash.
        metrics = read_json_lines(path / METRICS_FILE)
        info.epochs_done = max((_as_int(row.get("epoch")) for row in metrics), default=0)
        if info.status == RUNNING and not is_locked(path):
            info.status = INTERRUPTED
            info.error = info.error or "The training process ended without finishing the run."
            _remove_temp_files(path)  # a process killed mid-save left them; nobody will finish
        end = info.finished_at or (time.time() if info.status == RUNNING else None)
        if end is None and metrics:
            end = _as_float(metrics[-1].get("time"))
        if info.started_at and end:
            info.duration_s = max(0.0, end - info.started_at)
        return info


class RunWriter:
    """The training process's handle on its own run: lock, logs and status."""

    def __init__(self, run_id: str, path: Path, lock_fd: int | None = None):
        self.run_id = run_id
        self.path = path
        if lock_fd is None:
            lock_fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        # The lock lives as long as this descriptor (and its copies in child processes).
        self.lock_fd = lock_fd
        self._status: dict = _read_json(path / STATUS_FILE) or {}

    @property
    def config(self) -> dict:
        return _read_json(self.path / CONFIG_FILE) or {}

    def write_status(self, **changes) -> None:
        self._status.update(changes, updated_at=time.time(), pid=os.getpid())
        atomic_write_json(self.path / STATUS_FILE, self._status)

    @property
    def stop_requested(self) -> bool:
        return (self.path / STOP_FILE).exists()

    def open_log(self, name: str):
        return open(self.path / name, "a", encoding="utf-8")  # noqa: SIM115 - caller closes

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.lock_fd)


def is_locked(run_path: Path) -> bool:
    """Whether a live process holds the run's lock (a killed process releases it)."""
    try:
        fd = os.open(run_path / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing also drops the shared lock we may have taken
    return False


class _IncrementalJsonLines:
    """Reads growing JSON-lines files, parsing only the bytes added since the last call."""

    def __init__(self):
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[int, int, list[dict]]] = {}  # path -> (inode, offset, rows)

    def read(self, path: Path) -> list[dict]:
        try:
            info = path.lstat()
        except OSError:
            return []
        if not stat.S_ISREG(info.st_mode):
            return []  # a link: never followed (see is_regular_file)
        with self._lock:
            inode, offset, rows = self._cache.get(path, (info.st_ino, 0, []))
            if inode != info.st_ino or info.st_size < offset:
                offset, rows = 0, []
            if info.st_size > offset:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
                with open(fd, "rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read(info.st_size - offset)
                complete = chunk.rfind(b"\n") + 1  # a half-written last line waits
                rows = rows + _parse_lines(chunk[:complete])
                offset += complete
            self._cache[path] = (info.st_ino, offset, rows)
            return rows


def _parse_lines(chunk: bytes) -> list[dict]:
    rows = []
    for line in chunk.splitlines():
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                rows.append(value)
    return rows


_BATCH_READER = _IncrementalJsonLines()


def _remove_temp_files(run_path: Path) -> None:
    """Delete the half-written files of a dead writer (see save_model_atomically and
    atomic_write_bytes for their names). Only call this while nobody holds the run's lock."""
    for pattern in (f".{Path(MODEL_FILE).stem}.tmp-*.keras", ".*.tmp"):
        for leftover in run_path.glob(pattern):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _read_json(path: Path):
    try:
        return json.loads(read_run_file(path))
    except (OSError, ValueError):
        return None


def _as_float(value) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


_COLUMN_ORDER = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"]


def _column_order(name: str) -> tuple[int, str]:
    return (_COLUMN_ORDER.index(name) if name in _COLUMN_ORDER else len(_COLUMN_ORDER), name)
