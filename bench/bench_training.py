"""Benchmark of the training back end: what does the job path, with its recording, cost over
a plain `model.fit`?

    .venv/bin/python -m bench bench_training [--only mlp|cnn] [--rounds 5] [--cnn-rounds 3]

For two models, in one run, side by side and alternating the order each round, it trains
the same model on the same data with the same seed twice:

* plain: `model.fit` in a fresh process, as the worker calls it in its own (same batch
         size, validation split, learning-rate schedule), no callbacks, verbose=0. In this
         process, after other trainings, bfloat16 used about 1.2 of the 2 cores where the
         worker uses 1.9, which made the job look faster (the Best CNN's plain epoch still
         jumps between two times in a fresh process: docs/benchmarks.md);
* job:   `JobManager.start` + `wait`: a worker process with all live reporting on (a JSON
         line per batch, one per epoch, a checkpoint per epoch, the stop-flag check) and the
         recording of what the model predicts (history.py): at the end of every epoch the
         probabilities of all 10,000 test pictures (`model.predict`, batch 1000, appended to
         predictions.f16), every 2 s the live sample of about 40 pictures (live.json), while
         this process polls the run store every 50 ms as a page would.

The two models: (a) the Tutorial MLP at batch 32 (1,875 small steps an epoch: the per-batch
work weighs most), target ratio <= 1.08; (b) a CNN preset (Small CNN on 20,000 images, 2
epochs: a few minutes), target <= 1.05.

Fit time is compared like for like: the plain fit's wall time per epoch against the job's
`epoch_seconds` from metrics.jsonl, which include the epoch's test-set recording (process
start, TensorFlow import, data loading, the per-epoch checkpoint and the final save are
excluded, and reported separately). To show where the time goes, each plain round also
times, on its trained model, what the recording adds per epoch: the test-set prediction
(first call, which traces, and again) and one live-sample prediction.

It also measures how long a finished epoch takes to show in the store, and how long Stop
takes. This machine's speed jumps between levels: trust the paired ratios, not the absolute
times.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

from classifier.jobs.training_job import JobManager  # noqa: E402
from classifier.ml.models import preset_config  # noqa: E402
from classifier.store.history import HISTORY_FILE, record_bytes  # noqa: E402
from classifier.store.runs import BATCHES_FILE, RUNNING, RunStore  # noqa: E402
from tests.support import ROOT  # noqa: E402

POLL_SECONDS = 0.05
TARGET_RATIO_MLP = 1.08  # Tutorial MLP, batch 32
TARGET_RATIO_CNN = 1.05
TARGET_VISIBLE_S = 1.0
RECORD_BATCH = 1000  # the worker predicts the test set in batches of 1000 (training.py)
LIVE_PICTURES = 40  # about the size of the worker's live sample (history.live_indices)
LIVE_SECONDS = 2.0  # how often the worker predicts it (history.LIVE_SECONDS)


def plain_fit(config, x, y, x_test) -> dict:
    """`model.fit` exactly as the worker calls it, minus the callbacks; then, on the trained
    model, what the recording costs: the test-set prediction and a live-sample one."""
    import keras

    from classifier.ml.inference import softmax
    from classifier.ml.models import build_model, loss_targets

    # As training._train counts: Keras trains on the first floor(n * (1 - split)) samples.
    train_count = int(math.floor(len(x) * (1.0 - config.validation_split)))
    steps = math.ceil(train_count / config.batch_size)
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, steps)
    started, cpu_started = time.perf_counter(), time.process_time()
    history = model.fit(
        x,
        loss_targets(model, y),
        epochs=config.epochs,
        batch_size=config.batch_size,
        validation_split=config.validation_split,
        verbose=0,
    )  # same call as the worker, without callbacks
    seconds = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started

    def timed(images) -> float:
        begun = time.perf_counter()
        softmax(model.predict(images, batch_size=RECORD_BATCH, verbose=0))
        return time.perf_counter() - begun

    predict_first_s = timed(x_test)  # the worker's first epoch traces the predict function
    predict_s = median([timed(x_test) for _ in range(2)])
    timed(x_test[:LIVE_PICTURES])  # another input shape: a retrace, as in the worker
    live_s = median([timed(x_test[:LIVE_PICTURES]) for _ in range(3)])
    return {
        "fit_s": seconds,
        "cpu_s": cpu_s,
        "per_epoch_s": seconds / config.epochs,
        "final_loss": float(history.history["loss"][-1]),
        "predict_first_s": predict_first_s,
        "predict_s": predict_s,
        "live_s": live_s,
    }


def plain_fit_in_child(config) -> dict:
    """plain_fit, run in the fresh process `fresh_plain_fit` starts, on the pictures the
    worker trains on."""
    from classifier.data import load_dataset, scale_images

    dataset = load_dataset()
    limit = config.train_limit or len(dataset.train)
    x = scale_images(dataset.train.images[:limit])
    y = dataset.train.labels[:limit].astype("int32")
    return plain_fit(config, x, y, scale_images(dataset.test.images))


def fresh_plain_fit(config) -> dict:
    """plain_fit in a new Python process, like the worker's (its start-up is not timed)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(plain_fit_in_child, config).result()


