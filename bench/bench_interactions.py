"""Felt latency in Chromium: from an input event (a key press or a mouse button released, its
time taken in the page) to the settled, changed page (the text the input must change has
changed, and the app has ended the script run that answers it), for the main interactions of
Present, Verify, Dataset, Explore and Train, and against a bare Streamlit button round trip
timed in the same run; quiet, while a Small CNN trains, and while a label check runs
(issue 23). Median and p90 of each, and each median as a ratio to the bare round trip of the
same condition.

    .venv/bin/python -m bench bench_interactions [--reps 10] [--first-opens 2]
        [--conditions quiet,training,label-check]
        [--pages present,verify,dataset,explore,train,first] [--no-profile] [--keep]

How it is measured:
- Its own `streamlit run app.py` (tests.support.server.AppServer) on a scratch run store,
  with one Tutorial MLP trained first by the command line (3 epochs: the replay slider has
  epochs to step through), and a bare app of its own (one button that adds one to a
  counter) on another free port: the floor of any Streamlit round trip on this machine.
- Chromium through Playwright, pages made with the tests' harness (tests.support.browser:
  CHROMIUM_FLAGS, RUN_TRACKER, APP_IDLE). The start is the input event's own `timeStamp`
  (a capture listener on the window, armed just before the input); the end is the first
  animation frame where the watched text differs from before AND the app is connected and
  not running (the state APP_IDLE reads; its "a run ended after the last message" part is
  left out: see changed_and_idle). One warm-up input first. Present's keys wait until its
  key handler (ui/keys.py, a component that mounts late) listens.
- First opens (Verify, Explore's first map, the Train page) are timed from the
  navigation's start (performance.now() is 0 there) in a new browser context. For Verify
  and Explore each one opens a copy of the trained run under a new id: the server's caches
  are keyed by the run id, so the copy is a model never opened (TensorFlow is already
  imported in the server by then: that is the cost of a new model, not of a new server).
  Beside them, their floor: the bare app opened the same way, alone and with Explore's
  10,000-point map figure drawn from random points (`?map=1`: no model, no run).
  And Explore's first map as a presenter reaches it: a click on "Explore" in the
  sidebar of the Dataset page, in the same tab (the frontend is loaded already).
- The background jobs are the command line's, started at nice 10 as the app's workers
  start themselves (classifier.jobs.process.become_worker): `train --preset "Small CNN"`
  (stopped with Ctrl-C when the condition is done, its run deleted) and `suspects --split
  train --preset "Small CNN" --folds 4 --limit N` (started again on other pictures if it
  ends early). The load average is printed with each condition.
- Then, without a browser, what a first open costs on the server side, step by step
  (TensorFlow import, model load, test predictions, the recorded predictions instead,
  features of the test and training pictures, PCA, the neighbour index, one saliency map).

The machine is shared: read the ratios to the bare round trip of the same condition.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported

from bench._felt_latency import (  # noqa: E402
    ARM,
    CAPTION,
    KEYS_LISTEN,
    MARKDOWN,
    TIMEOUT_MS,
    Series,
    describe,
    exists,
    failure_line,
    new_bench_page,
    p90,
    repeat,
    text_probe,
    timed_input,
    timed_open,
)
from bench._workloads import Background, BareServer, loadavg, profile  # noqa: E402
from classifier.auth import ENV_PASSWORD_HASH  # noqa: E402
from classifier.data import CLASS_NAMES  # noqa: E402
from classifier.store.runs import STATUS_FILE, RunStore  # noqa: E402
from tests.support.browser import (  # noqa: E402
    launch_options,
    wait_for_app,
)
from tests.support.paths import ROOT  # noqa: E402
from tests.support.runs import cli_train, copy_run  # noqa: E402
from tests.support.server import AppServer  # noqa: E402

CONDITIONS = ("quiet", "training", "label-check")
PAGES = ("present", "verify", "dataset", "explore", "train", "first")
LABEL_CHECK_LIMIT = 20_000
BARE_APP = textwrap.dedent(
    """
    import numpy as np
    import streamlit as st

    count = st.session_state.setdefault("count", 0)
    if st.button("Add one"):
        count = st.session_state["count"] = count + 1
    st.markdown(f"Count: {count}")
    if st.query_params.get("map"):  # the floor of Explore's first map: its figure, no model
        from classifier.figures.explore import map_figure

        rng = np.random.default_rng(0)
        points, labels = rng.normal(size=(10_000, 2)), rng.integers(0, 10, 10_000)
        figure = map_figure(points, labels, labels, "true", "select", 0)
        st.plotly_chart(
            figure,
            key="bare_map",
            on_select="rerun",
            selection_mode=("points", "box", "lasso"),
            config={"displayModeBar": False},
        )
    """
)

# --- The interactions ------------------------------------------------------------------------


def bare_round_trip(browser, url: str, reps: int) -> Series:
    page = new_bench_page(browser)
    try:
        page.goto(url, timeout=TIMEOUT_MS)
        wait_for_app(page)
        button = page.get_by_role("button", name="Add one")
        button.wait_for(timeout=TIMEOUT_MS)
        probe = text_probe(MARKDOWN, "^Count: ")
        return repeat(
            Series("bare Streamlit button"), reps, lambda i: timed_input(page, button.click, probe)
        )
    finally:
        page.context.close()


def open_app_page(browser, url: str, ready: str):
    page = new_bench_page(browser)
    page.goto(url, timeout=TIMEOUT_MS)
    page.get_by_text(ready).first.wait_for(timeout=TIMEOUT_MS)
    wait_for_app(page)
    return page


def present(browser, url: str, reps: int, found: list) -> None:
    page = open_app_page(browser, f"{url}/present", "The model says")
    try:
        page.get_by_text("The model says").first.click()  # the page, not a widget, has focus
        # The key handler (ui/keys.py) is a component that mounts after the page is drawn,
        # at times seconds later: a key pressed before it listens does nothing.
        page.wait_for_function(KEYS_LISTEN, timeout=TIMEOUT_MS)
        probe = text_probe(MARKDOWN, r"^Picture [\d,]+ of")
        found.append(
            repeat(
                Series("Present: arrow key"),
                reps,
                lambda i: timed_input(page, lambda: press_when_listened(page, "ArrowRight"), probe),
            )
        )
        page.get_by_text("Settings").first.click()
        page.get_by_text("Beat the machine (a quiz)").click()
        wait_for_app(page)
        page.get_by_text("Settings").first.click()
        subheaders = text_probe("h3", ".")

        def answer(i: int) -> float:
            new_round = page.get_by_role("button", name="New round of 10")
            if new_round.count():
                new_round.click()
                wait_for_app(page)
            page.get_by_text("What is it?").wait_for(timeout=TIMEOUT_MS)
            wait_for_app(page)
            button = page.get_by_role("button", name=CLASS_NAMES[i % 10], exact=True)
            seconds = timed_input(page, button.click, subheaders)
            page.get_by_role("button", name="Next picture").click()
            wait_for_app(page)
            return seconds

        found.append(repeat(Series("Present: quiz answer"), reps, answer))
    finally:
        page.context.close()


def press_when_listened(page, key: str) -> None:
    """Press `key` once the key handler listens (after a rerun it mounts again)."""
    page.wait_for_function(KEYS_LISTEN, timeout=TIMEOUT_MS)
    page.keyboard.press(key)


def click_point(page, key_prefix: str, point_number: int) -> None:
    """Press and release the mouse on one marker of a keyed chart's first scatter trace."""
    chart = page.locator(f"[class*='st-key-{key_prefix}']").first
    point = chart.locator(".scatterlayer .trace").first.locator("path.point").nth(point_number)
    point.evaluate("element => element.scrollIntoView({block: 'center'})")
    box = point.bounding_box()
    if not box:
        raise RuntimeError(f"marker {point_number} of {key_prefix} is not drawn")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.evaluate(ARM)
    page.mouse.click(x, y)


