"""The run store and in-process training: real TensorFlow on slices of the real data.

A run must come out complete and loadable, Stop must keep a usable model, and a damaged or
hostile store must never break the run list or let a path escape the runs folder. Only the
tests that train (or use the trained fixture run) are marked slow.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from classifier.data import scale_images
from classifier.ml.models import build_model, preset_config
from classifier.ml.training import run_training
from classifier.store.files import save_model_atomically, sha256_file
from classifier.store.records import ModelLoadError, RunError
from classifier.store.runs import (
    BATCHES_FILE,
    COMPLETED,
    CONFIG_FILE,
    FAILED,
    INTERRUPTED,
    METRICS_FILE,
    MODEL_FILE,
    RUN_ID_PATTERN,
    RUNNING,
    STATUS_FILE,
    STOP_FILE,
    STOPPED,
    RunStore,
)

EPOCHS = 2
TRAIN_LIMIT = 3000
STEPS = 85  # ceil(floor(3000 * 0.9) / 32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One real run: the tutorial MLP, 2 epochs on 3,000 images with a 10% validation split."""
    store = RunStore(tmp_path_factory.mktemp("trained") / "runs")
    config = preset_config(
        "Tutorial MLP", epochs=EPOCHS, train_limit=TRAIN_LIMIT, validation_split=0.1
    )
    writer = store.create_run(config.to_dict(), name="Fixture run")
    result = run_training(writer)
    return store, writer.run_id, result


def copy_run(trained, store: RunStore, new_id: str) -> Path:
    """A copy of the trained run under another id, to damage without touching the original."""
    source_store, run_id, _ = trained
    store.root.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(source_store.run_dir(run_id), store.root / new_id))


def edit_status(run_path: Path, **changes) -> None:
    status = json.loads((run_path / STATUS_FILE).read_text())
    status.update(changes)
    for key in [key for key, value in changes.items() if value is None]:
        del status[key]
    (run_path / STATUS_FILE).write_text(json.dumps(status))


def temp_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if "tmp" in path.name)


# A complete run ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_finished_run_is_complete_lists_and_loads_back(trained, dataset):
    store, run_id, result = trained
    path = store.run_dir(run_id)
    for name in (CONFIG_FILE, STATUS_FILE, METRICS_FILE, BATCHES_FILE, MODEL_FILE):
        assert (path / name).is_file(), name
    assert temp_files(path) == []

    config = json.loads((path / CONFIG_FILE).read_text())
    assert (config["name"], config["epochs"], config["train_limit"]) == ("Fixture run", 2, 3000)

    metrics = store.read_metrics(run_id)
    assert [row["epoch"] for row in metrics] == [1, 2]
    for row in metrics:
        for key in ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds", "time"):
            assert isinstance(row[key], float), key
        assert 0 < row["accuracy"] <= 1 and row["epoch_seconds"] > 0
    assert metrics[1]["loss"] < metrics[0]["loss"]  # it learned something

    batches = store.read_batches(run_id)
    assert len(batches) == EPOCHS * STEPS
    assert batches[-1] == {**batches[-1], "epoch": 2, "batch": STEPS, "steps": STEPS}
    assert {"loss", "accuracy"} <= batches[0].keys()

    status = json.loads((path / STATUS_FILE).read_text())
    assert status["status"] == COMPLETED == result["status"]
    assert status["epochs_done"] == 2 and status["steps_per_epoch"] == STEPS
    assert status["train_images"] == 2700
    assert 0.6 < status["test_accuracy"] <= 1
    assert status["model_sha256"] == sha256_file(path / MODEL_FILE)

    (info,) = store.list_runs()
    assert (info.run_id, info.name, info.preset) == (run_id, "Fixture run", "Tutorial MLP")
    assert (info.status, info.epochs_done, info.epochs_planned) == (COMPLETED, 2, 2)
    assert info.usable and info.duration_s > 0
    assert store.usable_runs()[0].run_id == run_id
    assert store.active_runs() == []
    assert info.given_name == "Fixture run" and info.spoken_name == "run 'Fixture run'"

    # The saved model is the one that was evaluated: same accuracy on the test set.
    model = store.load_model(run_id)
    logits = model.predict(scale_images(dataset.test.images), batch_size=256, verbose=0)
    assert logits.shape == (10_000, 10)
    accuracy = float(np.mean(logits.argmax(axis=1) == dataset.test.labels))
    assert accuracy == pytest.approx(status["test_accuracy"], abs=1e-4)


