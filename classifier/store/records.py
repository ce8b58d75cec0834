"""Typing what was read: values from a file or a client are untrusted until they pass here.

Each `as_*` returns the value in the expected type and range, or None; `error_summary` and
`os_error_reason` turn an exception into one short line for a user (the full traceback goes
to a log file).

How a run's files are typed (runs.RunStore's readers):

- `RunInfo` is typed and in range. `name` and `preset` are printable `str` (lone surrogates
  replaced, at most MAX_NAME_CHARS). `epochs_done` and `epochs_planned` are ints in
  0..MAX_EPOCHS (0 when damaged). `test_accuracy` is a float in 0..1, `test_loss` a finite
  float, `started_at` and `finished_at` timestamps between 2000 and 2100 (MIN_TIMESTAMP,
  MAX_TIMESTAMP), `duration_s` a finite float >= 0; each is None when missing or damaged.
  `model_sha256` is 64 lowercase hex digits or None; `error` is a `str` of at most
  MAX_ERROR_CHARS, or None.
- `status` is always one of STATUSES. A status this version does not know (from a newer
  version, or damage) reads as "failed", with an `error` that names it: such a run is never
  offered to Verify nor taken for a live one, and it can be deleted.
- `status_data` is status.json as stored, except that its numeric keys listed in
  `_STATUS_INTS` and `_STATUS_FLOATS` are typed as above, or left out when damaged.
  `config` is config.json as stored (a dict): untrusted.
- `read_metrics` and `read_batches` return only rows whose "epoch" is an int in
  1..MAX_EPOCHS (and for batches "batch" an int in 1..MAX_STEPS); a batch row's "steps" is
  such an int, or left out when damaged. Every other key is a metric name
  (`[A-Za-z_][A-Za-z0-9_]*`, so no CSV header cell can be a spreadsheet formula) whose value
  is a finite float, or None when it is null or a number that is not finite (a diverged
  loss is NaN). Keys with other values (text, lists, true), truncated and garbage lines are
  left out.
"""

from __future__ import annotations

import errno
import math
import re

MAX_ERROR_CHARS = 300


def error_summary(error: BaseException) -> str:
    """One line for a user: the error's type and the first line of its message, cut to
    MAX_ERROR_CHARS."""
    try:
        message = str(error)
    except Exception:  # a broken __str__ must not hide the error itself
        message = ""
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return as_error(text) or type(error).__name__


def as_int(value, low: int, high: int) -> int | None:
    """An int in low..high (an integral float counts), else None; true/false do not count."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and low <= value <= high:
        return int(value)
    return None


def as_float(value, low: float = -math.inf, high: float = math.inf) -> float | None:
    """A finite float in low..high, else None; text and true/false do not count."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return number if math.isfinite(number) and low <= number <= high else None


def as_text(value, limit: int) -> str | None:
    """A str, printable (lone surrogates replaced) and at most `limit` characters, else None."""
    if not isinstance(value, str):
        return None
    return value[: limit * 2].encode("utf-8", "replace").decode("utf-8")[:limit]


def as_error(value) -> str | None:
    """An error message cut to MAX_ERROR_CHARS (ending in "..." when cut), else None."""
    text = as_text(value, MAX_ERROR_CHARS + 1)
    if not text:
        return None
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def os_error_reason(error: OSError) -> str:
    """Why an OS call failed, in words a user can act on."""
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full"
    if error.errno == errno.EROFS:
        return "the file system is read-only"
    if error.errno in (errno.EISDIR, errno.ENXIO):
        return "it is not a regular file"
    text = error.strerror or str(error) or type(error).__name__
    return text[:1].lower() + text[1:]


# What a reader accepts (the app itself trains at most 200 epochs: TrainConfig.validate).
MAX_EPOCHS = 10_000


MAX_STEPS = 10_000_000  # batches in one epoch


MAX_NAME_CHARS = 1000


MIN_TIMESTAMP = 946_684_800.0  # 2000-01-01


MAX_TIMESTAMP = 4_102_444_800.0  # 2100-01-01


MAX_ROW_KEYS = 64  # metrics in one line of a log


_METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")


# The numeric keys of status.json, typed (or left out of RunInfo.status_data when damaged).
_STATUS_INTS = {
    "epochs_done": MAX_EPOCHS,
    "epochs_planned": MAX_EPOCHS,
    "steps_per_epoch": MAX_STEPS,
    "replicas": 1_000_000,
    "global_batch_size": 1_000_000_000,
    "train_images": 1_000_000_000_000,
    "parameters": 1_000_000_000_000_000,
    "pid": 2**31 - 1,
}


