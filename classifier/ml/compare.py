"""One model against another on the same test pictures, in plain Python: the 2x2 table of
who is right, per class which model is better, and McNemar's test in one sentence.

McNemar's test looks only at the pictures the two models disagree on: b pictures only A
gets right, c pictures only B gets right. If both models were equally good, each of these
b + c pictures would be equally likely to fall on either side, so b follows a binomial
distribution with n = b + c and p = 1/2. We compute the exact two-sided binomial p-value
(with the standard library: log-gamma, no approximation), so it is right for small counts
too, where the chi-square form with continuity correction is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from classifier.data import CLASS_NAMES, NUM_CLASSES

# The cells of the 2x2 table, in reading order, and their words.
BOTH_RIGHT, ONLY_A, ONLY_B, BOTH_WRONG = "both_right", "only_a", "only_b", "both_wrong"
CELLS = (BOTH_RIGHT, ONLY_A, ONLY_B, BOTH_WRONG)
CELL_WORDS = {
    BOTH_RIGHT: "Both right",
    ONLY_A: "Only A right",
    ONLY_B: "Only B right",
    BOTH_WRONG: "Both wrong",
}
SIGNIFICANCE = 0.05


@dataclass(frozen=True, eq=False)
class Comparison:
    """Which model gets which test picture right: correct_a and correct_b are (N,) bool."""

    correct_a: np.ndarray
    correct_b: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, probs_a: np.ndarray, probs_b: np.ndarray, labels: np.ndarray) -> Comparison:
        labels = np.asarray(labels, dtype=np.int64)
        if len(probs_a) != len(labels) or len(probs_b) != len(labels):
            raise ValueError("Both models must have a prediction for every picture.")
        return cls(
            np.asarray(probs_a).argmax(axis=1) == labels,
            np.asarray(probs_b).argmax(axis=1) == labels,
            labels,
        )

    def mask(self, cell: str) -> np.ndarray:
        a, b = self.correct_a, self.correct_b
        masks = {BOTH_RIGHT: a & b, ONLY_A: a & ~b, ONLY_B: ~a & b, BOTH_WRONG: ~a & ~b}
        if cell not in masks:
            raise ValueError(f"Unknown cell {cell!r}; choose one of {CELLS}.")
        return masks[cell]

    def indices(self, cell: str) -> np.ndarray:
        """The pictures of one cell, ascending."""
        return np.flatnonzero(self.mask(cell)).astype(np.int64)

    def table(self) -> dict[str, int]:
        """The counts of the four cells (they add up to the number of pictures)."""
        return {cell: int(self.mask(cell).sum()) for cell in CELLS}

    def per_class(self) -> list[dict]:
        """Per true class: the share each model gets right, and which is better."""
        rows = []
        for k in range(NUM_CLASSES):
            mine = self.labels == k
            count = int(mine.sum())
            a = float(self.correct_a[mine].mean()) if count else float("nan")
            b = float(self.correct_b[mine].mean()) if count else float("nan")
            rows.append({"class": CLASS_NAMES[k], "pictures": count, "a": a, "b": b})
        return rows

    def mcnemar(self) -> McNemar:
        table = self.table()
        return mcnemar(table[ONLY_A], table[ONLY_B], len(self.labels))


def better_words(a: float, b: float) -> str:
    """'B, by 2.1 points' / 'A, by 0.4 points' / 'the same'."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return "-"
    points = 100 * (b - a)
    if abs(points) < 0.05:
        return "the same"
    return f"{'B' if points > 0 else 'A'}, by {abs(points):.1f} points"


def binomial_two_sided(k: int, n: int) -> float:
    """The exact two-sided p-value of k successes in n fair coin flips: twice the smaller
    tail, at most 1 (the sum is done with log-gamma, so n in the millions is fine)."""
    if n <= 0:
        return 1.0
    low = min(k, n - k)
    log_half = n * math.log(0.5)
    log_terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half
        for i in range(low + 1)
    ]
    peak = max(log_terms)
    tail = math.exp(peak) * math.fsum(math.exp(term - peak) for term in log_terms)
    return min(1.0, 2.0 * tail)


@dataclass(frozen=True)
class McNemar:
    only_a: int  # pictures only A gets right
    only_b: int  # pictures only B gets right
    pictures: int
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANCE

    @property
    def sentence(self) -> str:
        """The result in one plain sentence."""
        where = f"on these {self.pictures:,} pictures"
        if self.only_a == self.only_b:
            return (
                f"A and B are equally good {where}: each gets {self.only_a:,} pictures right "
                "that the other gets wrong."
            )
        better, worse = ("B", "A") if self.only_b > self.only_a else ("A", "B")
        wins, losses = max(self.only_a, self.only_b), min(self.only_a, self.only_b)
        luck = (
            "the difference is unlikely to be luck"
            if self.significant
            else "the difference could well be luck"
        )
        return (
            f"{better} is better than {worse} {where} ({better} alone is right on {wins:,}, "
            f"{worse} alone on {losses:,}), and {luck}: if the two were equally good, a split "
            f"this uneven would come up {self.chance_text} (McNemar's test)."
        )

    @property
    def chance_text(self) -> str:
        """The p-value in words: 'less than once in 10,000 tries', 'about 3 times in 1,000
        tries', 'about 41 times in 100 tries'."""
        if self.p_value < 0.0001:
            return "less than once in 10,000 tries"
        for tries in (100, 1_000, 10_000):
            times = round(self.p_value * tries)
            if times >= 3 or tries == 10_000:
                return f"about {times:,} {'time' if times == 1 else 'times'} in {tries:,} tries"
        raise AssertionError("unreachable")


def mcnemar(only_a: int, only_b: int, pictures: int | None = None) -> McNemar:
    """McNemar's exact test on the discordant counts (see the module docstring)."""
    only_a, only_b = int(only_a), int(only_b)
    if only_a < 0 or only_b < 0:
        raise ValueError("Counts cannot be negative.")
    p_value = binomial_two_sided(only_a, only_a + only_b)
    return McNemar(only_a, only_b, int(pictures or only_a + only_b), p_value)
