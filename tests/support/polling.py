"""Waiting for something to become true, without a fixed sleep."""

from __future__ import annotations

import time


def wait_until(condition, timeout: float, what: str = "condition", interval: float = 0.05):
    """Poll `condition()` until it returns something truthy, which is returned; fail with
    `what` in the message after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def process_gone(pid: int) -> bool:
    """Dead, or a zombie that nobody has reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
