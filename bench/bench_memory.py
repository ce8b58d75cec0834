"""Memory of the Streamlit server while a user goes through many runs (issue 12).

    .venv/bin/python -m bench bench_memory [--long-runs 10] [--models 20]

A real `streamlit run app.py` on a free loopback port with a scratch run store, and a real
browser (Playwright + Chromium), pages opened by links: the tests' own harness
(tests.support: AppServer, the Chromium flags, wait_for_app). The server's memory is read from
/proc/<pid>/status: VmRSS (resident now) and VmHWM (the peak so far).

(a) Train page, ten long runs: synthetic run folders like a 50-epoch batch-32 run
    (config.json, a completed status.json, metrics.jsonl of 50 lines, batches.jsonl of
    50 x 1,875 = 93,750 lines, about 9 MB). Each is opened with `/train?run=RUN_ID`, the
    toggle "Show the per-batch curves and the epoch table" is turned on (the worst case:
    the whole batch log is read and drawn), then the run is deleted with the page's
    "Delete a run" (picker, confirmation, Delete).
(b) Verify page, twenty models: real Tutorial MLPs (1 epoch on 500 images, trained
    in-process with run_training, a second or two each), half of them without their
    predictions.f16 history, so both ways to the test-set probabilities are exercised.
    Each is opened with `/verify?run=RUN_ID`.

Target: the server under 1.5 GB, and not growing with the count (the RSS after all the
runs within 15% of the RSS after half of them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported

from bench.bench_training import code_state  # noqa: E402
from classifier.auth import ENV_PASSWORD_HASH  # noqa: E402
from classifier.store.runs import RunStore  # noqa: E402
from tests.support.browser import launch_options, new_page, wait_for_app  # noqa: E402
from tests.support.server import AppServer  # noqa: E402

TARGET_MB = 1500
GROWTH_LIMIT = 0.15  # RSS after all vs after half of them
DETAILS = "Show the per-batch curves and the epoch table"  # the Train page's toggle
SURE = "Yes, delete this run and its model for good"
TIMEOUT_MS = 180_000
EPOCHS, STEPS = 50, 1875  # a 50-epoch run at batch 32 on 60,000 images


# --- The runs --------------------------------------------------------------------------------


def make_long_run(store: RunStore, name: str, started_at: float) -> str:
    """A completed 50-epoch Tutorial MLP run without a model, as the worker would log it."""
    import numpy as np

    from classifier.ml.models import preset_config

    config = preset_config("Tutorial MLP", epochs=EPOCHS, batch_size=32)
    writer = store.create_run(config.to_dict(), name)
    rng = np.random.default_rng(len(name) + int(started_at))
    progress = np.arange(1, EPOCHS * STEPS + 1) / (EPOCHS * STEPS)
    loss = 0.25 + 0.5 * np.exp(-4 * progress) + rng.normal(0, 0.02, progress.size)
    accuracy = 0.92 - 0.2 * np.exp(-4 * progress) + rng.normal(0, 0.01, progress.size)
    with open(writer.path / "batches.jsonl", "w") as batches:
        for row in range(EPOCHS * STEPS):
            epoch, batch = divmod(row, STEPS)
            record = {
                "epoch": epoch + 1,
                "batch": batch + 1,
                "steps": STEPS,
                "accuracy": float(accuracy[row]),
                "loss": float(loss[row]),
            }
            batches.write(json.dumps(record) + "\n")
    with open(writer.path / "metrics.jsonl", "w") as metrics:
        for epoch in range(1, EPOCHS + 1):
            end = (epoch * STEPS) - 1
            record = {
                "epoch": epoch,
                "accuracy": float(accuracy[end]),
                "loss": float(loss[end]),
                "test_loss": float(loss[end]) + 0.05,
                "test_accuracy": float(accuracy[end]) - 0.02,
                "epoch_seconds": 3.6,
                "time": started_at + 3.7 * epoch,
                "learning_rate": 0.001,
            }
            metrics.write(json.dumps(record) + "\n")
    writer.write_status(
        status="completed",
        started_at=started_at,
        finished_at=started_at + 3.7 * EPOCHS + 1,
        epochs_done=EPOCHS,
        test_accuracy=float(accuracy[-1]) - 0.02,
        test_loss=float(loss[-1]) + 0.05,
        steps_per_epoch=STEPS,
    )
    writer.release()
    return writer.run_id


def train_models(folder: Path, count: int) -> list[tuple[str, bool]]:
    """`count` tiny real models; every second one loses its predictions.f16 history.
    Returns (run id, has a history), oldest first."""
    from classifier.ml.models import preset_config
    from classifier.ml.training import run_training
    from classifier.store.history import HISTORY_FILE

    store, models = RunStore(folder), []
    for number in range(1, count + 1):
        config = preset_config("Tutorial MLP", epochs=1, train_limit=500, seed=number)
        writer = store.create_run(config.to_dict(), f"model {number:02d}")
        run_training(writer)
        keep_history = number % 2 == 1
        if not keep_history:
            (writer.path / HISTORY_FILE).unlink()
        models.append((writer.run_id, keep_history))
    return models


# --- The server and the browser --------------------------------------------------------------


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def check_page(page, what: str) -> None:
    if page.locator("[data-testid='stException']").count():
        raise SystemExit(f"{what}: the page shows an exception:\n{page.inner_text('body')[:1500]}")


def settled_memory(pid: int) -> tuple[float, float]:
    time.sleep(1.0)  # let the server finish sending and drop what the run used
    return memory_mb(pid)


def show_and_delete(page, url: str, store: RunStore, run_id: str, name: str) -> None:
    page.goto(f"{url}/train?run={run_id}", timeout=TIMEOUT_MS)
    wait_for_app(page, TIMEOUT_MS)
    page.get_by_role("heading", name=name).wait_for(timeout=TIMEOUT_MS)
    charts = page.get_by_test_id("stPlotlyChart")
    before = charts.count()
    page.get_by_text(DETAILS).click()
    wait_for_app(page, TIMEOUT_MS)
    page.wait_for_function(
        f"document.querySelectorAll(\"[data-testid='stPlotlyChart']\").length > {before}",
        timeout=TIMEOUT_MS,
    )
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=TIMEOUT_MS)
    check_page(page, f"Train page of {name}")
    # Delete it: the picker starts at the newest run, which is the one shown.
    page.get_by_text("Delete a run").click()
    picker = page.get_by_role("combobox", name="Run to delete")
    picker.wait_for(timeout=TIMEOUT_MS)
    chosen = picker.input_value()
    if name not in chosen:
        raise SystemExit(f"the delete picker shows {chosen!r}, not {name!r}")
    delete = page.get_by_role("button", name="Delete", exact=True)
    for _ in range(5):  # a click can land while the page is still re-rendering
        if not page.get_by_role("checkbox", name=SURE).is_checked():
            page.get_by_text(SURE).click()
        wait_for_app(page, TIMEOUT_MS)  # the click's rerun, which enables Delete
        if delete.is_enabled():
            break
    delete.click()
    wait_for_app(page, TIMEOUT_MS)
    deadline = time.monotonic() + 30
    while store.root.joinpath(run_id).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run_id} was not deleted")
        time.sleep(0.1)
    check_page(page, f"Train page after deleting {name}")


def open_verify(page, url: str, run_id: str) -> None:
    page.goto(f"{url}/verify?run={run_id}", timeout=TIMEOUT_MS)
    wait_for_app(page, TIMEOUT_MS)
    try:
        page.get_by_role("heading", name="Where the model goes wrong").wait_for(timeout=TIMEOUT_MS)
    except Exception as error:
        body = page.inner_text("body")[:1500]
        raise SystemExit(f"the Verify page of {run_id} did not finish ({error}):\n{body}") from None
    wait_for_app(page, TIMEOUT_MS)
    check_page(page, f"Verify page of {run_id}")
    if f"run={run_id}" not in page.url:
        raise SystemExit(f"the Verify page shows another model: {page.url}")


# --- Report ---------------------------------------------------------------------------------


def progress(kind: str, row: dict) -> None:
    """One line per step on stderr while it runs; the tables at the end go to stdout."""
    line = f"  {kind} {row['count']:2d}: {row['rss']:6.0f} MB, peak {row['hwm']:6.0f} MB"
    print(f"{line}, {row['s']:.1f} s", file=sys.stderr, flush=True)


def growth(rows: list[dict], key: str = "rss") -> tuple[float, int, int]:
    """RSS after all the steps over the RSS after half of them."""
    last = rows[-1]
    half = rows[len(rows) // 2 - 1]
    return last[key] / half[key], half["count"], last["count"]


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print()
    print(title)
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--long-runs", type=int, default=10)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    if args.long_runs < 2 or args.models < 2:
        parser.error("at least 2 of each: the growth compares all with half")

    print(code_state())
    scratch = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    runs_dir, staging = scratch / "runs", scratch / "models"
    store = RunStore(runs_dir)
    started = time.monotonic()
    print(f"Training {args.models} tiny models (Tutorial MLP, 1 epoch, 500 images)...", flush=True)
    models = train_models(staging, args.models)
    trained_s = time.monotonic() - started
    now = time.time()
    long_runs = []
    for number in range(1, args.long_runs + 1):
        name = f"long run {number:02d}"
        long_runs.append((make_long_run(store, name, now - 3600 + number), name))
    batch_mb = (runs_dir / long_runs[0][0] / "batches.jsonl").stat().st_size / 2**20
    print(
        f"  {trained_s:.0f} s; {args.long_runs} long runs written ({EPOCHS} epochs x "
        f"{STEPS:,} batches, batches.jsonl {batch_mb:.1f} MB each)",
        flush=True,
    )

    from playwright.sync_api import sync_playwright

    # Everyone may delete: no presenter password, whatever the environment says.
    server = AppServer(runs_dir, scratch / "streamlit.log", env={ENV_PASSWORD_HASH: None})
    url = server.url
    train_rows, verify_rows = [], []
    try:
        server.wait_healthy(90)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**launch_options())
            page = new_page(browser)
            page.goto(f"{url}/train", timeout=TIMEOUT_MS)
            wait_for_app(page, TIMEOUT_MS)
            rss, hwm = settled_memory(server.pid)
            start_rss = rss
            train_rows.append({"count": 0, "rss": rss, "hwm": hwm, "shown": rss, "s": 0.0})

            # (a) Newest first: the shown run is then also the delete picker's first.
            for count, (run_id, name) in enumerate(reversed(long_runs), start=1):
                begun = time.monotonic()
                show_and_delete(page, url, store, run_id, name)
                seconds = time.monotonic() - begun
                rss, hwm = settled_memory(server.pid)
                row = {"count": count, "rss": rss, "hwm": hwm, "s": seconds}
                train_rows.append(row)
                progress("train", row)
            after_train_hwm = hwm

            # (b) The models appear in the store only now, oldest first.
            for run_id, _ in models:
                shutil.move(str(staging / run_id), str(runs_dir / run_id))
            for count, (run_id, has_history) in enumerate(models, start=1):
                begun = time.monotonic()
                open_verify(page, url, run_id)
                seconds = time.monotonic() - begun
                rss, hwm = settled_memory(server.pid)
                row = {"count": count, "rss": rss, "hwm": hwm, "s": seconds, "h": has_history}
                verify_rows.append(row)
                progress("verify", row)
            browser.close()
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"kept {scratch}")

    print_table(
        f"(a) Train page: long runs shown with per-batch curves, then deleted "
        f"(server after opening /train: {start_rss:.0f} MB)",
        ["runs", "RSS MB", "peak MB", "s"],
        [[str(r["count"]), f"{r['rss']:.0f}", f"{r['hwm']:.0f}", f"{r['s']:.1f}"]
         for r in train_rows[1:]],
    )  # fmt: skip
    print_table(
        "(b) Verify page: a different model opened by link each time",
        ["models", "history", "RSS MB", "peak MB", "s"],
        [[str(r["count"]), "yes" if r["h"] else "no", f"{r['rss']:.0f}", f"{r['hwm']:.0f}",
          f"{r['s']:.1f}"] for r in verify_rows],
    )  # fmt: skip

    peak = max(r["hwm"] for r in train_rows + verify_rows)
    train_growth, train_half, train_all = growth(train_rows[1:])
    verify_growth, verify_half, verify_all = growth(verify_rows)
    print()
    print(f"Peak (VmHWM): {after_train_hwm:.0f} MB after (a), {peak:.0f} MB in all "
          f"(target < {TARGET_MB} MB: {peak / TARGET_MB:.2f} of it)")  # fmt: skip
    print(f"(a) RSS after {train_all} / after {train_half} runs: {train_growth:.3f} "
          f"(not growing: <= {1 + GROWTH_LIMIT:.2f})")  # fmt: skip
    print(f"(b) RSS after {verify_all} / after {verify_half} models: {verify_growth:.3f} "
          f"(not growing: <= {1 + GROWTH_LIMIT:.2f})")  # fmt: skip
    verdicts = [
        ("peak under 1.5 GB", peak < TARGET_MB),
        ("Train not growing", train_growth <= 1 + GROWTH_LIMIT),
        ("Verify not growing", verify_growth <= 1 + GROWTH_LIMIT),
    ]
    print("  ".join(f"{name}: {'PASS' if ok else 'MISS'}" for name, ok in verdicts))
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
