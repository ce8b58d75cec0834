"""The Best CNN's batch normalisation: TensorFlow's fused kernel (what the app trains with,
`classifier.ml.models.train_batch_norm_fused`) against Keras' own layer, side by side in
one run: training pictures a second in a steady epoch, the first epoch, the test accuracy
after the same epochs (same seed, same pictures), and the ratio fused / Keras' own.

    .venv/bin/python -m bench bench_batch_norm [--pictures 20000] [--epochs 2] [--rounds 3]

Each round trains the preset twice, one way then the other (the order alternates by round);
figures are medians over rounds. Also the share of the machine's float32 peak reached
(bench_xla measures the peak and the work per picture).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from bench.bench_xla import BEST_CNN_TRAIN_FLOP, matmul_peak_gflops, train_once

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PRESET = "Best CNN"


def keras_own_batch_norm(model) -> None:
    """Undo train_batch_norm_fused: the layers call their class's own `call` again."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            vars(layer).pop("call", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pictures", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    print(f"load average at the start: {os.getloadavg()}", flush=True)
    peak = matmul_peak_gflops()
    print(f"float32 matrix product (TensorFlow, 2048 x 2048): {peak:.0f} GFLOP/s", flush=True)
    ways = {"Keras' own": keras_own_batch_norm, "fused": None}
    results: dict[str, list[dict]] = {way: [] for way in ways}
    for round_number in range(args.rounds):
        order = list(ways) if round_number % 2 == 0 else list(reversed(ways))
        for way in order:
            result = train_once(PRESET, args.pictures, args.epochs, False, setup=ways[way])
            results[way].append(result)
            print(
                f"round {round_number + 1} {way:<10} first epoch {result['first']:6.1f} s, "
                f"steady {result['steady']:6.1f} s ({result['rate']:5.0f} pictures/s), "
                f"test accuracy {result['accuracy']:.4f}",
                flush=True,
            )
    medians = {
        way: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for way, runs in results.items()
    }
    own, fused = medians["Keras' own"], medians["fused"]
    print(f"\n{PRESET}, {args.pictures:,} pictures, {args.epochs} epochs, {args.rounds} rounds;")
    print("medians; ratio = fused / Keras' own (pictures a second)")
    print("| batch normalisation | pictures/s | first epoch | test accuracy | share of peak |")
    print("|---|---|---|---|---|")
    for way, figures in medians.items():
        reached = figures["rate"] * BEST_CNN_TRAIN_FLOP / 1e9
        print(
            f"| {way} | {figures['rate']:.0f} | {figures['first']:.1f} s | "
            f"{figures['accuracy']:.4f} | {reached / peak:.0%} |"
        )
    print(f"ratio: {fused['rate'] / own['rate']:.2f}x")
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
