"""Ready for a room full of people: training survives a full disk, and a damaged run store
reads run by run. (The pages on a damaged store and without the dataset:
tests/app/test_faults.py; a server killed mid-training: tests/browser/test_faults.py.)
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from classifier.ml.models import preset_config
from classifier.store.files import sha256_file
from classifier.store.records import ModelLoadError, RunError
from classifier.store.runs import COMPLETED, FAILED, MODEL_FILE, STATUS_FILE, STOPPED, RunStore
from tests.support.runs import BAD_STATUS, FLIPPED, GARBAGE, GOOD


def status_json(run_path: Path) -> dict:
    return json.loads((run_path / STATUS_FILE).read_text())


# --- A full disk -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_full_disk_during_training_fails_the_run_and_keeps_the_last_model(runs_root, monkeypatch):
    """End to end through run_training: the second epoch's save hits ENOSPC half-way."""
    import keras

    from classifier.ml.training import run_training

    store = RunStore(runs_root)
    config = preset_config("Tutorial MLP", epochs=3, train_limit=2000)
    writer = store.create_run(config.to_dict(), name="disk full")
    model_path = writer.path / MODEL_FILE
    real_save = keras.Model.save
    saves: list[str] = []
    kept: dict[str, bytes] = {}

    def save_until_the_disk_is_full(self, filepath, *args, **kwargs):
        saves.append(str(filepath))
        if len(saves) < 2:
            return real_save(self, filepath, *args, **kwargs)
        kept["model"] = model_path.read_bytes()  # the first epoch's model
        real_save(self, filepath, *args, **kwargs)
        Path(filepath).write_bytes(Path(filepath).read_bytes()[:1000])  # cut off mid-write
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", save_until_the_disk_is_full)
    with pytest.raises(RunError, match="disk space"):
        run_training(writer)
    monkeypatch.undo()

    assert len(saves) == 2 and all(Path(name).name != MODEL_FILE for name in saves)
    info = store.get(writer.run_id)
    # Stopped, not failed: the last epoch's model is whole, so the run can be verified and
    # continued once there is space (issue 19: it used to read "failed" and be unusable).
    assert info.status == STOPPED and "continue it" in info.error
    assert "Not enough disk space" in info.error
    assert model_path.read_bytes() == kept["model"]  # byte for byte
    assert status_json(writer.path)["epochs_done"] == 1
    assert info.model_sha256 == sha256_file(model_path)
    assert [name for name in os.listdir(writer.path) if "tmp" in name] == []
    assert info.usable and store.active_runs() == []
    assert store.load_model(writer.run_id).output_shape == (None, 10)


# --- A damaged store (tests/conftest.py, damaged_store) -------------------------------------


@pytest.mark.slow
def test_a_damaged_store_reads_run_by_run(damaged_store):
    store = damaged_store
    runs = {info.run_id: info for info in store.list_runs()}
    assert set(runs) == {GOOD, GARBAGE, BAD_STATUS, FLIPPED}

    assert (runs[GARBAGE].status, runs[GARBAGE].epochs_done) == (COMPLETED, 2)
    assert [row["epoch"] for row in store.read_metrics(GARBAGE)] == [1, 2]
    assert store.metrics_csv(GARBAGE).count("\n") == 3

    assert runs[BAD_STATUS].status == FAILED and "status file" in runs[BAD_STATUS].error
    assert runs[BAD_STATUS].name == "status not json" and not runs[BAD_STATUS].usable

    assert runs[FLIPPED].status == COMPLETED and runs[FLIPPED].usable  # refused on loading
    with pytest.raises(ModelLoadError, match="checksum"):
        store.load_model(FLIPPED)
    assert [info.run_id for info in store.usable_runs()][0] == FLIPPED
    assert store.load_model(GOOD).output_shape == (None, 10)
