"""Benchmark of the Explore page's computations.

1. The PCA map of the 10,000 test pictures from a model's features (numpy SVD): median of 7.
2. The background t-SNE map of the same 10,000 points (scikit-learn), once.
3. The 8 nearest training pictures of one picture once the index of the 60,000 training
   pictures' features exists (a dot product): median over 200 pictures.
4. Flipped labels found: a copy of the dataset whose training labels are flipped at random
   for FLIPS of the first 12,000 pictures (FASHION_MNIST_DIR points at it), then
   `python -m classifier suspects --split train --limit 12000` with the default preset and
   folds (the Small CNN, 4 folds): the share of flipped pictures among the top FLIPS
   suspects (precision); and the same with the Tutorial MLP, side by side.

Run: .venv/bin/python -m bench bench_explore [--flips 300] [--skip-tsne] [--skip-flips]
     [--also PRESET ...]
This machine's speed jumps between two levels (docs/benchmarks.md): read the targets as
orders of magnitude.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.support import ROOT

LIMIT = 12_000


def trained_features():
    """Features of the test and training pictures from a Tutorial MLP (2 epochs on 12,000
    pictures: the cost of the features does not depend on how well it learned)."""
    import keras

    from classifier.data import load_dataset, scale_images
    from classifier.ml.features import feature_model, features
    from classifier.ml.models import build_model, preset_config

    data = load_dataset()
    config = preset_config("Tutorial MLP", epochs=2)
    keras.utils.set_random_seed(0)
    model = build_model(config, 1)
    x_train = scale_images(data.train.images)
    model.fit(x_train[:LIMIT], data.train.labels[:LIMIT], epochs=2, batch_size=32, verbose=0)
    extractor = feature_model(model)
    start = time.perf_counter()
    test = features(extractor, scale_images(data.test.images))
    test_seconds = time.perf_counter() - start
    start = time.perf_counter()
    train = features(extractor, x_train)
    train_seconds = time.perf_counter() - start
    return test, train, test_seconds, train_seconds


def median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_idx_labels(path: Path, labels: np.ndarray) -> None:
    header = np.array([2049, len(labels)], dtype=">u4").tobytes()
    with gzip.open(path, "wb") as handle:
        handle.write(header + labels.astype(np.uint8).tobytes())


def flipped_precision(flips: int, preset: str | None = None) -> tuple[float, float, int]:
    """(precision among the top `flips` suspects, seconds, suspects listed) with the default
    preset and folds, or another preset."""
    from classifier.data import FILES, find_dataset_dir, load_dataset

    source = find_dataset_dir()
    labels = load_dataset().train.labels.copy()
    rng = np.random.default_rng(2026)
    flipped = rng.choice(LIMIT, flips, replace=False)
    labels[flipped] = (labels[flipped] + rng.integers(1, 10, flips)) % 10
    with tempfile.TemporaryDirectory() as folder:
        data, runs = Path(folder) / "data", Path(folder) / "runs"
        data.mkdir()
        for images_file, labels_file in FILES.values():
            shutil.copy(source / images_file, data / images_file)
            shutil.copy(source / labels_file, data / labels_file)
        write_idx_labels(data / FILES["train"][1], labels)
        command = [sys.executable, "-m", "classifier", "--runs-dir", str(runs), "suspects"]
        command += ["--split", "train", "--limit", str(LIMIT), "--top", str(flips), "--json"]
        command += ["--preset", preset] if preset else []
        env = {**os.environ, "FASHION_MNIST_DIR": str(data), "TF_CPP_MIN_LOG_LEVEL": "3"}
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if result.returncode:
            raise SystemExit(f"suspects failed: {result.stderr[-2000:]}")
        rows = json.loads(result.stdout)
    found = len({row["index"] for row in rows} & set(flipped.tolist()))
    return found / flips, seconds, len(rows)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flips", type=int, default=300)
    parser.add_argument("--skip-tsne", action="store_true")
    parser.add_argument("--skip-flips", action="store_true")
    parser.add_argument(
        "--also", nargs="*", default=["Tutorial MLP"], help="presets compared with the default"
    )
    args = parser.parse_args()

    from classifier.jobs.label_check import DEFAULT_FOLDS, DEFAULT_PRESET
    from classifier.ml.features import NeighbourIndex, principal_components, tsne_map

    test, train, test_seconds, train_seconds = trained_features()
    rows = [
        ("Features of the 10,000 test pictures, s", f"{test_seconds:.2f}", "(model predicts)"),
        ("Features of the 60,000 training pictures, s", f"{train_seconds:.2f}", "once per run"),
    ]
    pca = median_seconds(lambda: principal_components(test), 7)
    rows.append(("PCA map of 10,000 points, s (median of 7)", f"{pca:.3f}", "< 1"))
    start = time.perf_counter()
    index = NeighbourIndex(train)
    rows.append(
        ("Index of 60,000 training features built, s", f"{time.perf_counter() - start:.3f}", "")
    )
    queries = np.random.default_rng(0).choice(len(test), 200, replace=False)
    times = []
    for query in queries:
        start = time.perf_counter()
        index.search(test[query], 8)
        times.append(time.perf_counter() - start)
    nearest_ms = 1000 * statistics.median(times)
    rows.append(("8 nearest of one picture, ms (median of 200)", f"{nearest_ms:.1f}", "< 50"))
    if not args.skip_tsne:
        start = time.perf_counter()
        points = tsne_map(test)
        tsne = time.perf_counter() - start
        assert points.shape == (10_000, 2)
        rows.append(("t-SNE map of 10,000 points, s (once)", f"{tsne:.1f}", "< 120"))
    if not args.skip_flips:
        for preset in (None, *args.also):
            precision, seconds, found = flipped_precision(args.flips, preset)
            which = preset or "default preset"
            measure = f"Flipped labels in the top {args.flips}, {which} (precision)"
            rows.append((measure, f"{precision:.3f}", ">= 0.8"))
            rows.append((f"  its cross-validation of {LIMIT:,} pictures, s", f"{seconds:.0f}", ""))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"Load average at the end: {load} on {os.cpu_count()} CPUs")
    print(
        "Tutorial MLP features (128 per picture); default cross-validation: "
        f"{DEFAULT_FOLDS} folds of the {DEFAULT_PRESET}"
    )
    print(f"{'Measure':<55} {'Value':>9}  Target / note")
    print("-" * 80)
    for measure, value, target in rows:
        print(f"{measure:<55} {value:>9}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