@pytest.mark.slow
def test_metrics_csv_has_a_header_and_one_row_per_epoch(trained):
    store, run_id, _ = trained
    rows = list(csv.DictReader(io.StringIO(store.metrics_csv(run_id))))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    header = store.metrics_csv(run_id).splitlines()[0].split(",")
    assert header[:5] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert float(rows[1]["val_accuracy"]) == store.read_metrics(run_id)[1]["val_accuracy"]


@pytest.mark.slow
def test_stop_during_training_leaves_a_stopped_run_with_a_usable_model(runs_root):
    store = RunStore(runs_root)
    config = preset_config("Tutorial MLP", epochs=5, train_limit=TRAIN_LIMIT, validation_split=0.1)
    writer = store.create_run(config.to_dict(), name="to stop")
    batches_path = writer.path / BATCHES_FILE
    asked = threading.Event()

    def press_stop_when_batches_appear():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if batches_path.exists() and batches_path.stat().st_size > 0:
                store.request_stop(writer.run_id)
                asked.set()
                return
            time.sleep(0.005)

    presser = threading.Thread(target=press_stop_when_batches_appear, daemon=True)
    presser.start()
    result = run_training(writer)
    presser.join()
    assert asked.is_set()

    info = store.get(writer.run_id)
    assert result["status"] == info.status == STOPPED
    assert (writer.path / STOP_FILE).exists()
    batches = store.read_batches(writer.run_id)
    assert 1 <= len(batches) < 5 * STEPS  # it did not train to the end
    assert info.epochs_done < 5 and len(store.read_metrics(writer.run_id)) == info.epochs_done
    assert info.usable and info.test_accuracy is not None
    assert info.model_sha256 == sha256_file(writer.path / MODEL_FILE)
    assert store.load_model(writer.run_id).output_shape == (None, 10)
    assert not store.active_runs()


