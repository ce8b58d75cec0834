"""Turning values and user text into what the pages show: durations, and user-typed text
(run names) made safe for Markdown."""

from __future__ import annotations

import math

_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~$:@")
# GFM turns bare "http://...", "www.x.y" and "a@b.c" into links after escapes are resolved, so
# a backslash cannot stop it; an invisible word joiner before ".", ":" and "@" does.
_NO_AUTOLINK = set(".:@")
WORD_JOINER = "\u2060"


def escape_markdown(text: str) -> str:
    """User text (run names) for st.markdown: shown literally, never as markup, HTML or a link."""
    return "".join(
        (WORD_JOINER if char in _NO_AUTOLINK else "")
        + ("\\" + char if char in _MARKDOWN_SPECIAL else char)
        for char in str(text)
    )


def format_duration(seconds: float | None) -> str:
    """'3 min 09 s', '42 s', or '-' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"