def job_fit(manager: JobManager, config) -> dict:
    """One job through the whole path, polling the store every 50 ms like a page."""
    store = manager.store
    launched = time.time()
    run_id = manager.start(config, name="bench")
    process = manager._processes[run_id]
    seen_at: dict[int, float] = {}  # epoch -> when the store first showed it
    cpu_samples: list[tuple[float, float]] = []  # (time, the worker's CPU seconds)
    while True:
        now = time.time()
        cpu = process_cpu_seconds(process.pid)
        if cpu is not None:
            cpu_samples.append((now, cpu))
        info = store.get(run_id)
        store.read_batches(run_id)  # what the page's live chart reads too
        for epoch in range(1, info.epochs_done + 1):
            seen_at.setdefault(epoch, now)
        if process.poll() is not None and info.status != RUNNING:
            break
        time.sleep(POLL_SECONDS)
    returncode = manager.wait(run_id)
    ended = time.time()
    info = store.get(run_id)
    if returncode != 0 or info.status != "completed":
        log = (info.path / "worker.log").read_text(errors="replace")[-2000:]
        raise SystemExit(f"the job failed ({info.status}, exit {returncode}):\n{log}")
    metrics = store.read_metrics(run_id)
    epoch_seconds = [row["epoch_seconds"] for row in metrics]
    first_start = metrics[0]["time"] - metrics[0]["epoch_seconds"]
    cpu_s = interpolate(cpu_samples, metrics[-1]["time"]) - interpolate(cpu_samples, first_start)
    history_bytes = (info.path / HISTORY_FILE).stat().st_size
    return {
        "cpu_s": cpu_s,
        "run_id": run_id,
        "fit_s": sum(epoch_seconds),
        "per_epoch_s": sum(epoch_seconds) / len(epoch_seconds),
        "epoch_seconds": epoch_seconds,
        # From the first epoch's start to the last one's end: adds the per-epoch checkpoints.
        "span_s": metrics[-1]["time"] - first_start,
        "startup_s": first_start - launched,  # spawn, TF import, data, model build
        "wrapup_s": info.finished_at - metrics[-1]["time"],  # the last checkpoint, status
        "total_s": ended - launched,
        "visible_delays_s": [seen_at[row["epoch"]] - row["time"] for row in metrics],
        "final_loss": metrics[-1]["loss"],
        "test_accuracy": info.test_accuracy,
        "recorded_epochs": history_bytes // record_bytes(),
    }