def verify(browser, url: str, run_id: str, reps: int, found: list) -> None:
    page = open_app_page(browser, f"{url}/verify?run={run_id}", "Test accuracy")
    try:
        page.locator("[class*='st-key-verify_grid_'] path.point").first.wait_for(timeout=TIMEOUT_MS)
        image = text_probe("h3", r"^Image [\d,]+:")
        next_button = page.locator(".st-key-verify_next button").first
        found.append(
            repeat(
                Series("Verify: Next"), reps, lambda i: timed_input(page, next_button.click, image)
            )
        )
        page.get_by_text("Filter and sort the pictures").click()
        wait_for_app(page)
        count = text_probe(MARKDOWN, "of 10,000 images")

        def filter_change(i: int) -> float:
            page.get_by_role("combobox", name="Predicted class").click()
            option = page.get_by_role("option", name=CLASS_NAMES[i % 10], exact=True)
            return timed_input(page, option.click, count)

        found.append(repeat(Series("Verify: filter change"), reps, filter_change))
        page.get_by_role("combobox", name="Predicted class").click()
        page.get_by_role("option").first.click()  # any class again
        wait_for_app(page)
        # Off-diagonal cells: (true, predicted) pairs that differ from one to the next.
        cells = [t * 10 + p for t, p in ((6, 0), (0, 6), (4, 2), (2, 4), (7, 9), (9, 7))]
        found.append(
            repeat(
                Series("Verify: confusion-matrix click"),
                reps,
                lambda i: timed_input(
                    page, lambda: click_point(page, "verify_confusion_", cells[i % 6]), count
                ),
            )
        )
        accuracy = text_probe(MARKDOWN, r"after epoch \d+ of")
        slider = page.get_by_role("slider", name="Predictions after epoch")

        def epoch_step(i: int) -> float:
            slider.scroll_into_view_if_needed()
            slider.focus()
            key = "ArrowLeft" if slider.input_value() == "3" else "ArrowRight"
            return timed_input(page, lambda: slider.press(key), accuracy)

        found.append(repeat(Series("Verify: replay epoch step"), reps, epoch_step))
    finally:
        page.context.close()