# A damaged store ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_damaged_store_still_lists_every_run_with_a_sensible_status(trained, runs_root):
    store = RunStore(runs_root)
    truncated = copy_run(trained, store, "truncated-metrics")
    with open(truncated / METRICS_FILE, "a") as handle:
        handle.write('{"epoch": 3, "loss": 0.4')  # killed in the middle of a line
    no_model = copy_run(trained, store, "no-model")
    (no_model / MODEL_FILE).unlink()
    bad_status = copy_run(trained, store, "bad-status")
    (bad_status / STATUS_FILE).write_text('{"status": "compl')
    killed = copy_run(trained, store, "killed")
    edit_status(killed, status=RUNNING, test_accuracy=None, finished_at=None)
    (runs_root / "notes.txt").write_text("not a run")
    (runs_root / "my.backup").mkdir()  # not a valid run id
    (runs_root / "images").mkdir()  # a valid name, but not a run
    (runs_root / "images" / "x.png").write_bytes(b"\x89PNG")
    (runs_root / "elsewhere").symlink_to(truncated, target_is_directory=True)

    runs = {info.run_id: info for info in store.list_runs()}
    assert set(runs) == {"truncated-metrics", "no-model", "bad-status", "killed"}

    info = runs["truncated-metrics"]
    assert (info.status, info.epochs_done, info.usable) == (COMPLETED, 2, True)
    assert [row["epoch"] for row in store.read_metrics("truncated-metrics")] == [1, 2]
    assert store.metrics_csv("truncated-metrics").count("\n") == 3
    assert store.load_model("truncated-metrics") is not None

    info = runs["no-model"]
    assert (info.status, info.has_model, info.usable) == (COMPLETED, False, False)
    with pytest.raises(ModelLoadError, match="no saved model"):
        store.load_model("no-model")

    info = runs["bad-status"]
    assert (info.status, info.name, info.epochs_done) == (FAILED, "Fixture run", 2)
    assert "status file" in info.error and not info.usable

    info = runs["killed"]
    assert (info.status, info.epochs_done, info.test_accuracy) == (INTERRUPTED, 2, None)
    assert "ended without finishing" in info.error
    assert not store.active_runs()
    assert [run.run_id for run in store.usable_runs()] == ["truncated-metrics"]


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["random bytes", "one byte flipped"])
def test_a_changed_model_file_is_refused_by_its_checksum(trained, runs_root, damage):
    store = RunStore(runs_root)
    path = copy_run(trained, store, "damaged") / MODEL_FILE
    data = bytearray(path.read_bytes())
    if damage == "random bytes":
        data = bytearray(np.random.default_rng(1).bytes(len(data)))
    else:
        data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert store.get("damaged").has_model  # still listed; refused only when loaded
    with pytest.raises(ModelLoadError, match="checksum"):
        store.load_model("damaged")


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["random bytes", "truncated"])
def test_a_damaged_model_without_a_checksum_gives_a_clear_error(trained, runs_root, damage):
    store = RunStore(runs_root)
    run_path = copy_run(trained, store, "old-run")
    edit_status(run_path, model_sha256=None)
    model_path = run_path / MODEL_FILE
    data = model_path.read_bytes()
    model_path.write_bytes(os.urandom(4096) if damage == "random bytes" else data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        store.load_model("old-run")


@pytest.mark.slow
def test_an_interrupted_run_loses_the_temporary_files_of_its_dead_writer(trained, runs_root):
    store = RunStore(runs_root)
    run_path = copy_run(trained, store, "died-saving")
    edit_status(run_path, status=RUNNING)
    digest = sha256_file(run_path / MODEL_FILE)
    (run_path / ".model.tmp-4242-1234.keras").write_bytes(b"PK\x03\x04 half a zip")
    (run_path / ".status.json.abc123.tmp").write_text('{"status": "comp')
    assert store.get("died-saving").status == INTERRUPTED
    assert temp_files(run_path) == []
    assert sha256_file(run_path / MODEL_FILE) == digest
    assert store.load_model("died-saving") is not None


def test_the_batch_reader_waits_for_a_half_written_last_line(runs_root):
    store = RunStore(runs_root)
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1})
    path = writer.path / BATCHES_FILE
    path.write_text('{"epoch": 1, "batch": 1}\n{"epoch": 1, "ba')
    assert [row["batch"] for row in store.read_batches(writer.run_id)] == [1]
    with open(path, "a") as handle:
        handle.write('tch": 2}\nnot json\n{"epoch": 1, "batch": 3}\n')
    assert [row["batch"] for row in store.read_batches(writer.run_id)] == [1, 2, 3]
    path.write_text('{"epoch": 1, "batch": 9}\n')  # rewritten shorter: read again
    assert [row["batch"] for row in store.read_batches(writer.run_id)] == [9]
    writer.release()


# Hostile names and ids ----------------------------------------------------------------------

HOSTILE_NAMES = [
    "../x",
    "a/b",
    "",
    "n" * 300,
    "<img src=x onerror=alert(1)>",
    "..",
    "/etc/passwd",
    "C:\\Windows",
    "name\nwith newline",
    "\u00e9t\u00e9 \U0001f600",
    "-",
    ".",
]


def test_hostile_run_names_stay_inside_the_store(runs_root):
    store = RunStore(runs_root)
    root = runs_root.resolve()
    writers = [store.create_run({"preset": "Tutorial MLP"}, name=name) for name in HOSTILE_NAMES]
    for name, writer in zip(HOSTILE_NAMES, writers, strict=True):
        assert writer.path.resolve().parent == root, name
        assert RUN_ID_PATTERN.fullmatch(writer.run_id), name
        assert store.run_dir(writer.run_id) == writer.path.resolve()
        # The name is kept as typed, for display only (the pages escape it).
        assert store.get(writer.run_id).name == (name or writer.run_id)
        writer.release()
    assert len(store.list_runs()) == len(HOSTILE_NAMES)
    assert sorted(os.listdir(runs_root)) == sorted(writer.run_id for writer in writers)
    assert not (runs_root.parent / "x").exists()
    assert "img" in writers[4].run_id and "<" not in writers[4].run_id
    assert len(writers[3].run_id) <= 64