def stop_trial(manager: JobManager, config, train_first_s: float) -> dict:
    """Start a long job, press Stop after it trained a while, time what follows."""
    store = manager.store
    run_id = manager.start(config, name="bench-stop")
    process = manager._processes[run_id]
    first_batch_seen = None
    while True:
        batches = store.read_batches(run_id)
        if batches and first_batch_seen is None:
            first_batch_seen = time.time()
        if first_batch_seen and time.time() - first_batch_seen >= train_first_s:
            break
        if process.poll() is not None:
            raise SystemExit("the stop trial's job ended before it could be stopped")
        time.sleep(POLL_SECONDS)
    visible_before = len(batches)
    asked = time.time()
    manager.stop(run_id)
    status_changed = None
    while process.poll() is None or status_changed is None:
        if status_changed is None and store.get(run_id).status != RUNNING:
            status_changed = time.time()
        time.sleep(POLL_SECONDS)
    exited = time.time()
    manager.wait(run_id)
    info = store.get(run_id)
    batches = store.read_batches(run_id)
    last_batch_written = (info.path / BATCHES_FILE).stat().st_mtime
    return {
        "status": info.status,
        "to_last_batch_s": last_batch_written - asked,
        "to_status_s": status_changed - asked,
        "to_exit_s": exited - asked,
        "batches_after_request": len(batches) - visible_before,
        "stopped_at": f"epoch {batches[-1]['epoch']} batch {batches[-1]['batch']}",
    }


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def interpolate(samples: list[tuple[float, float]], when: float) -> float:
    """The sampled value at `when`, linear between the two nearest samples."""
    before = max((s for s in samples if s[0] <= when), default=samples[0])
    after = min((s for s in samples if s[0] >= when), default=samples[-1])
    if after[0] == before[0]:
        return before[1]
    return before[1] + (after[1] - before[1]) * (when - before[0]) / (after[0] - before[0])


def code_state() -> str:
    """The commit measured, and whether the working tree had uncommitted changes."""
    import subprocess

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.strip()

    changed = git("status", "--porcelain", "--untracked-files=no").splitlines()
    note = f" + uncommitted changes in {len(changed)} files" if changed else ""
    return f"Code: commit {git('rev-parse', '--short', 'HEAD') or 'unknown'}{note}"


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def compare(manager: JobManager, label: str, config, images: int, rounds: int) -> dict:
    """`rounds` plain/job pairs, alternating which goes first."""
    print(
        f"{label}: batch {config.batch_size}, {images:,} images "
        f"(validation split {config.validation_split}), {config.epochs} epochs, "
        f"{rounds} alternating rounds",
        flush=True,
    )
    plain, job = [], []
    for round_no in range(rounds):
        order = ("plain", "job") if round_no % 2 == 0 else ("job", "plain")
        for kind in order:
            if kind == "plain":
                plain.append(fresh_plain_fit(config))
                result = plain[-1]
            else:
                job.append(job_fit(manager, config))
                result = job[-1]
            epochs = "/".join(f"{s:.2f}" for s in result.get("epoch_seconds", []))
            print(
                f"  round {round_no + 1} {kind:5}: {result['fit_s']:6.2f} s of fit, "
                f"{result['per_epoch_s']:.2f} s/epoch, final loss {result['final_loss']:.4f}"
                + (f" (epoch_seconds {epochs})" if epochs else ""),
                flush=True,
            )
    return {"label": label, "config": config, "images": images, "plain": plain, "job": job}