def dataset(browser, url: str, reps: int, found: list) -> None:
    page = open_app_page(browser, f"{url}/dataset", "Showing images")
    try:
        caption = text_probe(CAPTION, "^(Showing|No) ")

        def class_change(i: int) -> float:
            page.get_by_role("combobox", name="Class").click()
            option = page.get_by_role("option", name=CLASS_NAMES[(i + 1) % 10], exact=True)
            return timed_input(page, option.click, caption)

        found.append(repeat(Series("Dataset: class change"), reps, class_change))
        next_page = page.locator(".st-key-dataset_next_page button").first
        found.append(
            repeat(
                Series("Dataset: page change"),
                reps,
                lambda i: timed_input(page, next_page.click, caption),
            )
        )
    finally:
        page.context.close()


def drag(page, path: list[tuple[float, float]]) -> None:
    """Press the mouse at the first point of `path` (fractions of the map's drag area),
    move through the others, and release it (the timed input)."""
    area = page.locator("[class*='st-key-explore_map'] .nsewdrag").first
    area.evaluate("element => element.scrollIntoView({block: 'center'})")
    box = area.bounding_box()
    points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in path]
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=3)
    page.evaluate(ARM)
    page.mouse.up()


def explore(browser, url: str, run_id: str, reps: int, found: list) -> None:
    import math

    page = open_app_page(browser, f"{url}/explore?run={run_id}", "Explore the model")
    try:
        page.locator("[class*='st-key-explore_map'] .nsewdrag").first.wait_for(timeout=TIMEOUT_MS)
        region = text_probe(MARKDOWN, "region you drew|Draw a box or a lasso")

        def box(i: int) -> float:  # nested boxes, growing: each holds more pictures
            half = 0.06 + 0.02 * i
            corners = [(0.5 - half, 0.5 - half), (0.5 + half, 0.5 + half)]
            return timed_input(page, lambda: drag(page, corners), region)

        found.append(repeat(Series("Explore: box -> list"), reps, box))
        page.get_by_text("Lasso", exact=True).first.click()
        wait_for_app(page)

        def lasso(i: int) -> float:
            radius = 0.3 - 0.015 * i  # circles, shrinking (not the box's sizes)
            circle = [
                (
                    0.5 + radius * math.cos(a / 12 * 2 * math.pi),
                    0.5 + radius * math.sin(a / 12 * 2 * math.pi),
                )
                for a in range(13)
            ]
            return timed_input(page, lambda: drag(page, circle), region)

        found.append(repeat(Series("Explore: lasso -> list"), reps, lasso))
    finally:
        page.context.close()


