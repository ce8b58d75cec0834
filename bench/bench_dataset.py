"""Benchmark of the Dataset page: loading the data, and the server-side time of a rerun.

Run from the repository root: `.venv/bin/python -m bench bench_dataset [--reruns N]`.
Prints the time to load Fashion-MNIST cold (a fresh interpreter) and warm (cached), the
median time of a Dataset page rerun with the data cached (AppTest, the same script the
server runs), its ratio to the 0.3 s target, and whether any TensorFlow module got loaded.
This machine's speed varies: compare ratios from one run rather than absolute times.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from tests.support import APP, ROOT

RERUN_TARGET_SECONDS = 0.3
PAGE = "pages/dataset.py"

COLD_LOAD = """
import time
start = time.perf_counter()
from classifier.data import load_dataset
load_dataset(allow_download=False)
print(time.perf_counter() - start)
"""


def cold_load_seconds() -> tuple[float, float]:
    """(import + load inside a fresh interpreter, wall time of the whole subprocess)."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", COLD_LOAD], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip().splitlines()[-1]), time.perf_counter() - start


def warm_load_seconds() -> tuple[float, float]:
    """(a second load from disk, files now in the page cache; a cached get_dataset() call)."""
    from classifier.data import load_dataset

    load_dataset(allow_download=False)
    start = time.perf_counter()
    load_dataset(allow_download=False)
    second_load = time.perf_counter() - start

    from ui import cache  # bare mode: st.cache_resource works in memory, without a server

    cache._cached_dataset()
    start = time.perf_counter()
    cache._cached_dataset()
    return second_load, time.perf_counter() - start


def page_rerun_seconds(reruns: int, query: dict[str, str]) -> tuple[float, list[float]]:
    """(first run, then each rerun's time) of the Dataset page in AppTest."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(APP, default_timeout=120)
    app.switch_page(PAGE)
    for name, value in query.items():
        app.query_params[name] = value
    start = time.perf_counter()
    app.run()
    first = time.perf_counter() - start
    if app.exception:
        raise SystemExit(f"The page raised: {[error.value for error in app.exception]}")
    times = []
    for _ in range(reruns):
        start = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - start)
    return first, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=15, help="timed reruns per view")
    args = parser.parse_args()

    # The page runs first in this process, so that sys.modules shows what the page imported.
    views = {
        "grid (train, all classes)": {},
        "grid + inspector (test, Bag, image 30)": {"split": "test", "cls": "Bag", "image": "30"},
    }
    print(f"Dataset page, server-side time per run (AppTest, {args.reruns} reruns each):")
    for name, query in views.items():
        first, times = page_rerun_seconds(args.reruns, query)
        median = statistics.median(times)
        print(
            f"  {name:42s} first run {first:6.3f} s; rerun median {median:6.3f} s "
            f"(min {min(times):.3f}, max {max(times):.3f}); "
            f"{median / RERUN_TARGET_SECONDS:.2f} x the {RERUN_TARGET_SECONDS} s target"
        )
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras"))
    print(f"TensorFlow or Keras modules loaded by the page: {len(loaded)} {loaded[:5]}")

    inside, wall = cold_load_seconds()
    print(f"Cold load (fresh interpreter): {inside:.3f} s import + load; {wall:.3f} s wall")
    second_load, cached = warm_load_seconds()
    print(f"Warm load: {second_load:.3f} s second load from disk; {cached * 1e6:.1f} us cached")


if __name__ == "__main__":
    main()