def case_rows(case: dict, target: float) -> tuple[list[tuple[str, str, str]], float]:
    plain, job, config = case["plain"], case["job"], case["config"]
    epochs = config.epochs
    plain_epoch = median([r["per_epoch_s"] for r in plain])
    job_epoch = median([r["per_epoch_s"] for r in job])
    ratios = [j["per_epoch_s"] / p["per_epoch_s"] for p, j in zip(plain, job, strict=True)]
    span_ratios = [j["span_s"] / p["fit_s"] for p, j in zip(plain, job, strict=True)]
    cpu_ratios = [j["cpu_s"] / p["cpu_s"] for p, j in zip(plain, job, strict=True)]
    ratio = median(ratios)
    predict_s = median([r["predict_s"] for r in plain])
    trace_s = median([r["predict_first_s"] - r["predict_s"] for r in plain])
    live_s = median([r["live_s"] for r in plain])
    # What the recording should add to an epoch of the plain fit's length: the test-set
    # predict every epoch, its first call's tracing spread over the epochs, the live sample
    # every 2 s (plus, in the job, the per-batch lines: the rest of the overhead).
    live_per_epoch = plain_epoch / LIVE_SECONDS
    expected = predict_s + trace_s / epochs + live_per_epoch * live_s
    train_images = int(math.floor(case["images"] * (1.0 - config.validation_split)))
    full_scale = 60_000 * (1.0 - config.validation_split) / train_images
    rows = [
        ("Plain model.fit, s/epoch (median)", f"{plain_epoch:.3f}", ""),
        ("Job, epoch_seconds per epoch (median)", f"{job_epoch:.3f}", "incl. recording"),
        ("Job / plain fit time, paired (median)", f"{ratio:.3f}", f"<= {target}"),
        ("  per pair", ", ".join(f"{r:.3f}" for r in ratios), ""),
        ("Job / plain CPU seconds of fit (median)", f"{median(cpu_ratios):.3f}",
         "less sensitive to other load"),
        ("  per pair", ", ".join(f"{r:.3f}" for r in cpu_ratios), ""),
        ("Where it goes (timed on the plain model):", "", ""),
        ("  test-set predict, 10,000 at batch 1000, s", f"{predict_s:.3f}",
         f"{predict_s / plain_epoch:.1%} of a plain epoch"),
        ("  its first call's tracing, s", f"{trace_s:.3f}", f"once per run ({epochs} epochs)"),
        (f"  live sample, {LIVE_PICTURES} pictures, s", f"{live_s:.4f}",
         f"x {live_per_epoch:.1f} an epoch (every {LIVE_SECONDS:.0f} s)"),
        ("  = expected recording, s/epoch", f"{expected:.3f}",
         f"ratio {1 + expected / plain_epoch:.3f} from it alone"),
        ("  measured job - plain, s/epoch (median)", f"{job_epoch - plain_epoch:.3f}",
         "the rest: per-batch lines, noise"),
        ("  test predict / plain epoch at 60,000 images",
         f"{predict_s / plain_epoch / full_scale:.1%}",
         f"estimate: epoch x {full_scale:.2f}" if full_scale > 1.01 else "as measured"),
        ("Job incl. per-epoch checkpoints, s/epoch",
         f"{median([r['span_s'] / epochs for r in job]):.3f}", ""),
        ("  ... / plain fit time (median)", f"{median(span_ratios):.3f}", "(informative)"),
        ("Job start-up: spawn to first epoch, s", f"{median([r['startup_s'] for r in job]):.2f}",
         "excluded above"),
        ("Job wrap-up: last checkpoint to done, s", f"{median([r['wrapup_s'] for r in job]):.2f}",
         "excluded above"),
        ("Job wall time, start to exit, s", f"{median([r['total_s'] for r in job]):.2f}", ""),
        ("Epochs recorded in predictions.f16", ", ".join(str(r["recorded_epochs"]) for r in job),
         f"{epochs} expected"),
        ("Final training loss plain / job (last round)",
         f"{plain[-1]['final_loss']:.4f} / {job[-1]['final_loss']:.4f}", "same seed"),
    ]  # fmt: skip
    return rows, ratio


