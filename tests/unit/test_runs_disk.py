"""The run store on a hostile disk: links out of the store (a stop file, a lock, an error
log), an unwritable, read-only or full runs folder, huge error messages, and models that
Keras' safe mode refuses. Odd values inside the files: tests/unit/test_runs_hostile.py.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest

from classifier.store import runs
from classifier.store.files import LOCK_FILE, sha256_file
from classifier.store.records import (
    MAX_ERROR_CHARS,
    ModelLoadError,
    RunError,
)
from classifier.store.runs import (
    COMPLETED,
    CONFIG_FILE,
    ERROR_LOG,
    FAILED,
    INTERRUPTED,
    MODEL_FILE,
    STATUS_FILE,
    STOP_FILE,
    RunStore,
)
from tests.support.runs import odd_run

# --- 3: a stop link out of the store ---------------------------------------------------------


@pytest.mark.parametrize("target_exists", [False, True])
def test_a_stop_link_out_of_the_store_is_not_followed(runs_root, tmp_path, target_exists):
    store = RunStore(runs_root)
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, name="linked stop")
    outside = tmp_path / "outside-target"
    if target_exists:
        outside.write_text("keep me")
    (writer.path / STOP_FILE).symlink_to(outside)
    assert not writer.stop_requested  # a link is not a request, dangling or not

    store.request_stop(writer.run_id)
    assert outside.exists() == target_exists
    if target_exists:
        assert outside.read_text() == "keep me"
    stop = writer.path / STOP_FILE
    assert stop.is_file() and not stop.is_symlink()
    assert writer.stop_requested
    store.request_stop(writer.run_id)  # twice is fine
    writer.release()


def test_a_stop_directory_is_refused_with_a_run_error(runs_root):
    store = RunStore(runs_root)
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, name="odd stop")
    (writer.path / STOP_FILE).mkdir()
    assert not writer.stop_requested
    with pytest.raises(RunError, match="stop"):
        store.request_stop(writer.run_id)
    writer.release()


def test_a_lock_link_out_of_the_store_does_not_keep_a_run_alive(runs_root, tmp_path):
    import fcntl

    outside = tmp_path / "someone-elses.lock"
    outside.write_text("")
    run_id = odd_run(runs_root, '{"name": "l"}', '{"status": "running"}')
    (runs_root / run_id / LOCK_FILE).symlink_to(outside)
    with open(outside) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert RunStore(runs_root).get(run_id).status == INTERRUPTED
        RunStore(runs_root).delete(run_id)
    assert outside.exists()


# --- 4: an unwritable or full runs folder ----------------------------------------------------


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def no_permission(*args, **kwargs):
    raise PermissionError(errno.EACCES, "Permission denied")


@pytest.mark.parametrize(
    ("failure", "message"),
    [(no_space, "the disk is full"), (no_permission, "permission denied")],
)
@pytest.mark.parametrize("which", ["config", "status"])
def test_a_run_that_cannot_be_written_leaves_nothing_behind(
    runs_root, monkeypatch, failure, message, which
):
    real = runs.atomic_write_json

    def fail_on(path, value):
        if path.name == (CONFIG_FILE if which == "config" else STATUS_FILE):
            failure()
        real(path, value)

    monkeypatch.setattr(runs, "atomic_write_json", fail_on)
    with pytest.raises(RunError) as caught:
        RunStore(runs_root).create_run({"preset": "Tutorial MLP", "epochs": 1}, name="x")
    text = str(caught.value)
    assert text.startswith(f"Cannot write to the runs folder {runs_root}: {message}.")
    assert "\n" not in text and len(text) < 300
    assert os.listdir(runs_root) == []


def test_a_read_only_runs_folder_gives_one_clear_error(runs_root, monkeypatch):
    os.chmod(runs_root, 0o500)
    try:
        if os.geteuid() == 0:  # root writes anyway: make the write fail as it would
            monkeypatch.setattr(runs, "atomic_write_json", no_permission)
        with pytest.raises(RunError, match="Cannot write to the runs folder .*permission denied"):
            RunStore(runs_root).create_run({"preset": "Tutorial MLP", "epochs": 1}, name="ro")
    finally:
        os.chmod(runs_root, 0o700)
    assert os.listdir(runs_root) == []


def test_a_runs_folder_that_cannot_be_created_gives_one_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(RunError, match="Cannot write to the runs folder"):
        RunStore(blocker / "runs").create_run({"preset": "Tutorial MLP"}, name="x")


def abandon(root: Path, run_id: str, age_s: float) -> Path:
    """A folder holding only an unlocked `.lock`, as an older version could leave."""
    path = root / run_id
    path.mkdir()
    (path / LOCK_FILE).write_text("")
    then = time.time() - age_s
    os.utime(path / LOCK_FILE, (then, then))
    os.utime(path, (then, then))
    return path


def test_a_folder_with_only_a_lock_can_be_deleted(runs_root):
    abandon(runs_root, "only-a-lock", 5)
    store = RunStore(runs_root)
    assert store.list_runs() == []  # not a run: not listed
    store.delete("only-a-lock")
    assert os.listdir(runs_root) == []


def test_abandoned_folders_are_removed_when_old_and_unlocked(runs_root):
    import fcntl

    old = abandon(runs_root, "old", 120)
    young = abandon(runs_root, "young", 5)
    held = abandon(runs_root, "held", 120)
    with_data = abandon(runs_root, "with-data", 120)
    (with_data / "notes.txt").write_text("keep")
    linked_lock = runs_root / "linked-lock"
    linked_lock.mkdir()
    (linked_lock / LOCK_FILE).symlink_to(old / LOCK_FILE)
    store = RunStore(runs_root)
    fd = os.open(held / LOCK_FILE, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert store.remove_abandoned() == ["old"]
        assert not old.exists() and young.exists() and held.exists() and with_data.exists()
        assert linked_lock.exists()
        os.utime(young, (time.time() - 120,) * 2)
        os.utime(young / LOCK_FILE, (time.time() - 120,) * 2)
        writer = store.create_run({"preset": "Tutorial MLP"}, name="new")  # cleans up too
        writer.release()
        assert sorted(os.listdir(runs_root)) == sorted(
            ["held", "linked-lock", "with-data", writer.run_id]
        )
    finally:
        os.close(fd)
    assert store.remove_abandoned() == ["held"]  # once its holder is gone


def test_delete_reports_a_folder_it_cannot_remove(runs_root, monkeypatch):
    run_id = odd_run(runs_root, '{"name": "d"}', '{"status": "failed"}')

    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(runs.shutil, "rmtree", refuse)
    with pytest.raises(RunError, match="Could not delete run"):
        RunStore(runs_root).delete(run_id)


# --- 5: bounded errors, the traceback in error.log -------------------------------------------


def test_record_failure_keeps_a_short_error_and_the_full_traceback(runs_root):
    store = RunStore(runs_root)
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, name="fails")
    message = "first line " + "x" * 10_000 + "\nsecond line"
    try:
        raise RuntimeError(message)
    except RuntimeError as error:
        summary = writer.record_failure(error)
    writer.release()
    info = store.get(writer.run_id)
    assert info.status == FAILED and info.finished_at is not None
    assert info.error == summary and len(summary) <= MAX_ERROR_CHARS
    assert summary.startswith("RuntimeError: first line xxx") and "\n" not in summary
    stored = json.loads((writer.path / STATUS_FILE).read_text())["error"]
    assert stored == summary
    log = (writer.path / ERROR_LOG).read_text()
    assert "Traceback" in log and message in log and "test_runs_disk.py" in log


def test_record_failure_does_not_follow_an_error_log_link(runs_root, tmp_path):
    store = RunStore(runs_root)
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, name="fails")
    outside = tmp_path / "outside.log"
    outside.write_text("mine")
    (writer.path / ERROR_LOG).symlink_to(outside)
    writer.record_failure(ValueError("bad"))
    writer.release()
    assert outside.read_text() == "mine"
    assert store.get(writer.run_id).error == "ValueError: bad"


def test_a_training_error_with_a_huge_message_is_stored_short(runs_root, monkeypatch, capsys):
    from classifier.ml import training
    from classifier.ml.models import preset_config

    message = "y" * 10_000

    def explode(config):
        raise RuntimeError(message)

    monkeypatch.setattr(training, "configure_devices", explode)
    store = RunStore(runs_root)
    config = preset_config("Tutorial MLP", epochs=1, train_limit=100)
    writer = store.create_run(config.to_dict(), name="huge error")
    with pytest.raises(RuntimeError):
        training.run_training(writer)
    info = store.get(writer.run_id)
    assert info.status == FAILED and len(info.error) <= MAX_ERROR_CHARS
    assert info.error.startswith("RuntimeError: yyy")
    assert len(json.loads((writer.path / STATUS_FILE).read_text())["error"]) <= MAX_ERROR_CHARS
    log = (writer.path / ERROR_LOG).read_text()
    assert message in log and "Traceback" in log
    assert "Traceback" not in capsys.readouterr().err  # the caller reports it, in one line
    assert not runs.is_locked(writer.path)  # released


# --- 6: a model that safe mode refuses -------------------------------------------------------


def test_a_model_refused_by_safe_mode_is_reported_as_such(runs_root):
    import keras

    store = RunStore(runs_root)
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, name="lambda inside")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(writer.path / MODEL_FILE)
    digest = sha256_file(writer.path / MODEL_FILE)
    writer.write_status(status=COMPLETED, model_sha256=digest, finished_at=time.time())
    writer.release()
    assert store.get(writer.run_id).usable
    with pytest.raises(ModelLoadError) as caught:
        store.load_model(writer.run_id)
    text = str(caught.value)
    assert "uses code that is not allowed to run (Keras safe mode refused it)" in text
    assert "lambda inside" in text and "damaged" not in text


def test_a_malformed_recorded_checksum_refuses_the_model(runs_root):
    run_id = odd_run(runs_root, '{"name": "m"}', '{"status": "completed", "model_sha256": [1]}')
    (runs_root / run_id / MODEL_FILE).write_bytes(b"PK\x03\x04")
    store = RunStore(runs_root)
    assert store.get(run_id).model_sha256 is None
    with pytest.raises(ModelLoadError, match="checksum"):
        store.load_model(run_id)
