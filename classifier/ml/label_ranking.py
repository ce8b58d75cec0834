"""Suspicious labels: confident learning (after Northcutt et al., "Confident learning",
2021), on probabilities that must be out-of-sample: from a model that did not train on the
picture (the test set with any run's model; the training set through the label check's
K-fold cross-validation, classifier.jobs.label_check).

For each class j, its threshold t[j] is the mean probability of j over the pictures
labelled j (the class's "self-confidence"). Picture i, labelled y, is a suspect when
probs[i, y] < t[y]; its score is probs[i, y] (the lower, the more suspicious) and its
suggested label the most probable other class (among the classes some picture has).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classifier.data import CLASS_NAMES


@dataclass(frozen=True, eq=False)
class Ranking:
    """The suspects, most suspicious first: picture numbers, given labels, suggested labels
    and scores (the probability of the given label); and the classes' thresholds."""

    indices: np.ndarray
    labels: np.ndarray
    suggested: np.ndarray
    scores: np.ndarray
    thresholds: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def rows(self, top: int | None = None, offset: int = 0) -> list[dict]:
        """The first `top` suspects as plain dicts (picture numbers relative to the split,
        plus `offset`), as the command line prints them."""
        count = len(self) if top is None else min(top, len(self))
        return [
            {
                "rank": rank + 1,
                "index": int(self.indices[rank]) + offset,
                "label": CLASS_NAMES[int(self.labels[rank])],
                "suggested": CLASS_NAMES[int(self.suggested[rank])],
                "score": round(float(self.scores[rank]), 6),
                "label_number": int(self.labels[rank]),
                "suggested_number": int(self.suggested[rank]),
            }
            for rank in range(count)
        ]

    def position(self, index: int) -> int | None:
        """The 0-based rank of picture `index`, or None when it is no suspect."""
        found = np.flatnonzero(self.indices == index)
        return int(found[0]) if len(found) else None


def class_thresholds(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(10,) the mean probability of each class over the pictures labelled with it; inf for
    a class no picture has (no picture then counts as confidently that class)."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    classes = probs.shape[1]
    sums = np.bincount(labels, weights=probs[np.arange(len(labels)), labels], minlength=classes)
    counts = np.bincount(labels, minlength=classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)


def rank_suspects(probs: np.ndarray, labels: np.ndarray) -> Ranking:
    """Confident learning (see the module docstring): the suspects, lowest score first
    (ties: the lower picture number first)."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(f"{len(labels)} labels for probabilities of shape {probs.shape}.")
    thresholds = class_thresholds(probs, labels)
    rows = np.arange(len(labels))
    given = probs[rows, labels]
    candidates = np.where(np.isfinite(thresholds)[None, :], probs, -np.inf)
    candidates[rows, labels] = -np.inf  # another class than the given one
    suggested = candidates.argmax(axis=1)
    suspect = (given < thresholds[labels]) & np.isfinite(candidates[rows, suggested])
    chosen = np.flatnonzero(suspect)
    order = np.lexsort((chosen, given[chosen]))
    chosen = chosen[order]
    return Ranking(
        indices=chosen.astype(np.int64),
        labels=labels[chosen],
        suggested=suggested[chosen].astype(np.int64),
        scores=given[chosen].astype(np.float32),
        thresholds=thresholds,
    )