def print_table(title: str, rows: list[tuple[str, str, str]]) -> None:
    width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    print()
    print(title)
    print(f"{'Measure':{width}}  {'Value':>{value_width}}  Target / note")
    print("-" * (width + value_width + 24))
    for label, value, note in rows:
        print(f"{label:{width}}  {value:>{value_width}}  {note}".rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["mlp", "cnn"], help="one of the two models")
    parser.add_argument("--epochs", type=int, default=3, help="Tutorial MLP epochs")
    parser.add_argument("--rounds", type=int, default=5, help="Tutorial MLP plain/job pairs")
    parser.add_argument("--batch-size", type=int, default=32, help="32 stresses per-batch work")
    parser.add_argument("--train-limit", type=int, default=0, help="MLP; 0 = all 60,000")
    parser.add_argument("--cnn-preset", default="Small CNN")
    parser.add_argument("--cnn-epochs", type=int, default=2)
    parser.add_argument("--cnn-rounds", type=int, default=3)
    parser.add_argument("--cnn-train-limit", type=int, default=20_000, help="0 = all 60,000")
    parser.add_argument("--stop-trials", type=int, default=2)
    parser.add_argument("--runs-dir", help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--json", help="also write the raw figures to this file")
    args = parser.parse_args(argv)

    cases = []
    if args.only in (None, "mlp"):
        mlp = preset_config(
            "Tutorial MLP",
            epochs=args.epochs,
            batch_size=args.batch_size,
            train_limit=args.train_limit,
        )
        cases.append(("Tutorial MLP", mlp, args.rounds, TARGET_RATIO_MLP))
    if args.only in (None, "cnn"):
        cnn = preset_config(
            args.cnn_preset, epochs=args.cnn_epochs, train_limit=args.cnn_train_limit
        )
        cases.append((args.cnn_preset, cnn, args.cnn_rounds, TARGET_RATIO_CNN))
    runs_dir = Path(args.runs_dir or tempfile.mkdtemp(prefix="bench-runs-"))
    manager = JobManager(RunStore(runs_dir))

    print(code_state())
    print(f"{os.cpu_count()} CPUs; each plain fit and each job runs in a fresh process")
    from classifier.data import load_dataset

    train_count = len(load_dataset().train)
    results, stops = [], []
    try:
        for label, config, rounds, target in cases:
            images = config.train_limit or train_count
            results.append((compare(manager, label, config, images, rounds), target))
        if args.stop_trials and args.only in (None, "mlp"):
            stop_config = preset_config(
                "Tutorial MLP", epochs=50, batch_size=args.batch_size, train_limit=args.train_limit
            )
            for trial in range(args.stop_trials):
                stops.append(stop_trial(manager, stop_config, train_first_s=1.0 + 0.37 * trial))
                print(f"  stop trial {trial + 1}: {stops[-1]}")
    finally:
        if not args.runs_dir:
            shutil.rmtree(runs_dir, ignore_errors=True)

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print()
    print(
        f"Load average at the end: {load} on {os.cpu_count()} CPUs "
        "(other work on the machine makes the wall-time ratios noisy)"
    )
    verdicts = []
    delays = []
    for case, target in results:
        rows, ratio = case_rows(case, target)
        config = case["config"]
        title = (
            f"{case['label']}, batch {config.batch_size}, {case['images']:,} images, "
            f"{config.epochs} epochs, {len(case['plain'])} alternating rounds"
        )
        print_table(title, rows)
        verdicts.append((f"{case['label']} recording overhead {ratio:.3f}", ratio <= target))
        delays += [d for r in case["job"] for d in r["visible_delays_s"]]

    rows = [
        ("Epoch end -> visible in store, s (max)", f"{max(delays):.3f}", f"< {TARGET_VISIBLE_S}"),
        ("  median over epochs", f"{median(delays):.3f}", f"{len(delays)} epochs"),
    ]
    verdicts.append(("epoch visible", max(delays) < TARGET_VISIBLE_S))
    if stops:
        rows += [
            ("Stop -> last batch written, s (median)",
             f"{median([s['to_last_batch_s'] for s in stops]):.3f}", ""),
            ("Stop -> status not running, s (median)",
             f"{median([s['to_status_s'] for s in stops]):.3f}", "incl. save + test eval"),
            ("Stop -> worker exited, s (median)",
             f"{median([s['to_exit_s'] for s in stops]):.3f}", ""),
            ("Stopped runs ended as", ", ".join(s["status"] for s in stops), ""),
        ]  # fmt: skip
        verdicts.append(("stop", all(s["status"] == "stopped" for s in stops)))
    print_table("Every job above, and the Stop trials (Tutorial MLP)", rows)
    print()
    print("  ".join(f"{name}: {'PASS' if ok else 'MISS'}" for name, ok in verdicts))

    if args.json:
        raw = {case["label"]: {"plain": case["plain"], "job": case["job"]} for case, _ in results}
        Path(args.json).write_text(json.dumps({**raw, "stops": stops}, indent=2))
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
