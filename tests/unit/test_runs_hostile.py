"""The run store under odd input: files written by another version or by a hostile user of a
shared runs folder, and any run name. (Links out of the store, an unwritable or full disk,
huge error messages and models that safe mode refuses: tests/unit/test_runs_disk.py.)

Readers never raise on what they find in a run folder, and what they return is typed and in
range (see the docstring of classifier/store/runs.py). Property-based tests (hypothesis) write any
JSON value into any field, and any bytes into the JSON-lines logs.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier.store.files import LOCK_FILE
from classifier.store.records import (
    MAX_EPOCHS,
    MAX_ERROR_CHARS,
    MAX_NAME_CHARS,
    MAX_STEPS,
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
)
from classifier.store.runs import (
    BATCHES_FILE,
    COMPLETED,
    CONFIG_FILE,
    FAILED,
    METRICS_FILE,
    MODEL_FILE,
    RUN_ID_PATTERN,
    STATUS_FILE,
    STATUSES,
    RunInfo,
    RunStore,
)
from tests.support.runs import odd_run

QUICK = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NOW = 1_796_400_000.0  # a fixed "now" (2000-2100): test ids must match in every xdist worker


# --- What every reader must return -----------------------------------------------------------


def is_finite_float(value) -> bool:
    return type(value) is float and math.isfinite(value)


def is_text(value) -> bool:
    """A str that can be printed and encoded (no lone surrogates)."""
    if type(value) is not str:
        return False
    value.encode("utf-8")
    return True


def check_info(info: RunInfo) -> None:
    assert isinstance(info, RunInfo)
    assert is_text(info.run_id) and RUN_ID_PATTERN.fullmatch(info.run_id)
    assert is_text(info.name) and info.name and len(info.name) <= MAX_NAME_CHARS
    assert is_text(info.preset) and len(info.preset) <= MAX_NAME_CHARS
    assert info.status in STATUSES
    for number in (info.epochs_done, info.epochs_planned):
        assert type(number) is int and 0 <= number <= MAX_EPOCHS
    if info.test_accuracy is not None:
        assert is_finite_float(info.test_accuracy) and 0.0 <= info.test_accuracy <= 1.0
    if info.test_loss is not None:
        assert is_finite_float(info.test_loss)
    for stamp in (info.started_at, info.finished_at):
        assert stamp is None or (is_finite_float(stamp) and MIN_TIMESTAMP <= stamp <= MAX_TIMESTAMP)
    if info.duration_s is not None:
        assert is_finite_float(info.duration_s) and info.duration_s >= 0
    assert info.model_sha256 is None or re.fullmatch(r"[0-9a-f]{64}", info.model_sha256)
    assert type(info.has_model) is bool and type(info.usable) is bool
    assert info.error is None or (is_text(info.error) and len(info.error) <= MAX_ERROR_CHARS)
    assert is_text(info.spoken_name)
    assert isinstance(info.config, dict) and isinstance(info.status_data, dict)
    # The status keys that the pages read are typed too (e.g. steps_per_epoch for progress).
    for key in ("epochs_done", "steps_per_epoch", "pid", "replicas", "train_images"):
        value = info.status_data.get(key)
        assert value is None or (type(value) is int and value >= 0), (key, value)


def check_rows(rows: list, int_keys: tuple[str, ...], optional_int_keys=()) -> None:
    assert type(rows) is list
    for row in rows:
        assert type(row) is dict
        for key in int_keys:
            assert type(row[key]) is int and 1 <= row[key], (key, row)
        assert row["epoch"] <= MAX_EPOCHS
        for key in optional_int_keys:
            if key in row:
                assert type(row[key]) is int and 1 <= row[key] <= MAX_STEPS, (key, row)
        for key, value in row.items():
            assert is_text(key)
            if key not in int_keys + optional_int_keys:
                assert value is None or is_finite_float(value), (key, value)


def check_store(store: RunStore, run_id: str) -> None:
    """Every reader of the store, on a store holding one odd run."""
    listed = store.list_runs()
    for info in listed:
        check_info(info)
    for info in store.usable_runs() + store.active_runs():
        check_info(info)
    info = store.get(run_id)
    check_info(info)
    assert [each.run_id for each in listed] == [run_id]
    check_rows(store.read_metrics(run_id), ("epoch",))
    check_rows(store.read_batches(run_id), ("epoch", "batch"), ("steps",))
    text = store.metrics_csv(run_id)
    assert is_text(text)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows and all(len(row) == len(rows[0]) for row in rows)
    assert not any(cell.startswith(("=", "+", "@")) for cell in rows[0])  # no formula header


# --- Strategies ------------------------------------------------------------------------------

ODD_NUMBERS = st.sampled_from(
    [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 10**400, -(10**30), 2**63]
)
PLAUSIBLE = st.sampled_from(
    [NOW, NOW - 60, 0, 1, 2, 3.0, 0.5, 0.9, "completed", "running", "stopped", "x" * 400]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included
    | st.text(max_size=30)
    | ODD_NUMBERS
    | PLAUSIBLE
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
CONFIG_KEYS = ["name", "preset", "epochs", "batch_size", "train_limit"]
STATUS_KEYS = [
    "status",
    "started_at",
    "finished_at",
    "updated_at",
    "test_accuracy",
    "test_loss",
    "model_sha256",
    "error",
    "epochs_done",
    "epochs_planned",
    "steps_per_epoch",
    "pid",
]
METRIC_KEYS = ["epoch", "batch", "steps", "loss", "accuracy", "val_accuracy", "time", "=cmd"]

# Raw text json.dumps would never write, but json.loads reads (or refuses).
RAW_JSON = st.sampled_from(
    [
        '{"epochs": 1e400}',
        '{"epochs": -1e400, "name": 1e400}',
        '{"started_at": 1e400, "finished_at": -1e400, "status": "completed"}',
        '{"started_at": NaN, "test_accuracy": Infinity, "status": "running"}',
        '{"epoch": Infinity, "loss": NaN}',
        '{"epoch": 1e400}',
        '{"epoch": ' + "9" * 5000 + "}",  # more digits than Python converts
        '{"name": "\\ud800", "error": "\\udcff\\udcfe"}',  # lone surrogates
        "[" * 100_000 + "]" * 100_000,  # deeper than the parser's recursion limit
        '{"status": "compl',
        "",
        "\x00\xff",
    ]
)


def file_text(keys: list[str]):
    """A config or status file: a dict of the known keys (and others), any JSON value, or
    raw text."""
    fields = st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), JSON_VALUES)
    return (
        fields.map(json.dumps)  # json.dumps writes NaN and Infinity as such
        | JSON_VALUES.map(json.dumps)
        | RAW_JSON
        | st.text(max_size=40)
    )


LINES = (
    st.dictionaries(st.sampled_from(METRIC_KEYS), JSON_VALUES).map(json.dumps)
    | st.fixed_dictionaries(
        {"epoch": st.integers(-2, 4), "batch": st.integers(-1, 3), "steps": st.integers(-1, 3)},
        optional={"loss": JSON_VALUES, "accuracy": JSON_VALUES},
    ).map(json.dumps)
    | RAW_JSON
    | st.text(max_size=20)
)


def log_bytes(lines: list[str], cut: int) -> bytes:
    """Lines as a writer would append them, the last `cut` bytes lost (a killed writer)."""
    data = "".join(line + "\n" for line in lines).encode("utf-8", "surrogatepass")
    return data[: len(data) - cut]


LOG_BYTES = st.binary(max_size=200) | st.builds(
    log_bytes, st.lists(LINES, max_size=6), st.integers(0, 40)
)


def raw_object(**fields) -> str:
    """A JSON object written by hand: each value is raw JSON text (NaN, 1e400...)."""
    return "{" + ", ".join(f'"{key}": {value}' for key, value in fields.items()) + "}"


# --- 1 and 2: readers never raise, and return typed values -----------------------------------


@QUICK
@given(config=file_text(CONFIG_KEYS), status=file_text(STATUS_KEYS))
def test_any_config_and_status_read_as_typed_values(tmp_path_factory, config, status):
    root = tmp_path_factory.mktemp("odd")
    run_id = odd_run(root, config, status)
    check_store(RunStore(root), run_id)


@QUICK
@given(metrics=LOG_BYTES, batches=LOG_BYTES)
def test_any_bytes_in_the_logs_read_as_typed_rows(tmp_path_factory, metrics, batches):
    root = tmp_path_factory.mktemp("odd")
    status = json.dumps({"status": COMPLETED, "started_at": NOW - 60, "finished_at": NOW})
    run_id = odd_run(root, '{"name": "logs", "epochs": 3}', status, metrics, batches)
    check_store(RunStore(root), run_id)


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("started_at", "1e20", None),
        ("started_at", "NaN", None),
        ("started_at", "Infinity", None),
        ("started_at", "-Infinity", None),
        ("started_at", '"yesterday"', None),
        ("started_at", "[1, 2]", None),
        ("started_at", "1e400", None),
        ("started_at", str(NOW), NOW),
        ("finished_at", "NaN", None),
        ("test_accuracy", "1.5", None),
        ("test_accuracy", "NaN", None),
        ("test_accuracy", "-0.1", None),
        ("test_accuracy", "true", None),
        ("test_accuracy", "0.875", 0.875),
        ("test_loss", "Infinity", None),
        ("test_loss", "0.25", 0.25),
    ],
)
def test_odd_numbers_in_the_status_file_become_none(runs_root, field, raw, expected):
    text = raw_object(**{"status": '"completed"', "finished_at": NOW, field: raw})
    run_id = odd_run(runs_root, '{"name": "odd"}', text)
    info = RunStore(runs_root).get(run_id)
    check_info(info)
    assert getattr(info, field) == expected
    assert [each.run_id for each in RunStore(runs_root).list_runs()] == [run_id]


@pytest.mark.parametrize(
    "raw", ["Infinity", "-Infinity", "NaN", "1e400", "1e20", '"abc"', '{"a": 1}', "[3]", "-3"]
)
def test_odd_epochs_in_the_config_file_become_zero(runs_root, raw):
    run_id = odd_run(runs_root, raw_object(name='"odd"', epochs=raw), '{"status": "failed"}')
    info = RunStore(runs_root).get(run_id)
    check_info(info)
    assert info.epochs_planned == 0


def test_sane_values_are_kept(runs_root):
    config = {"name": "sane", "preset": "Small CNN", "epochs": 12}
    status = {
        "status": COMPLETED,
        "started_at": NOW - 100,
        "finished_at": NOW,
        "test_accuracy": 0.9,
        "model_sha256": "ab" * 32,
        "steps_per_epoch": 85,
        "error": "fine",
    }
    metrics = raw_object(epoch=1, loss=0.5, time=NOW) + '\n{"epoch": 2.0, "loss": 0.4}\n'
    run_id = odd_run(runs_root, json.dumps(config), json.dumps(status), metrics)
    store = RunStore(runs_root)
    info = store.get(run_id)
    assert (info.name, info.preset, info.status, info.epochs_planned) == (
        "sane",
        "Small CNN",
        COMPLETED,
        12,
    )
    assert (info.epochs_done, info.test_accuracy, info.duration_s) == (2, 0.9, 100.0)
    assert (info.model_sha256, info.error, info.status_data["steps_per_epoch"]) == (
        "ab" * 32,
        "fine",
        85,
    )
    assert store.read_metrics(run_id) == [
        {"epoch": 1, "loss": 0.5, "time": NOW},
        {"epoch": 2, "loss": 0.4},
    ]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("paused", "unknown status"),  # written by a newer version
        (["completed"], "unknown status"),
        (None, "no status"),
        (7, "unknown status"),
    ],
)
def test_an_unknown_status_reads_as_failed_and_says_so(runs_root, status, error):
    text = json.dumps({"status": status, "test_accuracy": 0.9} if status else {"pid": 3})
    run_id = odd_run(runs_root, '{"name": "odd"}', text)
    (runs_root / run_id / MODEL_FILE).write_bytes(b"PK")
    info = RunStore(runs_root).get(run_id)
    check_info(info)
    assert info.status == FAILED and not info.usable
    assert error in info.error


def test_epoch_infinity_in_the_metrics_is_a_damaged_line(runs_root):
    metrics = (
        '{"epoch": 1, "loss": 0.5}\n{"epoch": Infinity, "loss": 0.4}\n{"epoch": 1e400}\n'
        '{"epoch": "2"}\n{"epoch": true}\n{"loss": 0.3}\n{"epoch": 2, "loss": NaN, "x": "a"}\n'
        '{"epoch": 0}\n{"epoch": -1}\n{"epoch": 2.5}\n' + raw_object(epoch=MAX_EPOCHS + 1) + "\n"
    )
    run_id = odd_run(runs_root, '{"name": "m"}', '{"status": "completed"}', metrics)
    store = RunStore(runs_root)
    assert store.read_metrics(run_id) == [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": None}]
    assert store.get(run_id).epochs_done == 2
    assert store.metrics_csv(run_id).splitlines() == ["epoch,loss", "1,0.5", "2,"]


def test_batch_lines_without_epoch_or_batch_or_with_odd_values_are_dropped(runs_root):
    batches = (
        '{"epoch": 1, "batch": 1, "steps": 3, "loss": 2.0}\n'
        '{"batch": 2, "steps": 3}\n{"epoch": 1, "steps": 3}\n'
        '{"epoch": 1, "batch": "2", "steps": 3}\n{"epoch": 1, "batch": NaN}\n'
        '{"epoch": 1, "batch": 2, "steps": Infinity, "loss": "low", "accuracy": -Infinity}\n'
        '{"epoch": 1, "batch": 3, "steps": 0}\n'
    )
    run_id = odd_run(runs_root, '{"name": "b"}', '{"status": "running"}', batches=batches)
    assert RunStore(runs_root).read_batches(run_id) == [
        {"epoch": 1, "batch": 1, "steps": 3, "loss": 2.0},
        # A damaged steps is left out, text is no metric, -Infinity is a missing value.
        {"epoch": 1, "batch": 2, "accuracy": None},
        {"epoch": 1, "batch": 3},
    ]


def test_long_errors_and_names_from_disk_are_cut(runs_root):
    status = json.dumps({"status": FAILED, "error": "e" * 10_000})
    run_id = odd_run(runs_root, json.dumps({"name": "n" * 5000}), status)
    info = RunStore(runs_root).get(run_id)
    check_info(info)
    assert info.error.startswith("eee") and len(info.error) <= MAX_ERROR_CHARS
    assert info.name.startswith("nnn") and len(info.name) <= MAX_NAME_CHARS


def test_a_fifo_in_place_of_a_file_does_not_block_a_reader(runs_root):
    run_id = odd_run(runs_root, '{"name": "fifo"}', None)
    for name in (STATUS_FILE, METRICS_FILE, BATCHES_FILE, LOCK_FILE):
        os.mkfifo(runs_root / run_id / name)
    store = RunStore(runs_root)
    info = store.get(run_id)  # would block for ever on open() without O_NONBLOCK
    check_info(info)
    assert info.status == FAILED and store.read_metrics(run_id) == []
    assert store.read_batches(run_id) == []
    store.delete(run_id)


# --- Run names -------------------------------------------------------------------------------


@QUICK
@given(name=st.text())
def test_any_unicode_name_makes_a_valid_run_and_round_trips(tmp_path_factory, name):
    store = RunStore(tmp_path_factory.mktemp("names"))
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, name=name)
    writer.release()
    assert RUN_ID_PATTERN.fullmatch(writer.run_id)
    assert writer.path.parent == store.root.resolve()
    info = store.get(writer.run_id)
    check_info(info)
    assert info.name == (name[:MAX_NAME_CHARS] or writer.run_id)


def test_a_name_with_lone_surrogates_is_stored_as_printable_text(runs_root):
    store = RunStore(runs_root)  # e.g. `--name` with bytes that are not UTF-8
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, name="caf\udce9")
    writer.release()
    info = store.get(writer.run_id)
    check_info(info)
    assert info.name.startswith("caf")
    assert json.loads((writer.path / CONFIG_FILE).read_text())["name"] == info.name
