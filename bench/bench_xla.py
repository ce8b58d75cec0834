"""Keras' `jit_compile=True` (XLA) against the current setting, per preset, side by side in
one run (issue 23): training images per second in a steady epoch, the first epoch (which
pays XLA's compilation), the test accuracy after the same epochs (same seed, same
pictures), and the ratio XLA / current. A setting is worth adopting at 1.15x or more.

Also the share of this machine's peak each preset reaches: its training work a picture,
counted from its model's layers, against TensorFlow's own matrix product of 2048 x 2048 in
the preset's precision (bench/_arithmetic.py).

    .venv/bin/python -m bench bench_xla [--presets "Tutorial MLP" "Small CNN" "Best CNN"]
        [--pictures 60000 60000 20000] [--epochs 2] [--rounds 1]

Each round trains each preset twice, current then XLA (the order alternates by round);
figures are medians over rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def train_once(preset: str, pictures: int, epochs: int, xla: bool, **overrides) -> dict:
    """One training of `preset` (with some settings changed) on the first `pictures`
    training pictures: the epochs' seconds, and the test accuracy after them."""
    import keras

    from classifier.data import load_dataset, scale_images
    from classifier.ml.models import build_model, loss_targets, preset_config

    config = preset_config(preset, epochs=epochs, validation_split=0.0, **overrides)
    data = load_dataset()
    x, y = scale_images(data.train.images[:pictures]), data.train.labels[:pictures]
    steps = -(-len(x) // config.batch_size)
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, steps)
    model.jit_compile = xla
    times: list[float] = []

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(
        x,
        loss_targets(model, y),
        epochs=epochs,
        batch_size=config.batch_size,
        callbacks=[EpochClock()],
        verbose=0,
    )
    logits = model.predict(scale_images(data.test.images), batch_size=1000, verbose=0)
    accuracy = float((logits.argmax(axis=1) == data.test.labels).mean())
    steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
    return {"first": times[0], "steady": steady, "rate": len(x) / steady, "accuracy": accuracy}


def main(argv: list[str] | None = None) -> int:
    from bench._arithmetic import cpu_description, matmul_peak_gflops, preset_training_flop
    from classifier.ml.models import PRECISIONS, preset_config

    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", nargs="+", default=["Tutorial MLP", "Small CNN", "Best CNN"])
    parser.add_argument("--pictures", nargs="+", type=int, default=[60_000, 60_000, 20_000])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    if len(args.pictures) != len(args.presets):
        parser.error("Give one --pictures per preset.")

    print(f"CPU: {cpu_description()}; load average at the start: {os.getloadavg()}", flush=True)
    peaks = {precision: matmul_peak_gflops(dtype=precision) for precision in PRECISIONS}
    for precision, peak in peaks.items():
        print(f"{precision} matrix product (TensorFlow, 2048 x 2048): {peak:.0f} GFLOP/s")
    rows = []
    for preset, pictures in zip(args.presets, args.pictures, strict=True):
        results: dict[bool, list[dict]] = {False: [], True: []}
        for round_number in range(args.rounds):
            order = (False, True) if round_number % 2 == 0 else (True, False)
            for xla in order:
                try:
                    results[xla].append(train_once(preset, pictures, args.epochs, xla))
                except Exception as error:  # noqa: BLE001 - XLA may refuse an op: say so
                    print(f"{preset}, XLA {xla}: {type(error).__name__}: {error}"[:300])
                    continue
                last = results[xla][-1]
                print(
                    f"{preset:<13} {'XLA' if xla else 'current':<8} first epoch "
                    f"{last['first']:6.1f} s, steady {last['steady']:6.1f} s "
                    f"({last['rate']:7.0f} pictures/s), test accuracy {last['accuracy']:.4f}",
                    flush=True,
                )
        if results[False] and results[True]:
            current, xla = (
                {key: statistics.median(r[key] for r in results[flag]) for key in results[flag][0]}
                for flag in (False, True)
            )
            rows.append((preset, pictures, current, xla))

    print(f"\n{args.epochs} epochs, {args.rounds} round(s); medians; ratio = XLA / current")
    print("| preset | pictures | pictures/s current | pictures/s XLA | ratio | first epoch "
          "current / XLA | test accuracy current / XLA |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for preset, pictures, current, xla in rows:
        print(
            f"| {preset} | {pictures:,} | {current['rate']:.0f} | {xla['rate']:.0f} | "
            f"{xla['rate'] / current['rate']:.2f}x | {current['first']:.1f} s / "
            f"{xla['first']:.1f} s | {current['accuracy']:.4f} / {xla['accuracy']:.4f} |"
        )
    for preset, _, current, xla in rows:
        precision = preset_config(preset).precision
        flop = preset_training_flop(preset)
        for name, figures in (("current", current), ("XLA", xla)):
            reached = figures["rate"] * flop / 1e9
            print(
                f"{preset}, {name}: {flop / 1e6:.1f} MFLOP a picture, {reached:.0f} GFLOP/s, "
                f"{reached / peaks[precision]:.0%} of the {precision} peak"
            )
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