MAP_AFTER_TRAINING = (
    "import sys; from classifier.store.runs import RunStore; "
    "from classifier.jobs.embedding import map_after_training; "
    "map_after_training(RunStore(sys.argv[1]), sys.argv[2])"
)


# What the page's select boxes show (their choices are not in the page's innerText).
SHOWN_CHOICES = """() => [...document.querySelectorAll('[data-testid="stSelectbox"]')]
  .map(box => box.querySelector('input')?.value || box.textContent)"""


def navigated_open(browser, url: str, page_name: str, ready: str, name: str) -> float:
    """Seconds from a click on `page_name` ("Explore", "Verify") in the sidebar of the
    Dataset page (open, idle) to its first chart drawn (`ready`): the page a presenter
    switches to in the same tab, whose frontend (plotly's code included) is loaded already.
    The page shows the run `name` (the copy)."""
    page = open_app_page(browser, f"{url}/dataset", "The Fashion-MNIST dataset")
    try:
        link = page.get_by_test_id("stSidebarNav").get_by_text(page_name, exact=True)
        seconds = timed_input(page, link.click, f"() => String(({ready})())", TIMEOUT_MS)
        shown = page.evaluate(SHOWN_CHOICES)
        if not any(name in choice for choice in shown):
            raise RuntimeError(f"{page_name} showed another run than {name!r}: {shown}")
        return seconds
    finally:
        page.context.close()


def first_opens(
    browser, url: str, bare_url: str, store: RunStore, base_id: str, count: int, tag: str
):
    """Verify and Explore opened on copies of the trained run never opened before; Explore
    on copies with the features the worker stored, and on copies without them, side by
    side. And their floor: the bare app opened, alone and with Explore's map figure. And
    both as a presenter reaches them: from the Dataset page, in the same tab."""
    from classifier.ml.features import FEATURES_NOTE

    verify_times = Series("Verify: first open")
    explore_times = Series("Explore: first map")
    computed_times = Series("Explore: first map, features computed")
    floors = (
        (Series("bare Streamlit page: first open"), bare_url, exists("button")),
        (
            Series("bare page with the map figure: first open"),
            f"{bare_url}/?map=1",
            exists("[class*='st-key-bare_map'] path.point"),
        ),
    )
    map_ready = exists("[class*='st-key-explore_map'] path.point")
    grid_ready = exists("[class*='st-key-verify_grid_'] path.point")
    navigated = (
        (Series("Verify: first open, reached from the Dataset page"), "Verify", grid_ready),
        (Series("Explore: first map, reached from the Dataset page"), "Explore", map_ready),
    )
    for number in range(count):
        for series, page_name, ready in navigated:
            run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{tag}-navigate-{page_name.lower()}-{number}"
            name = f"copy {tag} navigate {page_name.lower()} {number}"
            copied = copy_run(store.root, base_id, store.root, run_id, name)
            # A hair above the base run's accuracy: the model the page shows first (no
            # link carries the run across pages).
            status = json.loads((copied / STATUS_FILE).read_text())
            status["test_accuracy"] = min(1.0, (status.get("test_accuracy") or 0.0) + 1e-6)
            (copied / STATUS_FILE).write_text(json.dumps(status))
            try:
                series.times.append(navigated_open(browser, url, page_name, ready, name))
            except Exception as error:  # noqa: BLE001
                series.failures.append(failure_line(error))
            finally:
                shutil.rmtree(store.root / run_id, ignore_errors=True)
        for series, floor_url, ready in floors:
            try:
                series.times.append(timed_open(browser, floor_url, ready))
            except Exception as error:  # noqa: BLE001
                series.failures.append(failure_line(error))
        for series, page_name, ready in (
            (verify_times, "verify", grid_ready),
            (explore_times, "explore", map_ready),
            (computed_times, "explore", map_ready),
        ):
            run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{tag}-{page_name}-{number}"
            copy_run(store.root, base_id, store.root, run_id, f"copy {tag} {page_name} {number}")
            if series is computed_times:  # as a run trained before the worker stored them
                (store.run_dir(run_id) / FEATURES_NOTE).unlink(missing_ok=True)
            try:
                series.times.append(timed_open(browser, f"{url}/{page_name}?run={run_id}", ready))
            except Exception as error:  # noqa: BLE001
                series.failures.append(failure_line(error))
            finally:
                shutil.rmtree(store.root / run_id, ignore_errors=True)
    floor_series = [series for series, _, _ in floors]
    navigated_series = [series for series, _, _ in navigated]
    return [*floor_series, verify_times, explore_times, computed_times, *navigated_series]


