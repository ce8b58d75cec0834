"""The least time a preset's training can take on this CPU, from its arithmetic and the
CPU's measured peak, against the time it takes (issue 23: the Best CNN within ten minutes).

The arithmetic is counted from the preset's own model, layer by layer, for every epoch as
the training job runs it: training on the 60,000 pictures, then scoring the test set
(bench/_arithmetic.py says how). The peak is TensorFlow's own matrix product of 2048 x
2048 in the preset's precision (the best of 10): what the CPU reaches on the easiest work
there is. Floor = the arithmetic of all epochs / the peak: no training at any efficiency
takes less.

Then a plain `model.fit` of one network and of the preset, side by side (alternating, in
one process, bench_xla's training: 3 epochs, the median of the last two), says which share
of the peak each reaches and what their epochs take at that rate.

    .venv/bin/python -m bench bench_floor [--preset "Best CNN"] [--pictures 20000] [--rounds 2]

The CPU matters more than anything here: the machines this project is measured on are of
two kinds (an Intel Xeon whose AMX units multiply bfloat16 matrices, and an AMD EPYC
without them), and the benchmark prints which one it ran on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ONE_NETWORK = {"cnn-bn-twin": "cnn-bn"}  # the preset's architecture -> one of its networks


def main(argv: list[str] | None = None) -> int:
    from bench._arithmetic import (
        TRAINING_PICTURES,
        cpu_description,
        epoch_flop,
        matmul_peak_gflops,
        training_flop,
    )
    from bench.bench_xla import train_once
    from classifier.ml.models import build_model, preset_config

    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="Best CNN")
    parser.add_argument("--pictures", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)

    preset = preset_config(args.preset)
    configs = {"the preset": preset}
    if preset.architecture in ONE_NETWORK:
        configs["one network"] = preset_config(
            args.preset, architecture=ONE_NETWORK[preset.architecture]
        )
    print(f"CPU: {cpu_description()}; load average at the start: {os.getloadavg()}")
    peak = matmul_peak_gflops(repeats=10, dtype=preset.precision) * 1e9
    print(f"{preset.precision} matrix product (TensorFlow, 2048 x 2048): {peak / 1e9:.0f} GFLOP/s")

    work = {name: build_model(config, 1) for name, config in configs.items()}
    rates: dict[str, list[float]] = {name: [] for name in configs}
    for round_number in range(args.rounds):
        order = list(configs) if round_number % 2 == 0 else list(reversed(configs))
        for name in order:
            overrides = {"architecture": configs[name].architecture}
            run = train_once(args.preset, args.pictures, 3, xla=False, **overrides)
            rates[name].append(run["rate"])
            print(f"round {round_number + 1} {name:<11} {rates[name][-1]:6.0f} pictures/s")

    print(
        f"\n{args.preset}: {preset.epochs} epochs of {TRAINING_PICTURES:,} pictures and a test "
        f"pass; a plain fit on {args.pictures:,} pictures, median of {args.rounds} rounds"
    )
    print("| model | training MFLOP a picture | floor at the peak | pictures/s | share of "
          "the peak | its epochs at that rate |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, config in configs.items():
        model = work[name]
        flop, total = training_flop(model), config.epochs * epoch_flop(model)
        rate = statistics.median(rates[name])  # training pictures a second
        print(
            f"| {name} ({config.architecture}) | {flop / 1e6:.1f} | "
            f"{total / peak / 60:.1f} min | {rate:.0f} | {rate * flop / peak:.0%} | "
            f"{total / (rate * flop) / 60:.1f} min |"
        )
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
