"""Benchmark of the suspicious labels (cleanlab, classifier/ml/label_ranking.py).

1. Flipped labels: the first 12,000 training pictures (--pictures N: the first N; 60000 for
   all, the app's check), FLIP_SHARE (2.5%: 300 of 12,000) of their labels flipped at random
   to another class, one copy per seed. The label check's default
   cross-validation (label_check.DEFAULT_PRESET, DEFAULT_FOLDS folds, the job's seed) gives
   every picture probabilities from a model that never saw it; cleanlab flags a set. Per
   seed and per ranking (label_ranking.RANKINGS; the flagged set is the same for all, only
   its order differs):
     - found: the share of the flipped labels inside the flagged set (target >= 0.8);
     - size: flagged pictures / flipped labels (target <= 3);
     - precision@K: the share of flipped labels among the first K flagged, K = the number
       flipped (of the flagged ones, when fewer than K are flagged; target >= 0.8);
     - suggested: the share of found flips whose suggested label is the original one.
2. The clean test set with a Small CNN run: how many of the 10,000 test labels cleanlab
   flags (target < 5%). The run is the most accurate Small CNN in --runs-dir, else one is
   trained (`python -m classifier train --preset "Small CNN"`, a few minutes) in a
   temporary store.
3. The ranking's time on 60,000 x 10 probabilities (the test set's, six times over):
   median of 5, after cleanlab's first import.

Each figure per seed, then their median and mean over the seeds: precision@K of one seed
spreads about 0.02 either side of the middle (300 flips), so the targets are read on those.

Run from the project folder: .venv/bin/python -m bench label_issues [OPTIONS] (or
`-m bench.bench_label_issues`), on demand: 7 seeds take 8-15 minutes here, plus a Small
CNN training when --runs-dir has none. OPTIONS: [--seeds 1 2 3 4 5 6 7] [--preset PRESET]
[--pictures N] [--runs-dir DIR] [--skip-flips] [--skip-test]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 12_000
FLIP_SHARE = 0.025


def flip_labels(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(noisy labels, flipped picture numbers): FLIP_SHARE of them, each to another class."""
    rng = np.random.default_rng(seed)
    count = round(FLIP_SHARE * len(labels))
    flipped = np.sort(rng.choice(len(labels), count, replace=False))
    noisy = labels.astype(np.int64).copy()
    noisy[flipped] = (noisy[flipped] + rng.integers(1, 10, count)) % 10
    return noisy, flipped


def flip_figures(ranking, flipped: np.ndarray, original: np.ndarray) -> dict:
    flips = set(flipped.tolist())
    flagged = ranking.indices.tolist()
    top = flagged[: len(flipped)]
    found = [index for index in flagged if index in flips]
    suggested = dict(zip(flagged, ranking.suggested.tolist(), strict=True))
    return {
        "found": len(found) / len(flipped),
        "size": len(flagged) / len(flipped),
        "precision": sum(index in flips for index in top) / max(len(top), 1),
        "suggested": np.mean([suggested[i] == original[i] for i in found]) if found else 0.0,
        "flagged": len(flagged),
        "accuracy": ranking.accuracy,
    }