def train_open(browser, url: str, reps: int, name: str) -> Series:
    series = Series(name)
    for _ in range(reps):
        try:
            series.times.append(timed_open(browser, f"{url}/train", exists("h4")))
        except Exception as error:  # noqa: BLE001
            series.failures.append(failure_line(error))
            if not series.times:
                break  # during a run the live page may never be idle: no more timeouts
    return series


# --- Report --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--first-opens", type=int, default=2)
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--label-check-limit", type=int, default=LABEL_CHECK_LIMIT)
    parser.add_argument("--pages", default=",".join(PAGES), help="which pages to time")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    conditions = [name for name in args.conditions.split(",") if name]
    if not set(conditions) <= set(CONDITIONS):
        parser.error(f"conditions are {', '.join(CONDITIONS)}")
    pages = [name for name in args.pages.split(",") if name]
    if not set(pages) <= set(PAGES):
        parser.error(f"pages are {', '.join(PAGES)}")

    scratch = Path(tempfile.mkdtemp(prefix="bench-interactions-"))
    runs_dir = scratch / "runs"
    runs_dir.mkdir()
    store = RunStore(runs_dir)
    started = time.monotonic()
    print(f"load average at the start: {loadavg()}", flush=True)
    print("Training a Tutorial MLP (3 epochs) by the command line...", flush=True)
    base_id = cli_train(runs_dir, "bench", "--preset", "Tutorial MLP", "--epochs", "3")
    print(f"  {time.monotonic() - started:.0f} s", flush=True)
    # What the app's training worker does when a run completes (jobs.training_job): the
    # t-SNE map and the features, stored in the run folder. In a process of its own, as
    # there: this one must not import TensorFlow before its profile.
    subprocess.run(
        [sys.executable, "-c", MAP_AFTER_TRAINING, str(runs_dir), base_id], check=True, cwd=ROOT
    )
    print(f"  the map and the features stored: {time.monotonic() - started:.0f} s", flush=True)
    bare_script = scratch / "bare" / "bare_app.py"
    bare_script.parent.mkdir()
    bare_script.write_text(BARE_APP)

    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, Series]] = {}
    loads: dict[str, list[str]] = {}
    jobs: list[Background] = []  # stopped whatever happens (a stray trainer skews the rest)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # then the finally below runs
    server = AppServer(runs_dir, scratch / "streamlit.log", env={ENV_PASSWORD_HASH: None})
    bare = BareServer(bare_script, scratch / "bare.log")
    try:
        server.wait_healthy(90)
        bare.wait_healthy(90)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**launch_options())
            # Warm the server once (dataset, TensorFlow, the model's caches): the figures are
            # of a server in use, and first opens are timed on models never opened.
            for page_name, ready in (("verify", "Test accuracy"), ("explore", "Explore the model")):
                open_app_page(
                    browser, f"{server.url}/{page_name}?run={base_id}", ready
                ).context.close()
            for condition in conditions:
                job = None
                if condition != "quiet":
                    kind = "training" if condition == "training" else "label-check"
                    job = Background(
                        kind, runs_dir, scratch / f"{kind}.log", args.label_check_limit
                    )
                    print(f"[{condition}] starting the background job...", flush=True)
                    jobs.append(job)
                    job.start()
                series: list[Series] = []
                load = [loadavg()]
                print(f"[{condition}] load {load[0]}", flush=True)
                steps = {
                    "bare": lambda made: made.append(bare_round_trip(browser, bare.url, args.reps)),
                    "present": lambda made: present(browser, server.url, args.reps, made),
                    "verify": lambda made: verify(browser, server.url, base_id, args.reps, made),
                    "dataset": lambda made: dataset(browser, server.url, args.reps, made),
                    "explore": lambda made: explore(browser, server.url, base_id, args.reps, made),
                    "train": lambda made: made.append(
                        train_open(browser, server.url, 3, "Train: page open")
                    ),
                    "first": lambda made, tag=condition: made.extend(
                        first_opens(
                            browser, server.url, bare.url, store, base_id, args.first_opens, tag
                        )
                    ),
                }
                chosen = ["bare", *[name for name in steps if name in pages], "bare"]
                for make in (steps[name] for name in chosen):
                    if job is not None:
                        job.keep_running()
                    made: list[Series] = []  # what the page measured, also if it failed later
                    try:
                        make(made)
                    except Exception as error:  # noqa: BLE001 - said, and the run goes on
                        first = str(error).splitlines()[0][:200]
                        print(f"[{condition}] a page failed: {type(error).__name__}: {first}")
                    for item in made:
                        series.append(item)
                        print(f"[{condition}] {describe(item)} (load {loadavg()})", flush=True)
                    load.append(loadavg())
                if job is not None:
                    job.stop()
                    print(f"[{condition}] background job started {job.starts} time(s)", flush=True)
                merged: dict[str, Series] = {}
                for item in series:  # the bare round trip, timed first and last: both kept
                    merged.setdefault(item.name, Series(item.name)).times.extend(item.times)
                    merged[item.name].failures.extend(item.failures)
                results[condition] = merged
                loads[condition] = load
            browser.close()
    finally:
        for job in jobs:
            job.stop()
        server.stop()
        bare.stop()

    print_table(results, loads, conditions)
    print(f"\n{time.monotonic() - started:.0f} s for the browser part.", flush=True)
    if not args.no_profile:
        print(f"\nServer-side steps of a first open (this process, load {loadavg()}):")
        for name, seconds in profile(store, base_id):
            print(f"  {name:<72} {seconds:6.2f} s")
    if args.keep:
        print(f"kept {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def print_table(results, loads, conditions) -> None:
    names: list[str] = []
    for condition in conditions:
        for name in results[condition]:
            if name not in names:
                names.append(name)
    bare_name = "bare Streamlit button"
    print("\nSeconds from the input to the settled, changed page: median / p90, and the median "
          "as a ratio to the bare round trip of the same condition.\n")  # fmt: skip
    header = "| interaction | " + " | ".join(conditions) + " |"
    print(header)
    print("|---" * (len(conditions) + 1) + "|")
    for name in names:
        cells = []
        for condition in conditions:
            item = results[condition].get(name)
            bare_times = results[condition].get(bare_name, Series(bare_name)).times
            if item is None or not item.times:
                failed = f" ({len(item.failures)} failed)" if item and item.failures else ""
                cells.append(f"n/a{failed}")
                continue
            median = statistics.median(item.times)
            ratio = f", {median / statistics.median(bare_times):.1f}x" if bare_times else ""
            cells.append(f"{median:.2f} / {p90(item.times):.2f}{ratio} (n={len(item.times)})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nLoad average (1, 5, 15 min) at the start of each condition and after each page:")
    for condition in conditions:
        print(f"  {condition}: " + "; ".join(loads[condition]))


if __name__ == "__main__":
    sys.exit(main())
