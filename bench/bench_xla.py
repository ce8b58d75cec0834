"""Keras' `jit_compile=True` (XLA) against the current setting, per preset, side by side in
one run (issue 23): training images per second in a steady epoch, the first epoch (which
pays XLA's compilation), the test accuracy after the same epochs (same seed, same
pictures), and the ratio XLA / current. A setting is worth adopting at 1.15x or more.

Also the fraction of this machine's peak the Best CNN reaches: its training work is about
112 MFLOP a picture (forward and backward), and the peak is measured here, as TensorFlow's
own float32 matrix product of 2048 x 2048 (the best of 5).

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

BEST_CNN_TRAIN_FLOP = 112e6  # a picture's training work (forward and backward), as measured


def matmul_peak_gflops(size: int = 2048, repeats: int = 5, dtype: str = "float32") -> float:
    """The machine's peak as TensorFlow reaches it: a square matrix product, in float32 or
    in bfloat16 (which this CPU's AMX units run faster)."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((size, size)), dtype)
    b = tf.cast(tf.random.normal((size, size)), dtype)
    tf.linalg.matmul(a, b).numpy()  # warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def train_once(preset: str, pictures: int, epochs: int, xla: bool) -> dict:
    """One training of `preset` on the first `pictures` training pictures: the epochs'
    seconds, and the test accuracy after them."""
    import keras

    from classifier.data import load_dataset, scale_images
    from classifier.ml.models import build_model, loss_targets, preset_config

    config = preset_config(preset, epochs=epochs, validation_split=0.0)
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", nargs="+", default=["Tutorial MLP", "Small CNN", "Best CNN"])
    parser.add_argument("--pictures", nargs="+", type=int, default=[60_000, 60_000, 20_000])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    if len(args.pictures) != len(args.presets):
        parser.error("Give one --pictures per preset.")

    print(f"load average at the start: {os.getloadavg()}", flush=True)
    peak = matmul_peak_gflops()
    print(f"float32 matrix product (TensorFlow, 2048 x 2048): {peak:.0f} GFLOP/s", flush=True)
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
        if preset == "Best CNN":
            for name, figures in (("current", current), ("XLA", xla)):
                reached = figures["rate"] * BEST_CNN_TRAIN_FLOP / 1e9
                print(f"Best CNN, {name}: {reached:.0f} GFLOP/s, {reached / peak:.0%} of the peak")
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
