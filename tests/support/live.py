"""A live run without training: a run whose lock this process holds, with the files a
worker writes while it trains (a batch, epochs of metrics, a live sample); and readers of the
live grid's captions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def sure_of(classes: list[int], confidence: float = 0.91) -> np.ndarray:
    """Probabilities that pick `classes`, each with `confidence`."""
    rows = np.full((len(classes), 10), (1 - confidence) / 9)
    rows[np.arange(len(classes)), classes] = confidence
    return rows


def captions(spec_or_figure) -> dict[str, list[str]]:
    """The grid's captions by colour trace ("captions right", "captions wrong"), one line."""
    data = spec_or_figure["data"]
    return {
        trace["name"]: [text.replace("<br>", " ") for text in trace["text"]]
        for trace in data
        if str(trace.get("name", "")).startswith("captions")
    }


def fake_live_run(root: Path, labels: np.ndarray, right: set[int], extra: tuple = ()):
    """A running run (its lock held by the returned writer) with a batch, two epochs of
    metrics and a live sample of the first 15, one of each class, and `extra` pictures; the
    pictures in `right` are predicted right, the others wrong. Returns (writer, indices,
    probabilities)."""
    from classifier.store.history import LIVE_FILE, live_indices, write_live
    from classifier.store.runs import RunStore

    store = RunStore(root)
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 3}, "live demo")
    writer.write_status(steps_per_epoch=1875)
    sets = live_indices(labels)
    indices = sorted(set(sets["first"]) | set(sets["classes"]) | set(extra))
    classes = [int(labels[i]) if i in right else (int(labels[i]) + 1) % 10 for i in indices]
    probabilities = sure_of(classes)
    write_live(writer.path / LIVE_FILE, 2, 640, indices, probabilities)
    batch = {"epoch": 2, "batch": 640, "steps": 1875, "loss": 0.4, "accuracy": 0.85}
    (writer.path / "batches.jsonl").write_text(json.dumps(batch) + "\n")
    metrics = [
        {"epoch": 1, "loss": 0.5, "accuracy": 0.82, "test_accuracy": 0.82, "test_loss": 0.5},
        {"epoch": 2, "loss": 0.4, "accuracy": 0.85, "test_accuracy": 0.8512, "test_loss": 0.4},
    ]
    (writer.path / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    return writer, indices, probabilities
