"""Files in the run store, read and written by the one set of safe helpers.

Every file the app or a worker writes or reads in a run or job folder goes through here:
- writes are atomic (a temporary file beside the target, fsynced, renamed) or appends that
  never follow a link or block on a FIFO;
- reads open without following links and without blocking (O_NOFOLLOW | O_NONBLOCK), accept
  only regular files, and refuse a file larger than the caller's limit, so a link to
  /dev/zero or a planted FIFO is an error, never a hang or a memory blow-up;
- flag files (a `stop` request) are created without following a link;
- a lock is a `flock` on a regular `.lock` file, held by the live process.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import os
import stat
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from classifier.store.records import RunError

LOCK_FILE = ".lock"
NPY_HEADER_BYTES = 4096  # room for a .npy header beyond the array's own bytes


MAX_JSON_BYTES = 1 << 20  # config.json and status.json


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in `folder` survive a power cut."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write to a temporary file beside `path` (a new, randomly named file: O_EXCL, so never
    through a link), fsync, then rename over it. `durable=False` skips the fsyncs, for a
    file rewritten every second that a power cut may lose (the live sample)."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, json.dumps(value, indent=2, sort_keys=True).encode())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def read_run_file(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a run's file; OSError for a link, anything but a regular file, or a
    file larger than `limit` bytes."""
    # O_NOFOLLOW: a link at `path` fails with ELOOP; O_NONBLOCK: a FIFO does not hang us.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with open(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "Not a regular file", str(path))
        if limit is not None and info.st_size > limit:
            raise OSError(errno.EFBIG, "File too large", str(path))
        return handle.read()


def read_json_lines(path: Path, clean=None, limit: int | None = None) -> list[dict]:
    """Every complete, valid JSON object line, passed through `clean` (which returns None
    for a row to leave out); a truncated or garbage line is skipped. A file larger than
    `limit` bytes is not read at all (nothing, rather than hanging on a forged one)."""
    try:
        return parse_json_lines(read_run_file(path, limit), clean)
    except OSError:
        return []


def is_locked(folder: Path, name: str = LOCK_FILE) -> bool:
    """Whether a live process holds the folder's lock file `name` (a killed process releases
    it). A lock file that is a link or not a regular file is nobody's lock."""
    try:
        fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing also drops the shared lock we may have taken
    return False


class IncrementalJsonLines:
    """Reads growing JSON-lines files, parsing only the bytes added since the last call.

    It remembers the rows of the `max_files` files read last (a live run polled every
    second, and the run shown): a long run's batch log is tens of megabytes of rows, so a
    server that remembered every run ever shown would grow without bound.
    """

    def __init__(self, clean, max_files: int = 2):
        self._clean = clean
        self._max_files = max_files
        self._lock = threading.Lock()
        # path -> (inode, offset, rows), the most recently read last
        self._cache: OrderedDict[Path, tuple[int, int, list[dict]]] = OrderedDict()

    def forget(self, folder: Path) -> None:
        """Drop what is remembered of the files in `folder` (a deleted run)."""
        with self._lock:
            for path in [path for path in self._cache if path.parent == folder]:
                del self._cache[path]

    def remembered_rows(self) -> int:
        with self._lock:
            return sum(len(rows) for _, _, rows in self._cache.values())

    def read(self, path: Path, limit: int | None = None) -> list[dict]:
        """The rows of `path`; nothing when it is larger than `limit` bytes."""
        try:
            info = path.lstat()
        except OSError:
            return []
        if not stat.S_ISREG(info.st_mode):
            return []  # a link: never followed (see is_regular_file)
        if limit is not None and info.st_size > limit:
            return []  # larger than its run can have written: forged or damaged
        with self._lock:
            inode, offset, rows = self._cache.get(path, (info.st_ino, 0, []))
            if inode != info.st_ino or info.st_size < offset:
                offset, rows = 0, []
            if info.st_size > offset:
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                    with open(fd, "rb") as handle:
                        handle.seek(offset)
                        chunk = handle.read(info.st_size - offset)
                except OSError:
                    return rows  # replaced or made unreadable meanwhile: what we had
                complete = chunk.rfind(b"\n") + 1  # a half-written last line waits
                rows = rows + parse_json_lines(chunk[:complete], self._clean)
                offset += complete
            self._cache[path] = (info.st_ino, offset, rows)
            self._cache.move_to_end(path)
            while len(self._cache) > self._max_files:
                self._cache.popitem(last=False)
            return rows


def parse_json_lines(chunk: bytes, clean=None) -> list[dict]:
    rows = []
    for line in chunk.splitlines():
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):  # garbage, or nested deeper than the parser goes
            continue
        if isinstance(value, dict):
            row = clean(value) if clean else value
            if row is not None:
                rows.append(row)
    return rows


def read_json(path: Path, limit: int = MAX_JSON_BYTES):
    """A JSON file of ours, or None when it is missing, a link, a FIFO, larger than `limit`
    bytes or damaged."""
    try:
        return json.loads(read_run_file(path, limit))
    except (OSError, ValueError, RecursionError):
        return None


def lexists(path: Path) -> bool:
    try:
        path.lstat()
        return True
    except OSError:
        return False


def create_flag_file(path: Path) -> None:
    """Create `path` as an empty regular file if it is not one; never through a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        os.unlink(path)  # a link: remove the link itself (never its target), then create
        fd = os.open(path, flags | os.O_EXCL, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file", str(path))
    finally:
        os.close(fd)


def open_append(path: Path):
    """A text handle appending to a regular file (created if missing), never through a link
    or to a FIFO. The caller closes it."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
    fd = os.open(path, flags, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "Not a regular file", str(path))
    return open(fd, "a", encoding="utf-8", errors="replace")  # noqa: SIM115 - caller closes


def append_text(path: Path, text: str) -> None:
    """Append to a regular file (created if missing), never through a link or to a FIFO."""
    with open_append(path) as handle:
        handle.write(text)


def read_npy(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """A stored float array of exactly `shape`, as float32, or None when it is missing, a
    link, too big for that shape, damaged or not finite. The size is checked before the
    file is read: a file is never larger than the array it must hold."""
    limit = int(np.prod(shape)) * 8 + NPY_HEADER_BYTES
    try:
        array = np.load(io.BytesIO(read_run_file(path, limit)), allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if array.shape != tuple(shape) or array.dtype.kind != "f" or not np.isfinite(array).all():
        return None
    return array.astype(np.float32)


def write_npy(path: Path, array: np.ndarray) -> None:
    """Store a float32 array atomically (read back with read_npy)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array, dtype=np.float32), allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())


def take_lock(folder: Path, name: str = LOCK_FILE) -> int | None:
    """The folder's lock file `name`, held exclusively, or None when a live process holds
    it. Never through a link; the caller closes the descriptor to release it."""
    fd = os.open(folder / name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


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


def remove_temp_files(folder: Path, model_file: str) -> None:
    """Delete the half-written files of a dead writer (see save_model_atomically and
    atomic_write_bytes for their names). Only call this while nobody holds the run's lock."""
    for pattern in (f".{Path(model_file).stem}.tmp-*.keras", ".*.tmp"):
        for leftover in folder.glob(pattern):
            with contextlib.suppress(OSError):
                leftover.unlink()
