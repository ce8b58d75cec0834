"""Typing what was read: values from a file or a client are untrusted until they pass here.

Each `as_*` returns the value in the expected type and range, or None; `error_summary` and
`os_error_reason` turn an exception into one short line for a user (the full traceback goes
to a log file).
"""

from __future__ import annotations

import errno
import math

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
