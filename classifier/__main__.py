"""The command line: train, list, evaluate, stop and delete runs in the same store as the app.

python -m classifier train --preset "Tutorial MLP" --epochs 10
python -m classifier runs
python -m classifier evaluate RUN
python -m classifier history RUN --image 42
python -m classifier suspects --split test --top 20
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile

from classifier.data import DatasetError
from classifier.jobs.process import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, busy_reason
from classifier.jobs.training_job import continued_config, continued_name, train_worker
from classifier.ml.models import (
    ARCHITECTURES,
    OPTIMIZERS,
    PRECISIONS,
    PRESETS,
    SCHEDULES,
    STRATEGIES,
    preset_config,
)
from classifier.store.records import RunError
from classifier.store.runs import RunStore

# Flags of `train`, each overriding the preset's value when given.
TRAIN_FLAGS = {
    "architecture": str,
    "epochs": int,
    "batch_size": int,
    "learning_rate": float,
    "optimizer": str,
    "schedule": str,
    "hidden_units": int,
    "dropout": float,
    "validation_split": float,
    "seed": int,
    "train_limit": int,
    "strategy": str,
    "devices": int,
    "precision": str,
    "label_smoothing": float,
}
CHOICES = {
    "architecture": ARCHITECTURES,
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "strategy": STRATEGIES,
    "precision": PRECISIONS,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m classifier",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--runs-dir",
        help="run store folder (default: $CLASSIFIER_RUNS_DIR or runs/ in the project)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and save it as a run")
    train.add_argument("--preset", default="Tutorial MLP", choices=list(PRESETS))
    train.add_argument("--name", default="", help="a name for the run")
    for flag, kind in TRAIN_FLAGS.items():
        train.add_argument(f"--{flag.replace('_', '-')}", type=kind, choices=CHOICES.get(flag))
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    train.add_argument("--quiet", action="store_true", help="no Keras progress bar")
    train.add_argument(
        "--continue",
        dest="continue_run",
        metavar="RUN",
        help="train RUN's saved model further, for --epochs more epochs, as a new run",
    )

    commands.add_parser(
        "presenter-password", help="make the hash of a presenter password (asks for it twice)"
    )
    commands.add_parser("runs", help="list the runs")
    evaluate = commands.add_parser("evaluate", help="print a run's test loss and accuracy")
    evaluate.add_argument("run")
    stop = commands.add_parser("stop", help="ask a training run to stop")
    stop.add_argument("run")
    delete = commands.add_parser("delete", help="delete a run that is not training")
    delete.add_argument("run")
    history = commands.add_parser(
        "history", help="what a run's model predicted for one test picture, epoch by epoch"
    )
    history.add_argument("run")
    history.add_argument(
        "--image", type=_test_image, required=True, metavar="N", help="a test picture, 0-9999"
    )
    history.add_argument(
        "--json", action="store_true", help="a JSON list, one object per epoch, all ten classes"
    )

    suspects = commands.add_parser(
        "suspects", help="the pictures whose label may be wrong (cleanlab), most doubtful first"
    )
    add_suspects_arguments(suspects)

    # Internal: the job manager's worker process (trains a run it already created).
    worker = commands.add_parser("worker")
    worker.add_argument("run")
    worker.add_argument("--lock-fd", type=int, required=True)
    worker.add_argument("--parent-pid", type=int, default=0)
    # Internal: the t-SNE map's worker process (maps a run's test pictures).
    map_worker = commands.add_parser("map-worker")
    map_worker.add_argument("run")
    map_worker.add_argument("--lock-fd", type=int, required=True)
    map_worker.add_argument("--parent-pid", type=int, default=0)
    # Internal: the label check's worker process (cross-validates a job folder it prepared).
    label_worker = commands.add_parser("label-check-worker")
    label_worker.add_argument("folder")
    label_worker.add_argument("--lock-fd", type=int, required=True)
    label_worker.add_argument("--parent-pid", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if argv is None:  # as a program: `... runs | head` ends quietly, as shell tools do
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    store = RunStore(args.runs_dir) if args.runs_dir else RunStore()
    try:
        return COMMANDS[args.command](args, store)
    except (RunError, DatasetError, ValueError, OSError, RuntimeError) as error:
        # Expected failures (unknown run, damaged dataset, unwritable store, full disk): one
        # line, no traceback; a training run's full traceback is in its error.log.
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def command_train(args, store: RunStore) -> int:
    given = {flag: getattr(args, flag) for flag in TRAIN_FLAGS}
    overrides = {flag: value for flag, value in given.items() if value is not None}
    if args.augment is not None:
        overrides["augment"] = args.augment
    if args.continue_run:
        if args.epochs is None:
            raise ValueError("Say how many more epochs: --continue RUN --epochs N.")
        config = continued_config(store, args.continue_run, args.epochs)
        args.name = args.name or continued_name(store.get(args.continue_run))
    else:
        config = preset_config(args.preset, **overrides)
    # TF_CONFIG only matters to multi-worker training: one machine ignores it, even damaged.
    scratch = None
    if config.strategy == "multi-worker" and _is_non_chief_worker():
        # Only the chief writes to the shared store (as TF advises); the others write to a
        # scratch folder that is removed when they finish.
        scratch = tempfile.mkdtemp(prefix="classifier-worker-")
        store = RunStore(scratch)
    try:
        busy = busy_reason(store)
        if busy:
            raise RunError(busy)
        from classifier.ml.training import run_training  # late: imports TensorFlow

        writer = store.create_run(config.to_dict(), args.name)
        where = f"run {writer.run_id} in {writer.path}"
        print(f"{where} (Ctrl-C stops it and keeps the model)", flush=True)
        _stop_on_first_interrupt(store, writer.run_id)
        result = run_training(writer, verbose=0 if args.quiet else 1)
    finally:
        if scratch and os.environ.get("CLASSIFIER_KEEP_WORKER_SCRATCH") != "1":
            shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"{result['status']}: test loss {result['test_loss']:.4f}, "
        f"test accuracy {result['test_accuracy']:.4f}"
    )
    print(f"run id: {writer.run_id}")
    return EXIT_OK


def command_worker(args, store: RunStore) -> int:
    return train_worker(store, args.run, args.lock_fd, args.parent_pid)


def command_label_check_worker(args, store: RunStore) -> int:
    from classifier.jobs import label_check

    return label_check.label_check_worker(args.folder, args.lock_fd, args.parent_pid)


def command_map_worker(args, store: RunStore) -> int:
    from classifier.jobs import embedding

    return embedding.map_worker(store, args.run, args.lock_fd, args.parent_pid)


def command_presenter_password(args, store: RunStore) -> int:
    """Ask for a presenter password twice; print the line to paste into secrets.toml."""
    import getpass

    from classifier.auth import hash_password

    try:
        password = getpass.getpass("Presenter password: ")
        again = getpass.getpass("Again: ")
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    if password != again:
        print("The two passwords differ; nothing printed.", file=sys.stderr)
        return EXIT_ERROR
    try:
        line = hash_password(password)
    except ValueError as error:
        print(f"{error}; nothing printed.", file=sys.stderr)
        return EXIT_ERROR
    if len(password) < 12:
        print("Warning: a password this short is easy to guess.", file=sys.stderr)
    print("# Paste into .streamlit/secrets.toml (or export CLASSIFIER_PRESENTER_PASSWORD_HASH):")
    print("[presenter]")
    print(f'password_hash = "{line}"')
    return EXIT_OK


def command_runs(args, store: RunStore) -> int:
    runs = store.list_runs()
    if not runs:
        print(f"no runs in {store.root}")
        return EXIT_OK
    print(f"{'RUN':40} {'PRESET':13} {'STATUS':11} {'EPOCHS':>7} {'TEST ACC':>8} {'TIME':>7}")
    for run in runs:
        accuracy = f"{run.test_accuracy:.4f}" if run.test_accuracy is not None else "-"
        duration = f"{run.duration_s:.0f}s" if run.duration_s is not None else "-"
        epochs = f"{run.epochs_done}/{run.epochs_planned}"
        print(
            f"{run.run_id:40} {run.preset[:13]:13} {run.status:11} {epochs:>7} "
            f"{accuracy:>8} {duration:>7}"
        )
    return EXIT_OK


def command_evaluate(args, store: RunStore) -> int:
    from classifier.data import load_dataset, scale_images
    from classifier.ml.inference import accuracy, cross_entropy, probabilities

    model = store.load_model(args.run)
    test = load_dataset().test
    probs = probabilities(model, scale_images(test.images))
    scores = {"test_loss": cross_entropy(probs, test.labels)}
    scores["test_accuracy"] = accuracy(probs, test.labels)
    print(json.dumps({"run": args.run, **scores}))
    return EXIT_OK


def command_stop(args, store: RunStore) -> int:
    store.get(args.run)
    store.request_stop(args.run)
    print(f"asked run {args.run} to stop")
    return EXIT_OK


def command_delete(args, store: RunStore) -> int:
    store.delete(args.run)
    print(f"deleted run {args.run}")
    return EXIT_OK


def command_history(args, store: RunStore) -> int:
    from classifier.data import CLASS_NAMES, load_dataset
    from classifier.store.history import HISTORY_FILE, is_prediction, read_history

    info = store.get(args.run)
    history = read_history(info.path / HISTORY_FILE, max_epochs=info.epochs_done)
    if not len(history):
        raise RunError(
            f"Run {args.run} was trained before runs recorded their progress: it has no history."
        )
    true_class = int(load_dataset().test.labels[args.image])
    rows = history[:, args.image, :].astype(float)  # (epochs, 10)
    epochs = []
    for epoch, row in enumerate(rows, start=1):
        predicted = int(row.argmax())
        record = {
            "epoch": epoch,
            "predicted": CLASS_NAMES[predicted],
            "predicted_probability": round(float(row[predicted]), 6),
            "true": CLASS_NAMES[true_class],
            "true_probability": round(float(row[true_class]), 6),
            "right": predicted == true_class,
            "probabilities": [round(float(value), 6) for value in row],
        }
        if not is_prediction(row):  # a diverged model's output was not a number
            record.update(
                predicted=None,
                predicted_probability=None,
                true_probability=None,
                right=False,
                probabilities=None,
            )
        epochs.append(record)
    if args.json:
        print(json.dumps(epochs))
        return EXIT_OK
    print(f"{'EPOCH':>5}  {'PREDICTED':12} {'PROBABILITY':>11}  TRUE: {CLASS_NAMES[true_class]}")
    for record in epochs:
        if record["predicted"] is None:
            print(f"{record['epoch']:>5}  no prediction: the model's output was not a number")
            continue
        print(
            f"{record['epoch']:>5}  {record['predicted']:12} "
            f"{record['predicted_probability']:>11.4f}  {record['true_probability']:.4f}"
        )
    return EXIT_OK


def add_suspects_arguments(parser: argparse.ArgumentParser) -> None:
    from classifier.jobs.label_check import DEFAULT_FOLDS, DEFAULT_PRESET

    parser.add_argument("--split", choices=["train", "test"], required=True)
    parser.add_argument("--run", help="test: the model that scores (default: the best run)")
    parser.add_argument(
        "--preset",
        default=DEFAULT_PRESET,
        choices=list(PRESETS),
        help="train: the model trained on each part (cross-validation)",
    )
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help="train: parts, 2-10")
    parser.add_argument("--epochs", type=int, default=0, help="train: default the preset's")
    parser.add_argument(
        "--limit", type=int, default=0, metavar="N", help="the first N pictures of the split"
    )
    parser.add_argument(
        "--top", type=int, metavar="N", help="print at most N suspects (default: every flagged one)"
    )
    parser.add_argument("--json", action="store_true", help="a JSON list, one object a suspect")


def command_suspects(args, store: RunStore) -> int:
    from classifier.data import load_dataset, scale_images
    from classifier.jobs import label_check
    from classifier.ml import label_ranking as suspects
    from classifier.views.explore import count_sentence

    split = load_dataset().split(args.split)
    if not 0 <= args.limit <= len(split) or (args.top is not None and args.top < 1):
        raise ValueError(f"--limit must be 0-{len(split):,} and --top at least 1.")
    count = args.limit or len(split)
    if args.split == "test":
        from classifier.ml.inference import probabilities

        runs = store.usable_runs()
        run = store.get(args.run) if args.run else (runs[0] if runs else None)
        if run is None:
            raise RunError(f"No trained model in {store.root}: train one, or give --run.")
        probs = probabilities(store.load_model(run.run_id), scale_images(split.images[:count]))
    else:
        job = label_check.CrossValidation(args.preset, args.folds, args.epochs, args.limit)
        job.validate()
        print(f"cross-validating in {label_check.job_dir(store.root, job)}", file=sys.stderr)
        probs = label_check.cross_validated_probabilities(store.root, job)
        if probs is None:
            raise RunError("The cross-validation was stopped; run the command again to go on.")
    ranking = suspects.rank_suspects(probs, split.labels[:count])
    rows = ranking.rows(args.top)
    if args.json:
        print(json.dumps(rows))
        return EXIT_OK
    print(count_sentence(ranking, args.split))
    if len(rows) < len(ranking):
        print(f"The first {len(rows):,} (--top):")
    if not rows:
        return EXIT_OK
    print(f"{'RANK':>4} {'PICTURE':>7}  {'LABEL':12} {'SUGGESTED':12} {'SCORE':>6}")
    for row in rows:
        print(
            f"{row['rank']:>4} {row['index']:>7}  {row['label']:12} {row['suggested']:12} "
            f"{row['score']:>6.4f}"
        )
    return EXIT_OK


COMMANDS = {
    "train": command_train,
    "worker": command_worker,
    "label-check-worker": command_label_check_worker,
    "map-worker": command_map_worker,
    "presenter-password": command_presenter_password,
    "runs": command_runs,
    "evaluate": command_evaluate,
    "stop": command_stop,
    "delete": command_delete,
    "history": command_history,
    "suspects": command_suspects,
}


def _stop_on_first_interrupt(store: RunStore, run_id: str) -> None:
    """The first Ctrl-C stops training after the current batch, like the app's Stop button;
    a second one aborts at once."""

    def handle(signum, frame):
        with contextlib.suppress(RunError):  # an unwritable store: the second Ctrl-C aborts
            store.request_stop(run_id)
        print("\nstopping after this batch; Ctrl-C again to abort", file=sys.stderr, flush=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, handle)


def _test_image(text: str) -> int:
    """A test picture's number for argparse: 0-9999, else a usage error."""
    from classifier.data import SPLIT_SIZES

    count = SPLIT_SIZES["test"]
    if not (text.isascii() and text.isdigit()) or int(text) >= count:
        raise argparse.ArgumentTypeError(f"must be a test picture number 0-{count - 1}")
    return int(text)


def _one_line(error: BaseException, limit: int = 300) -> str:
    if isinstance(error, OSError) and error.strerror:
        text = f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    else:
        text = str(error) or type(error).__name__
    line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _is_non_chief_worker() -> bool:
    """With TF_CONFIG, only the chief (or worker 0 when there is no chief) is in charge.
    A TF_CONFIG that is not what TensorFlow's guide describes is a ValueError naming it."""
    try:
        tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
        task = tf_config.get("task", {})
        if task.get("type") != "worker":
            return False
        has_chief = "chief" in tf_config.get("cluster", {})
        return has_chief or int(task.get("index", 0)) > 0
    except (ValueError, TypeError, AttributeError, RecursionError) as error:
        raise ValueError(
            "TF_CONFIG is not valid JSON of the form "
            '{"cluster": {"worker": [...]}, "task": {"type": "worker", "index": 0}}: '
            f"{type(error).__name__}"
        ) from None


if __name__ == "__main__":
    sys.exit(main())
