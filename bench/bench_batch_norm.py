"""The Best CNN's batch normalisation: TensorFlow's fused kernel (what the app trains with,
`classifier.ml.models.train_batch_norm_fused`) against Keras' own layer, side by side in
one run, through the training job's own path (`classifier.ml.training.run_training`, in a
fresh process each time, as a job runs): seconds per epoch as the run records them (with
its test-set recording, about 1.3 s an epoch), training pictures a second from them, the
first epoch, the test accuracy after the same epochs
(same seed, same pictures), the whole run's wall time, and the ratio fused / Keras' own.
A third way passes the layers' input through untouched: what the rest of a step costs,
the floor any batch normalisation adds to (its accuracy means nothing).

    .venv/bin/python -m bench bench_batch_norm [--pictures 60000] [--epochs 2] [--rounds 3]

Each round trains once each way (the order alternates by round); figures are medians over
rounds. A plain `model.fit` in the benchmark's process is not used: on this machine it
trains the Best CNN on fewer cores than the job does (docs/benchmarks.md, bench_training).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PRESET = "Best CNN"
WAYS = ("Keras' own", "fused", "none (floor)")


def keras_own(model) -> None:
    """What build_model did before: nothing, the layers keep Keras' own `call`."""


def no_batch_norm(model) -> None:
    """The layers pass their input through (in the layer's compute dtype)."""
    import warnings

    import keras

    warnings.filterwarnings("ignore", message="Gradients do not exist")  # gamma, beta: unused

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.call = functools.partial(_identity, layer)


def _identity(layer, inputs, training=None, mask=None):
    import keras

    return keras.ops.cast(inputs, layer.compute_dtype)


def job_once(way: str, pictures: int, epochs: int) -> dict:
    """In a fresh process: one training job of the preset on the first `pictures`, with
    `way`'s batch normalisation, in a scratch run store."""
    from classifier.ml import models
    from classifier.ml.training import run_training
    from classifier.store.runs import RunStore

    # build_model looks the function up when it runs, so this changes what it applies.
    models.train_batch_norm_fused = {
        "Keras' own": keras_own,
        "fused": models.train_batch_norm_fused,
        "none (floor)": no_batch_norm,
    }[way]
    config = models.preset_config(PRESET, epochs=epochs, train_limit=pictures)
    with tempfile.TemporaryDirectory(prefix="bench-batch-norm-") as folder:
        store = RunStore(folder)
        writer = store.create_run(config.to_dict(), "bench")
        started = time.perf_counter()
        run_training(writer)
        wall = time.perf_counter() - started
        metrics = store.read_metrics(writer.run_id)
    seconds = [row["epoch_seconds"] for row in metrics]
    steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
    return {
        "first": seconds[0],
        "steady": steady,
        "rate": pictures / steady,
        "accuracy": metrics[-1]["test_accuracy"],
        "wall": wall,
    }


def fresh_job(way: str, pictures: int, epochs: int) -> dict:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(job_once, way, pictures, epochs).result()


def main(argv: list[str] | None = None) -> int:
    from bench.bench_xla import BEST_CNN_TRAIN_FLOP, matmul_peak_gflops

    parser = argparse.ArgumentParser()
    parser.add_argument("--pictures", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    print(f"load average at the start: {os.getloadavg()}", flush=True)
    peak = matmul_peak_gflops()
    print(f"float32 matrix product (TensorFlow, 2048 x 2048): {peak:.0f} GFLOP/s", flush=True)
    results: dict[str, list[dict]] = {way: [] for way in WAYS}
    for round_number in range(args.rounds):
        for way in WAYS if round_number % 2 == 0 else reversed(WAYS):
            result = fresh_job(way, args.pictures, args.epochs)
            results[way].append(result)
            print(
                f"round {round_number + 1} {way:<12} first epoch {result['first']:5.1f} s, "
                f"steady {result['steady']:5.1f} s ({result['rate']:4.0f} pictures/s), "
                f"run {result['wall']:5.1f} s, test accuracy {result['accuracy']:.4f}",
                flush=True,
            )
    medians = {
        way: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for way, runs in results.items()
    }
    print(f"\n{PRESET} as a training job, {args.pictures:,} pictures, {args.epochs} epochs, "
          f"{args.rounds} rounds; medians")  # fmt: skip
    print("| batch normalisation | pictures/s | steady epoch | first epoch | whole run | "
          "test accuracy | share of the float32 peak |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for way, figures in medians.items():
        reached = figures["rate"] * BEST_CNN_TRAIN_FLOP / 1e9
        print(
            f"| {way} | {figures['rate']:.0f} | {figures['steady']:.1f} s | "
            f"{figures['first']:.1f} s | {figures['wall']:.1f} s | {figures['accuracy']:.4f} | "
            f"{reached / peak:.0%} |"
        )
    own, fused = medians["Keras' own"], medians["fused"]
    print(f"fused / Keras' own, pictures a second: {fused['rate'] / own['rate']:.2f}x")
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
