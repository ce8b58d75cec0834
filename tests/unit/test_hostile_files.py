"""The hostile-input harness: every file the store knows, in odd-but-valid and malicious
variants, handed to every reader that shows it. Each must hold: no exception, a plain
result, and bounded time (a link to /dev/zero or a FIFO is never read, a huge file is
refused by its size before it is read).

Variants: a link (to /dev/zero, and to a file outside the store), a FIFO, a directory, a
sparse file of 3 GB, a truncated file, and Hypothesis-made JSON of the wrong types, NaN,
huge numbers (400 digits) and any Unicode.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier.jobs import embedding, label_check
from classifier.ml.features import TSNE_FILE, read_map
from classifier.store import history, reviews
from classifier.store.runs import (
    BATCHES_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    STATUS_FILE,
    RunStore,
)

SECONDS = 5.0  # a reader that takes longer is hanging on something it should refuse
RUN_ID = "20261205-080000-hostile"
JOB = label_check.CrossValidation("Tutorial MLP", folds=2, epochs=1, limit=100)

# Any JSON a file could hold: the wrong types, NaN and infinities, 400-digit numbers, deep
# nesting, and any Unicode (lone surrogates included, as json.dumps writes them).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


def store_with_run(root: Path) -> RunStore:
    """A store with one run folder: a plain completed run whose files the test replaces."""
    store = RunStore(root)
    folder = root / RUN_ID
    folder.mkdir(parents=True)
    (folder / CONFIG_FILE).write_text(json.dumps({"preset": "Tutorial MLP", "epochs": 2}))
    status = {"status": "completed", "epochs_done": 2, "epochs_planned": 2}
    (folder / STATUS_FILE).write_text(json.dumps(status))
    rows = [{"epoch": epoch, "loss": 0.5, "accuracy": 0.8} for epoch in (1, 2)]
    (folder / METRICS_FILE).write_text("".join(json.dumps(row) + "\n" for row in rows))
    return store


def run_readers(root: Path) -> dict[str, Callable[[], object]]:
    """Every reader of a run's and a job's files, as the pages and the command line call
    them."""
    store = RunStore(root)
    folder = root / RUN_ID
    return {
        "list_runs": store.list_runs,
        "get": lambda: store.get(RUN_ID),
        "read_metrics": lambda: store.read_metrics(RUN_ID),
        "read_batches": lambda: store.read_batches(RUN_ID),
        "metrics_csv": lambda: store.metrics_csv(RUN_ID),
        "read_history": lambda: history.read_history(
            folder / history.HISTORY_FILE, max_epochs=store.get(RUN_ID).epochs_done
        ),
        "read_live": lambda: history.read_live(folder / history.LIVE_FILE),
        "read_map": lambda: read_map(folder, 10_000),
        "map_state": lambda: embedding.map_state(folder, 10_000),
        "job_state": lambda: label_check.job_state(root, JOB).text,
        "read_result": lambda: label_check.read_result(root, JOB),
        "read_reviews": lambda: reviews.read_reviews(root),
        "reviews_csv": lambda: reviews.reviews_csv(reviews.read_reviews(root)),
    }


def files_of(root: Path) -> dict[str, Path]:
    """Every file the readers above read, by a short name."""
    folder, job = root / RUN_ID, label_check.job_dir(root, JOB)
    return {
        "config": folder / CONFIG_FILE,
        "status": folder / STATUS_FILE,
        "metrics": folder / METRICS_FILE,
        "batches": folder / BATCHES_FILE,
        "history": folder / history.HISTORY_FILE,
        "live": folder / history.LIVE_FILE,
        "map": folder / TSNE_FILE,
        "map_status": folder / embedding.STATUS_FILE,
        "job_status": job / label_check.STATUS_FILE,
        "job_result": job / label_check.RESULT_FILE,
        "reviews": reviews.explore_dir(root) / reviews.REVIEWS_FILE,
    }


def holds(root: Path) -> None:
    """Every reader returns within SECONDS without raising."""
    for name, reader in run_readers(root).items():
        outcome: list = []

        def call(reader=reader, outcome=outcome):
            try:
                outcome.append(("ok", reader()))
            except Exception as error:  # noqa: BLE001 - reported below, with the reader
                outcome.append(("error", error))

        thread = threading.Thread(target=call, daemon=True)
        started = time.monotonic()
        thread.start()
        thread.join(SECONDS)
        assert not thread.is_alive(), f"{name} hangs ({SECONDS} s)"
        assert outcome and outcome[0][0] == "ok", f"{name} raised {outcome[0][1]!r}"
        assert time.monotonic() - started < SECONDS


def plant(path: Path, variant: str, outside: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    elif path.exists() or path.is_symlink():
        path.unlink()
    if variant == "link to /dev/zero":
        path.symlink_to("/dev/zero")
    elif variant == "link outside":
        path.symlink_to(outside)
    elif variant == "fifo":
        os.mkfifo(path)
    elif variant == "directory":
        path.mkdir()
    elif variant == "sparse 3 GB":
        with open(path, "wb") as handle:
            handle.truncate(3 << 30)
    elif variant == "truncated":
        path.write_bytes(b'{"status": "comp')


VARIANTS = ["link to /dev/zero", "link outside", "fifo", "directory", "sparse 3 GB", "truncated"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_reader_holds_against_a_malicious_file(tmp_path, variant):
    root = tmp_path / "runs"
    store_with_run(root)
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps({"status": "completed", "epochs_done": 10**6}))
    for path in files_of(root).values():
        plant(path, variant, outside)
        holds(root)
    assert outside.read_text().startswith('{"status"')  # never written through a link


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=json_values, which=st.sampled_from(sorted(files_of(Path("/x")))))
def test_every_reader_holds_against_any_json(tmp_path_factory, value, which):
    root = tmp_path_factory.mktemp("runs")
    store_with_run(root)
    path = files_of(root)[which]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(value, allow_nan=True)
    # The log files hold one JSON value a line; the others one value.
    path.write_text(f"{text}\n{text}\n" if which in ("metrics", "batches") else text)
    holds(root)


def test_a_reviews_file_mixing_number_and_text_indexes_is_shown(tmp_path):
    root = tmp_path / "runs"
    store_with_run(root)
    mixed = {
        "test:1": {"split": "test", "index": 1, "given": 0, "decision": "right", "label": 0},
        "test:x": {"split": "test", "index": "x", "given": 0, "decision": "right", "label": 0},
        "train:2": {"split": "train", "index": 2.5, "given": 9, "decision": "wrong", "label": 3},
    }
    path = files_of(root)["reviews"]
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(mixed))
    holds(root)
    assert set(reviews.read_reviews(root)) == {"test:1"}  # the others are not what we write


def test_a_history_claiming_more_epochs_than_the_run_is_read_only_that_far(tmp_path):
    root = tmp_path / "runs"
    store = store_with_run(root)
    path = files_of(root)["history"]
    with open(path, "wb") as handle:  # "10,000 epochs": 2 GB of holes
        handle.truncate(history.record_bytes() * 10_000)
    started = time.monotonic()
    assert len(history.read_history(path, max_epochs=store.get(RUN_ID).epochs_done)) == 2
    assert time.monotonic() - started < 2.0


def test_numbers_of_400_digits_never_reach_a_float(tmp_path):
    root = tmp_path / "runs"
    store_with_run(root)
    status = {"status": "completed", "epochs_planned": 10**400, "test_accuracy": 10**400}
    files_of(root)["status"].write_text(json.dumps(status))
    info = RunStore(root).get(RUN_ID)
    assert info.epochs_planned == 2 and info.test_accuracy is None  # the config's epochs
    assert info.epochs_done == 2  # counted from its metrics, not taken from the status