@pytest.mark.parametrize(
    "run_id", ["../x", "/etc", "..", ".", "", "a/b", "x\n", "x" * 65, "a b", "~root", None, 42]
)
def test_run_ids_that_could_leave_the_store_are_refused(runs_root, run_id):
    store = RunStore(runs_root)
    with pytest.raises(RunError):
        store.run_dir(run_id)
    for action in (
        store.get,
        store.delete,
        store.request_stop,
        store.load_model,
        store.read_metrics,
    ):
        with pytest.raises(RunError):
            action(run_id)
    assert os.listdir(runs_root) == []


# Saving and deleting ------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["model.save", "os.replace"])
def test_a_full_disk_keeps_the_previous_model(runs_root, monkeypatch, failing):
    store = RunStore(runs_root)
    writer = store.create_run({"preset": "Tutorial MLP"})
    path = writer.path / MODEL_FILE
    model = build_model(preset_config("Tutorial MLP"), steps_per_epoch=10)
    digest = save_model_atomically(model, path)
    assert digest == sha256_file(path)
    model.layers[-1].kernel.assign(np.zeros((128, 10), dtype=np.float32))  # a newer state

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if failing == "model.save":
        real_save = model.save

        def save_then_fill_the_disk(target, *args, **kwargs):
            real_save(target, *args, **kwargs)
            Path(target).write_bytes(Path(target).read_bytes()[:1000])  # cut off mid-write
            no_space()

        monkeypatch.setattr(model, "save", save_then_fill_the_disk)
    else:
        monkeypatch.setattr(os, "replace", no_space)

    with pytest.raises(RunError, match="disk space"):
        save_model_atomically(model, path)
    monkeypatch.undo()
    assert sha256_file(path) == digest
    assert sorted(os.listdir(writer.path)) == [".lock", CONFIG_FILE, MODEL_FILE, STATUS_FILE]
    writer.release()


def test_delete_refuses_a_live_run_and_removes_a_finished_one(runs_root):
    store = RunStore(runs_root)
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 3}, name="live")
    assert store.get(writer.run_id).status == RUNNING
    assert [info.run_id for info in store.active_runs()] == [writer.run_id]
    with pytest.raises(RunError, match="still training"):
        store.delete(writer.run_id)
    assert writer.path.is_dir()

    writer.release()  # the process died: the run is interrupted, and may go
    assert store.get(writer.run_id).status == INTERRUPTED
    store.delete(writer.run_id)
    assert not writer.path.exists() and store.list_runs() == []
    with pytest.raises(RunError, match="No run named"):
        store.delete(writer.run_id)


def test_the_batch_cache_remembers_few_runs_and_forgets_deleted_ones(runs_root):
    """The server-wide batch cache kept every row of every run ever shown, even deleted."""
    from classifier.store import runs as runs_module

    store = RunStore(runs_root)
    run_ids = []
    for number in range(5):
        writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, f"long {number}")
        lines = [{"epoch": 1, "batch": b + 1, "steps": 1000, "loss": 1.0} for b in range(1000)]
        (writer.path / BATCHES_FILE).write_text("".join(json.dumps(x) + "\n" for x in lines))
        writer.release()
        run_ids.append(writer.run_id)
    for run_id in run_ids:  # shown one after the other
        assert len(store.read_batches(run_id)) == 1000
    assert runs_module._BATCH_READER.remembered_rows() <= 2 * 1000
    store.delete(run_ids[-1])
    assert runs_module._BATCH_READER.remembered_rows() <= 1000