_STATUS_FLOATS = {
    "test_accuracy": (0.0, 1.0),
    "test_loss": (-math.inf, math.inf),
    "started_at": (MIN_TIMESTAMP, MAX_TIMESTAMP),
    "finished_at": (MIN_TIMESTAMP, MAX_TIMESTAMP),
    "updated_at": (MIN_TIMESTAMP, MAX_TIMESTAMP),
}


def typed_status(status: dict) -> dict:
    typed = dict(status)
    for key, high in _STATUS_INTS.items():
        if key in typed:
            number = as_int(typed.pop(key), 0, high)
            if number is not None:
                typed[key] = number
    for key, (low, high) in _STATUS_FLOATS.items():
        if key in typed:
            number = as_float(typed.pop(key), low, high)
            if number is not None:
                typed[key] = number
    return typed


def unknown_status_error(state, error: str | None) -> str:
    if state is None:
        what = "no status"
    elif isinstance(state, str):
        what = f"an unknown status {as_text(state, 40)!r}"
    else:
        what = f"an unknown status (a {type(state).__name__})"
    message = f"The run's status file has {what}: written by another version, or damaged."
    return as_error(f"{message} {error}" if error else message)


def _log_row(record: dict, required: dict[str, int], optional: dict[str, int]) -> dict | None:
    """A log line as a typed row (see the module docstring), or None to leave it out."""
    row = {}
    for key, high in required.items():
        number = as_int(record.get(key), 1, high)
        if number is None:
            return None
        row[key] = number
    for key, high in optional.items():
        number = as_int(record.get(key), 1, high)
        if number is not None:
            row[key] = number
    for key, value in record.items():
        if len(row) >= MAX_ROW_KEYS:
            break
        if key in required or key in optional or not _METRIC_NAME.match(key):
            continue
        if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            row[key] = as_float(value)
    return row


_EPOCH = {"epoch": MAX_EPOCHS}


def metrics_row(record: dict) -> dict | None:
    return _log_row(record, _EPOCH, {})


def batches_row(record: dict) -> dict | None:
    return _log_row(record, {**_EPOCH, "batch": MAX_STEPS}, {"steps": MAX_STEPS})


class RunError(RuntimeError):
    """A run cannot be found, read or written; the message says why."""


class ModelLoadError(RunError):
    """A run's model is missing, damaged or does not match its recorded checksum."""


def sentence_start(text: str) -> str:
    """`text` with its first letter in capitals, the rest as it is (unlike str.capitalize,
    which would lower a run's name)."""
    return text[:1].upper() + text[1:]


def is_disk_full(error: BaseException) -> bool:
    """Whether `error`, or an error that caused it, says the disk (or the quota) is full."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


# The most a line of each log can hold (its typed keys at their longest), so that a log's
# size follows from the run: a log larger than its run could have written is not read.
METRICS_LINE_BYTES = 4096
BATCH_LINE_BYTES = 1024
MAX_BATCHES_BYTES = 512 << 20


def log_size_limits(status) -> tuple[int, int]:
    """(metrics.jsonl, batches.jsonl) size limits of a run, from the epochs and steps its
    status.json (`status`, untrusted) plans; the largest allowed when it does not say."""
    status = typed_status(status if isinstance(status, dict) else {})
    epochs = status.get("epochs_planned") or MAX_EPOCHS
    steps = status.get("steps_per_epoch")
    metrics = (epochs + 1) * METRICS_LINE_BYTES
    batches = MAX_BATCHES_BYTES
    if steps:
        batches = min(batches, (epochs * steps + 1) * BATCH_LINE_BYTES)
    return metrics, batches


def cannot_write_message(root, error: OSError) -> str:
    """What to tell a user whose runs folder `root` cannot be written, and what to do."""
    reason = os_error_reason(error)
    if reason == "the disk is full":
        advice = "Free some space, or set CLASSIFIER_RUNS_DIR to another folder."
    elif reason == "permission denied":
        advice = "Make it writable, or set CLASSIFIER_RUNS_DIR to another folder."
    else:
        advice = "Set CLASSIFIER_RUNS_DIR to a folder you can write to."
    return f"Cannot write to the runs folder {root}: {reason}. {advice}"


def refused_by_safe_mode(error: BaseException) -> bool:
    """Whether Keras' safe mode refused to deserialise code (a Lambda layer's function,
    say): a ValueError that mentions safe_mode, anywhere in the chain of causes."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, ValueError):
            text = str(error)
            if "safe_mode" in text or "unsafe" in text.lower():
                return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False
