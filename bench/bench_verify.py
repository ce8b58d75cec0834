"""Benchmark of the Verify page.

1. Time to predict the 10,000 test images (softmax probabilities, batches of 256) for a
   Tutorial MLP and a Best CNN, first call (tracing) and second call. The models are
   untrained: the cost of a prediction does not depend on the weights.
2. Server-side time of a Verify page rerun after a (mirrored) click, with the predictions
   cached: AppTest, median of several reruns, against the 0.3 s target. AppTest's own work
   (building the element tree from the messages) is included, so this is an upper bound.

Run: .venv/bin/python -m bench bench_verify [--reruns 9]
This machine's speed jumps between two levels (docs/benchmarks.md): read ratios, not seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from tests.support import APP

TARGET_SECONDS = 0.3


def time_predictions() -> None:
    from classifier.data import load_dataset, scale_images
    from classifier.ml.inference import probabilities
    from classifier.ml.models import build_model, preset_config

    x_test = scale_images(load_dataset().test.images)
    print("Predicting the 10,000 test images (batch 256, softmax):")
    for preset in ("Tutorial MLP", "Best CNN"):
        model = build_model(preset_config(preset), 1)
        times = []
        for _ in range(2):
            start = time.perf_counter()
            probs = probabilities(model, x_test)
            times.append(time.perf_counter() - start)
        assert probs.shape == (10_000, 10)
        print(f"  {preset:<13} first call {times[0]:6.2f} s   second call {times[1]:6.2f} s")


def train_quick_run(root: Path) -> str:
    from classifier.ml.models import preset_config
    from classifier.ml.training import run_training
    from classifier.store.runs import RunStore

    config = preset_config("Tutorial MLP", epochs=4, train_limit=3000)  # 4 epochs to replay
    writer = RunStore(root).create_run(config.to_dict(), "bench")
    run_training(writer)
    return writer.run_id


def time_reruns(reruns: int) -> None:
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory() as folder:
        os.environ["CLASSIFIER_RUNS_DIR"] = folder
        train_quick_run(Path(folder))
        app = AppTest.from_file(APP, default_timeout=120)
        app.run()
        start = time.perf_counter()
        app.switch_page("pages/verify.py").run()
        first = time.perf_counter() - start
        assert not app.exception, app.exception

        def timed(action) -> float:
            action()
            start = time.perf_counter()
            app.run()
            elapsed = time.perf_counter() - start
            assert not app.exception, app.exception
            return elapsed

        # A click on a grid picture writes the image index into `verify_index`.
        clicks = [
            timed(lambda i=i: app.number_input(key="verify_index").set_value(37 * i + 5))
            for i in range(reruns)
        ]
        # A click on a confusion square writes the true and predicted class filters.
        cells = [
            timed(lambda name=name: app.selectbox(key="verify_pred").set_value(name))
            for name in ["T-shirt/top", "Shirt", "Pullover", "Coat", "Any"] * 2
        ][:reruns]
        # Moving the replay's epoch slider (every step of Play is the same rerun).
        epochs = [
            timed(lambda e=e: app.slider(key="verify_epoch").set_value(e))
            for e in [1, 2, 3, 4, 2, 1, 3, 4, 1, 2][:reruns]
        ]
    print(f"\nVerify page, first open (loads TensorFlow, the recorded predictions): {first:.2f} s")
    for label, times in (
        ("new image (grid click)", clicks),
        ("new cell (confusion click)", cells),
        ("new epoch (replay slider)", epochs),
    ):
        median = statistics.median(times)
        print(
            f"  rerun after a {label:<27} median {median:.3f} s over {len(times)}, "
            f"min {min(times):.3f} s: {median / TARGET_SECONDS:.2f} x the {TARGET_SECONDS} s target"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=9)
    parser.add_argument("--skip-predict", action="store_true")
    args = parser.parse_args()
    if not args.skip_predict:
        time_predictions()
    time_reruns(args.reruns)


if __name__ == "__main__":
    main()
