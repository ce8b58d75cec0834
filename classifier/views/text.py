"""Turning values and user text into what the pages show: durations, run labels, and
user-typed text (run names) made safe for Markdown and for plotly."""

from __future__ import annotations

import html
import math
from datetime import datetime

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
    """'3 min 09 s', '42 s', '18 min' from ten minutes on (whole minutes: the seconds say
    little there, and a score card at 1024 pixels has no room for them), or '-' when
    unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = int(round(seconds))
    if seconds >= 600:
        return f"{round(seconds / 60)} min"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def plotly_text(text: str) -> str:
    """User text for plotly (trace names, hover text, annotations), shown literally.

    Plotly renders a subset of HTML in these (<a href>, <b>, <br>, ...) and decodes
    entities, so escaping <, > and & keeps a run named '<a href="...">' plain text.
    Never put user text into a hovertemplate: "%{...}" there is a placeholder.
    """
    return html.escape(str(text), quote=False)


def format_moment(timestamp: float | None) -> str:
    """A start time as people say it, in local time: '30 Nov 00:36'; '' when unknown."""
    try:
        return datetime.fromtimestamp(float(timestamp)).strftime("%d %b %H:%M").lstrip("0")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def format_clock(timestamp) -> str:
    """A moment today as a clock shows it, in local time: '14:05:09'; '' when unknown."""
    try:
        return datetime.fromtimestamp(float(timestamp)).strftime("%H:%M:%S")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def run_labels(runs) -> dict[str, str]:
    """A unique, human label for each run (RunInfo), keyed by run id.

    "my shirts · Small CNN · 92.6% · 30 Nov 00:36": the name the user gave, if any (an
    unnamed run is called by its id), the preset, the test accuracy or else the status,
    and when it started. Pickers need unique labels: Streamlit maps equal labels to one
    option, so "Delete" could hit another run. Equal labels get " (2)", " (3)", ... in
    the order the runs started, so an older run keeps its label when a newer one appears.
    """
    labels = {}
    for run in runs:
        named = run.name and run.name != run.run_id
        score = f"{run.test_accuracy:.1%}" if run.test_accuracy is not None else run.status
        parts = [run.name if named else "", run.preset or "unknown model", score]
        parts.append(format_moment(run.started_at))
        labels[run.run_id] = " · ".join(" ".join(str(p).split()) for p in parts if p)
    used: set[str] = set()
    for run in sorted(runs, key=lambda run: (_sort_time(run.started_at), run.run_id)):
        base = candidate = labels[run.run_id]
        number = 1
        while candidate in used:  # also when a name itself ends in " (2)"
            number += 1
            candidate = f"{base} ({number})"
        labels[run.run_id] = candidate
        used.add(candidate)
    return labels


def _sort_time(timestamp) -> float:
    try:
        value = float(timestamp)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def with_article(name: str) -> str:
    """A class name with its article, as a sentence says it: "an Ankle boot", "a Bag"."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