def flipped_labels(seeds: list[int], preset: str | None, pictures: int = LIMIT) -> list[str]:
    from classifier.data import load_dataset, scale_images
    from classifier.jobs.label_check import (
        DEFAULT_FOLDS,
        DEFAULT_PRESET,
        CrossValidation,
        cross_validate,
    )
    from classifier.ml.label_ranking import RANKED_BY, RANKINGS, rank_suspects

    job = CrossValidation(preset=preset or DEFAULT_PRESET, limit=pictures)
    train = load_dataset().train
    images, original = scale_images(train.images[:pictures]), train.labels[:pictures]
    figures = {ranked_by: [] for ranked_by in RANKINGS}
    lines = [
        f"{pictures:,} training pictures, {FLIP_SHARE:.1%} flipped; {job.folds} folds of the "
        f"{job.preset} ({job.train_config().epochs} epochs; default {DEFAULT_FOLDS} folds)",
        f"{'seed':>4} {'ranking':<18} {'found':>6} {'size':>6} {'prec@K':>6} {'sugg.':>6} "
        f"{'flagged':>7} {'acc.':>6} {'CV s':>5}",
    ]
    unflipped_on_top = {}  # seed -> pictures in the default ranking's top K not flipped
    for seed in seeds:
        noisy, flipped = flip_labels(original, seed)
        start = time.perf_counter()
        probs = cross_validate(images, noisy, job.train_config(), job.folds, job.seed)
        seconds = time.perf_counter() - start
        for ranked_by in RANKINGS:
            ranking = rank_suspects(probs, noisy, ranked_by)
            row = flip_figures(ranking, flipped, original)
            if ranked_by == RANKED_BY:
                top = ranking.indices[: len(flipped)]
                unflipped_on_top[seed] = set(top[~np.isin(top, flipped)].tolist())
            figures[ranked_by].append(row)
            lines.append(
                f"{seed:>4} {ranked_by:<18} {row['found']:>6.3f} {row['size']:>6.2f} "
                f"{row['precision']:>6.3f} {row['suggested']:>6.3f} {row['flagged']:>7} "
                f"{row['accuracy']:>6.3f} {seconds:>5.0f}"
            )
    for ranked_by, rows in figures.items():
        for name, summary in (("med.", statistics.median), ("mean", statistics.fmean)):
            middle = {key: summary(row[key] for row in rows) for key in rows[0]}
            lines.append(
                f"{name:>4} {ranked_by:<18} {middle['found']:>6.3f} {middle['size']:>6.2f} "
                f"{middle['precision']:>6.3f} {middle['suggested']:>6.3f} "
                f"{middle['flagged']:>7.0f} {middle['accuracy']:>6.3f}"
            )
    lines.append("targets: found >= 0.8, size <= 3, precision@K >= 0.8")
    # The dataset's own doubtful labels: pictures not flipped that every seed's check still
    # puts among its first K (with their original label). Precision against the flips
    # alone counts them as mistakes of the check.
    always = set.intersection(*unflipped_on_top.values()) if unflipped_on_top else set()
    flips = round(FLIP_SHARE * pictures)
    lines.append(
        f"Not flipped, yet among the first {flips} of every seed ({RANKED_BY}): "
        f"{len(always)} pictures: {sorted(always)}"
    )
    for seed, misses in unflipped_on_top.items():
        lines.append(
            f"  seed {seed}: precision@K {(flips - len(misses)) / flips:.3f} against the flips; "
            f"{(flips - len(misses - always)) / flips:.3f} counting those as doubtful labels"
        )
    return lines


def small_cnn_probabilities(runs_dir: str | None) -> tuple[np.ndarray, str]:
    """The test probabilities of the best Small CNN run (trained here when there is none)."""
    from classifier.data import load_dataset, scale_images
    from classifier.ml.inference import probabilities
    from classifier.store.runs import RunStore

    def best(store: RunStore):
        runs = [run for run in store.usable_runs() if run.preset == "Small CNN"]
        return runs[0] if runs else None

    store = RunStore(runs_dir) if runs_dir else RunStore()
    run = best(store)
    if run is None:
        store = RunStore(tempfile.mkdtemp(prefix="bench-label-issues-"))
        command = [sys.executable, "-m", "classifier", "--runs-dir", str(store.root)]
        command += ["train", "--preset", "Small CNN", "--quiet"]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        run = best(store)
    model = store.load_model(run.run_id)
    return probabilities(model, scale_images(load_dataset().test.images)), run.run_id


def clean_test_set(runs_dir: str | None) -> list[str]:
    from classifier.data import load_dataset
    from classifier.ml.label_ranking import RANKINGS, rank_suspects

    probs, run_id = small_cnn_probabilities(runs_dir)
    labels = load_dataset().test.labels
    ranking = rank_suspects(probs, labels)
    lines = [
        f"Clean test set, Small CNN run {run_id} (test accuracy {ranking.accuracy:.3f}):",
        f"  flagged {len(ranking):,} of {len(labels):,} ({len(ranking) / len(labels):.2%}; "
        "target < 5%)",
    ]
    from cleanlab.count import num_label_issues

    for method in ("off_diagonal", "off_diagonal_calibrated"):
        count = num_label_issues(labels, probs, estimation_method=method)
        lines.append(f"  cleanlab.count.num_label_issues, {method}: {count:,}")
    big_probs, big_labels = np.tile(probs, (6, 1)), np.tile(labels, 6)
    for ranked_by in RANKINGS:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            rank_suspects(big_probs, big_labels, ranked_by)
            times.append(time.perf_counter() - start)
        lines.append(
            f"  ranking 60,000 x 10 ({ranked_by}), s (median of 5): {statistics.median(times):.3f}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7])
    parser.add_argument("--preset", help="the cross-validation's model (default: the check's)")
    parser.add_argument("--runs-dir", help="where to look for a Small CNN run")
    parser.add_argument(
        "--pictures", type=int, default=LIMIT, help="the first N training pictures (60000: all)"
    )
    parser.add_argument("--skip-flips", action="store_true")
    parser.add_argument("--skip-test", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    import cleanlab.filter  # noqa: F401 - its first import, timed apart

    lines = [f"cleanlab's first import, s: {time.perf_counter() - start:.2f}"]
    if not args.skip_test:
        lines += clean_test_set(args.runs_dir)
    if not args.skip_flips:
        lines += flipped_labels(args.seeds, args.preset, args.pictures)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines.append(f"Load average at the end: {load} on {os.cpu_count()} CPUs")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
