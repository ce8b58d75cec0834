"""Benchmark of the training back end: what does the job path cost over a plain `model.fit`?

    .venv/bin/python bench/bench_training.py [--epochs 3] [--rounds 2] [--batch-size 32]

In one run, side by side and alternating the order each round, it trains the same model on
the same data twice:

* plain: `model.fit` in this process, same seed, no callbacks, verbose=0;
* job:   `JobManager.start` + `wait`: a worker process with all live reporting on
         (a JSON line per batch, one per epoch, a checkpoint per epoch, the stop-flag check),
         while this process polls the run store every 50 ms as a page would.

Fit time is compared like for like: the plain fit's wall time per epoch against the job's
`epoch_seconds` from metrics.jsonl (process start, TensorFlow import, data loading, the
final save and the test evaluation are excluded, and reported separately as start-up and
wrap-up). It also measures how long a finished epoch takes to show in the store, and how
long Stop takes. This machine's speed jumps between levels: trust the ratios, not the
absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from classifier.jobs import JobManager  # noqa: E402
from classifier.models import preset_config  # noqa: E402
from classifier.runs import BATCHES_FILE, RUNNING, RunStore  # noqa: E402

POLL_SECONDS = 0.05
TARGET_RATIO = 1.05
TARGET_VISIBLE_S = 1.0


def plain_fit(config, x, y) -> dict:
    """`model.fit` exactly as the worker calls it, minus the callbacks."""
    import keras

    from classifier.models import build_model

    steps = -(-len(x) // config.batch_size)
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, steps)
    started, cpu_started = time.perf_counter(), time.process_time()
    history = model.fit(
        x, y, epochs=config.epochs, batch_size=config.batch_size, verbose=0
    )  # same call as the worker, without callbacks
    seconds = time.perf_counter() - started
    return {
        "fit_s": seconds,
        "cpu_s": time.process_time() - cpu_started,
        "per_epoch_s": seconds / config.epochs,
        "final_loss": float(history.history["loss"][-1]),
    }


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
    return {
        "cpu_s": cpu_s,
        "run_id": run_id,
        "fit_s": sum(epoch_seconds),
        "per_epoch_s": sum(epoch_seconds) / len(epoch_seconds),
        # From the first epoch's start to the last one's end: adds the per-epoch checkpoints.
        "span_s": metrics[-1]["time"] - first_start,
        "startup_s": first_start - launched,  # spawn, TF import, data, model build
        "wrapup_s": info.finished_at - metrics[-1]["time"],  # final save + test evaluation
        "total_s": ended - launched,
        "visible_delays_s": [seen_at[row["epoch"]] - row["time"] for row in metrics],
        "final_loss": metrics[-1]["loss"],
        "test_accuracy": info.test_accuracy,
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


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="alternating plain/job pairs")
    parser.add_argument("--batch-size", type=int, default=32, help="32 stresses per-batch work")
    parser.add_argument("--train-limit", type=int, default=0, help="0 = all 60,000 images")
    parser.add_argument("--stop-trials", type=int, default=2)
    parser.add_argument("--runs-dir", help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--json", help="also write the raw figures to this file")
    args = parser.parse_args(argv)

    config = preset_config(
        "Tutorial MLP",
        epochs=args.epochs,
        batch_size=args.batch_size,
        train_limit=args.train_limit,
    )
    runs_dir = Path(args.runs_dir or tempfile.mkdtemp(prefix="bench-runs-"))
    manager = JobManager(RunStore(runs_dir))

    print(f"Loading data and TensorFlow in the benchmark process ({os.cpu_count()} CPUs)...")
    from classifier.data import load_dataset, scale_images

    dataset = load_dataset()
    limit = config.train_limit or len(dataset.train)
    x = scale_images(dataset.train.images[:limit])
    y = dataset.train.labels[:limit].astype("int32")
    import keras  # noqa: F401 - imported here so no timing below includes it

    plain, job = [], []
    try:
        for round_no in range(args.rounds):
            order = ("plain", "job") if round_no % 2 == 0 else ("job", "plain")
            for kind in order:
                if kind == "plain":
                    plain.append(plain_fit(config, x, y))
                    result = plain[-1]
                else:
                    job.append(job_fit(manager, config))
                    result = job[-1]
                print(
                    f"  round {round_no + 1} {kind:5}: {result['fit_s']:6.2f} s of fit, "
                    f"{result['per_epoch_s']:.2f} s/epoch, final loss {result['final_loss']:.4f}"
                )
        stop_config = preset_config(
            "Tutorial MLP", epochs=50, batch_size=args.batch_size, train_limit=args.train_limit
        )
        stops = []
        for trial in range(args.stop_trials):
            stops.append(stop_trial(manager, stop_config, train_first_s=1.0 + 0.37 * trial))
            print(f"  stop trial {trial + 1}: {stops[-1]}")
    finally:
        if not args.runs_dir:
            shutil.rmtree(runs_dir, ignore_errors=True)

    plain_epoch = median([r["per_epoch_s"] for r in plain])
    job_epoch = median([r["per_epoch_s"] for r in job])
    job_span = median([r["span_s"] / args.epochs for r in job])
    ratios = [j["per_epoch_s"] / p["per_epoch_s"] for p, j in zip(plain, job, strict=True)]
    span_ratios = [j["span_s"] / p["fit_s"] for p, j in zip(plain, job, strict=True)]
    delays = [d for r in job for d in r["visible_delays_s"]]
    cpu_ratios = [j["cpu_s"] / p["cpu_s"] for p, j in zip(plain, job, strict=True)]
    ratio = median(ratios)
    visible = max(delays)

    rows = [
        ("Plain model.fit, s/epoch (median)", f"{plain_epoch:.3f}", ""),
        ("Job, epoch_seconds per epoch (median)", f"{job_epoch:.3f}", ""),
        ("Job / plain fit time, paired (median)", f"{ratio:.3f}", f"<= {TARGET_RATIO}"),
        ("  per pair", ", ".join(f"{r:.3f}" for r in ratios), ""),
        ("Job / plain CPU seconds of fit (median)", f"{median(cpu_ratios):.3f}",
         "less sensitive to other load"),
        ("  per pair", ", ".join(f"{r:.3f}" for r in cpu_ratios), ""),
        ("Job incl. per-epoch checkpoints, s/epoch", f"{job_span:.3f}", ""),
        ("  ... / plain fit time (median)", f"{median(span_ratios):.3f}", "(informative)"),
        ("Job start-up: spawn to first epoch, s", f"{median([r['startup_s'] for r in job]):.2f}",
         "excluded above"),
        ("Job wrap-up: final save + test eval, s", f"{median([r['wrapup_s'] for r in job]):.2f}",
         "excluded above"),
        ("Job wall time, start to exit, s", f"{median([r['total_s'] for r in job]):.2f}", ""),
        ("Epoch end -> visible in store, s (max)", f"{visible:.3f}", f"< {TARGET_VISIBLE_S}"),
        ("  median over epochs", f"{median(delays):.3f}", f"{len(delays)} epochs"),
        ("Stop -> last batch written, s (median)",
         f"{median([s['to_last_batch_s'] for s in stops]):.3f}", ""),
        ("Stop -> status not running, s (median)",
         f"{median([s['to_status_s'] for s in stops]):.3f}", "incl. save + test eval"),
        ("Stop -> worker exited, s (median)", f"{median([s['to_exit_s'] for s in stops]):.3f}",
         ""),
        ("Stopped runs ended as", ", ".join(s["status"] for s in stops), ""),
        ("Final training loss plain / job (last round)",
         f"{plain[-1]['final_loss']:.4f} / {job[-1]['final_loss']:.4f}", "same seed"),
    ]  # fmt: skip
    print()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"Load average at the end: {load} on {os.cpu_count()} CPUs "
        "(other work on the machine makes the wall-time ratios noisy)"
    )
    print(
        f"Tutorial MLP, batch {config.batch_size}, {len(x):,} images, {args.epochs} epochs, "
        f"{args.rounds} alternating rounds"
    )
    width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    print(f"{'Measure':{width}}  {'Value':>{value_width}}  Target / note")
    print("-" * (width + value_width + 24))
    for label, value, note in rows:
        print(f"{label:{width}}  {value:>{value_width}}  {note}")
    verdicts = [
        ("fit overhead", ratio <= TARGET_RATIO),
        ("epoch visible", visible < TARGET_VISIBLE_S),
        ("stop", all(s["status"] == "stopped" for s in stops)),
    ]
    print()
    print("  ".join(f"{name}: {'PASS' if ok else 'MISS'}" for name, ok in verdicts))

    if args.json:
        Path(args.json).write_text(
            json.dumps({"plain": plain, "job": job, "stops": stops}, indent=2)
        )
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
