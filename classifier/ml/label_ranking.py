"""Suspicious labels with cleanlab (confident learning, Northcutt et al., 2021), on
probabilities that must be out-of-sample: from a model that did not train on the picture
(the test set with any run's model; the training set through the label check's K-fold
cross-validation, classifier.jobs.label_check).

`cleanlab.filter.find_label_issues` estimates which labels are wrong (its default
"prune_by_noise_rate": the confident joint of given and true labels, calibrated, says how
many pictures labelled i are really j; that many of them, those the model most prefers j
for, are flagged); the flagged set is its estimate, and its size the count the pages quote.
It ranks them by a label quality score, lowest first. RANKED_BY is the score: the
probability of the given label ("self_confidence"). With 2.5% of 12,000 training labels
flipped, 0.81 of its first K flagged (K = the flips) were flips, against 0.71 for
"normalized_margin" and 0.79 for "confidence_weighted_entropy" (median of 3 seeds, the
default check; bench/bench_label_issues.py, docs/benchmarks.md). The suggested label of a
suspect is the most probable other class.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from classifier.data import CLASS_NAMES

RANKINGS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
RANKED_BY = "self_confidence"  # measured: see the module docstring


@dataclass(frozen=True, eq=False)
class Ranking:
    """The flagged pictures, most doubtful first: picture numbers, given labels, suggested
    labels and scores (cleanlab's label quality, lower is more doubtful); how many pictures
    were checked and how often the model agrees with their labels (its accuracy)."""

    indices: np.ndarray
    labels: np.ndarray
    suggested: np.ndarray
    scores: np.ndarray
    pictures: int
    accuracy: float
    ranked_by: str = RANKED_BY

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def estimate(self) -> int:
        """cleanlab's estimate of how many labels are wrong: the size of the flagged set."""
        return len(self.indices)

    def rows(self, top: int | None = None, offset: int = 0) -> list[dict]:
        """The first `top` suspects (all when None) as plain dicts (picture numbers relative
        to the split, plus `offset`), as the command line prints them."""
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


def rank_suspects(probs: np.ndarray, labels: np.ndarray, ranked_by: str = RANKED_BY) -> Ranking:
    """cleanlab's flagged set, ranked by `ranked_by` (one of RANKINGS), lowest score first
    (ties: the lower picture number first). Nothing is flagged when fewer than two classes
    have pictures (there is nothing to confuse)."""
    if ranked_by not in RANKINGS:
        raise ValueError(f"Rank by one of {RANKINGS}, not {ranked_by!r}.")
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(f"{len(labels)} labels for probabilities of shape {probs.shape}.")
    accuracy = float((probs.argmax(axis=1) == labels).mean()) if len(labels) else 0.0
    flagged, scores = np.zeros(0, dtype=np.int64), np.zeros(0)
    if len(np.unique(labels)) >= 2:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores

        with warnings.catch_warnings():  # a class without pictures (a short --limit)
            warnings.filterwarnings("ignore", "May not flag all label issues", UserWarning)
            # n_jobs=1: no process pool inside the Streamlit server (60,000 x 10: ~0.1 s).
            found = find_label_issues(labels, probs, return_indices_ranked_by=ranked_by, n_jobs=1)
        flagged = np.asarray(found, dtype=np.int64)
        scores = get_label_quality_scores(labels, probs, method=ranked_by)[flagged]
        order = np.lexsort((flagged, scores))  # cleanlab's order; ties: the lower number
        flagged, scores = flagged[order], scores[order]
    others = probs[flagged]
    others[np.arange(len(flagged)), labels[flagged]] = -np.inf  # another class than given
    suggested = others.argmax(axis=1) if len(flagged) else flagged
    return Ranking(
        indices=flagged,
        labels=labels[flagged],
        suggested=np.asarray(suggested, dtype=np.int64),
        scores=scores.astype(np.float32),
        pictures=len(labels),
        accuracy=accuracy,
        ranked_by=ranked_by,
    )
