"""Every file a worker or the app writes or reads in a run or job folder keeps the store's
rules: no write follows a link, no read follows a link or hangs on a FIFO, and sizes are
checked against what the run says."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from classifier.jobs import label_check
from classifier.store import history
from classifier.store.runs import METRICS_FILE, RunStore


@pytest.fixture
def outside(tmp_path):
    """A file outside the store that a planted link points at: it must never change."""
    target = tmp_path / "secret.txt"
    target.write_text("keep me")
    return target


def test_the_live_sample_is_never_written_through_a_planted_link(tmp_path, outside):
    run = tmp_path / "run"
    run.mkdir()
    # The old writer used this predictable temporary name.
    (run / f".{history.LIVE_FILE}.{os.getpid()}.tmp").symlink_to(outside)
    history.write_live(run / history.LIVE_FILE, 1, 2, [0, 1], np.full((2, 10), 0.1))
    assert outside.read_text() == "keep me"
    assert history.read_live(run / history.LIVE_FILE)["batch"] == 2


def test_a_run_log_is_never_appended_through_a_link(tmp_path, outside):
    writer = RunStore(tmp_path / "runs").create_run({"preset": "Tutorial MLP"}, "x")
    (writer.path / METRICS_FILE).symlink_to(outside)
    with pytest.raises(OSError):
        writer.open_log(METRICS_FILE)
    assert outside.read_text() == "keep me"
    writer.release()


def test_the_live_sample_reader_neither_hangs_on_a_fifo_nor_reads_dev_zero(tmp_path):
    os.mkfifo(tmp_path / history.LIVE_FILE)
    result = []
    reader = threading.Thread(
        target=lambda: result.append(history.read_live(tmp_path / history.LIVE_FILE))
    )
    reader.start()
    reader.join(5)
    assert not reader.is_alive() and result == [None]
    other = tmp_path / "other"
    other.mkdir()
    (other / history.LIVE_FILE).symlink_to("/dev/zero")
    assert history.read_live(other / history.LIVE_FILE) is None


def test_a_history_longer_than_the_run_is_read_only_as_far_as_the_run_went(tmp_path):
    path = tmp_path / history.HISTORY_FILE
    for _ in range(5):
        history.append_epoch(path, np.full((history.TEST_COUNT, 10), 0.1))
    assert len(history.read_history(path)) == 5
    assert len(history.read_history(path, max_epochs=2)) == 2
    assert len(history.read_history(path, max_epochs=0)) == 0


def test_a_history_keeps_probabilities_between_0_and_1(tmp_path):
    path = tmp_path / history.HISTORY_FILE
    record = np.full((history.TEST_COUNT, 10), 0.1)
    record[0, :3] = [np.nan, np.inf, 70000.0]
    history.append_epoch(path, record)
    values = history.read_history(path)[0, 0].astype(float)
    assert np.isfinite(values).all() and values.max() <= 1 and values.min() >= 0


def test_the_label_checks_stop_never_follows_a_link(tmp_path, outside):
    job = label_check.CrossValidation("Tutorial MLP", folds=2, epochs=1, limit=100)
    folder = label_check.job_dir(tmp_path, job)
    folder.mkdir(parents=True)
    (folder / label_check.STOP_FILE).symlink_to(outside)
    label_check.request_stop(tmp_path, job)
    assert outside.read_text() == "keep me"
    assert (folder / label_check.STOP_FILE).is_file()
    assert not (folder / label_check.STOP_FILE).is_symlink()


@pytest.mark.parametrize(
    "status",
    [
        {"status": "running", "fraction": 10**400, "fold": 10**400},
        {"status": "failed", "fraction": "half", "error": ["not", "text"], "seconds": -1e400},
        {"status": "stopped", "fraction": float("nan"), "fold": True},
    ],
)
def test_an_odd_label_check_status_reads_as_a_plain_state(tmp_path, status):
    import json

    job = label_check.CrossValidation("Tutorial MLP", folds=2, epochs=1, limit=100)
    folder = label_check.job_dir(tmp_path, job)
    folder.mkdir(parents=True)
    (folder / label_check.STATUS_FILE).write_text(json.dumps(status))
    state = label_check.job_state(tmp_path, job)
    assert 0.0 <= state.fraction <= 1.0 and 0 <= state.fold <= 2
    assert isinstance(state.text, str)


def test_the_label_check_trains_fewer_epochs_on_more_pictures():
    """Each fold's model sees about as many pictures in all as the preset's epochs on 9,000
    (where the check was tuned): the same 14 epochs on 12,000 pictures, 3 on 60,000."""
    small_cnn = label_check.CrossValidation("Small CNN", folds=4, limit=12_000)
    assert small_cnn.train_config().epochs == 14
    assert label_check.CrossValidation("Small CNN", folds=4).train_config().epochs == 3
    assert label_check.CrossValidation("Small CNN", epochs=9).train_config().epochs == 9
    assert label_check.check_epochs(14, 100) == 14  # never more than the preset's
    assert label_check.check_epochs(14, 10**9) == 1  # never fewer than one
    # The job's folder names its epochs: a 14-epoch answer is not taken for a 3-epoch one.
    assert "-e3-" in label_check.CrossValidation("Small CNN", folds=4).key


def test_the_label_check_says_how_long_it_takes_before_and_while_it_runs(tmp_path):
    import json

    job = label_check.CrossValidation("Small CNN", folds=4)
    # 4 models x 3 epochs x 45,000 pictures at the measured pace: at most 3 minutes.
    assert 60 < label_check.estimate_seconds(job) <= 180
    sentence = label_check.estimate_sentence(job)
    assert "4 Small CNN models, each on 45,000 of the 60,000 training pictures" in sentence
    assert "for 3 epochs: about 2 min on a quiet machine" in sentence
    folder = label_check.job_dir(tmp_path, job)
    folder.mkdir(parents=True)
    status = {"status": "running", "fraction": 0.5, "fold": 2, "seconds_left": 185.0}
    (folder / label_check.STATUS_FILE).write_text(json.dumps(status))
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT)
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)  # a live worker holds it
    try:
        assert label_check.job_state(tmp_path, job).text.endswith("50% done, about 3 min left")
    finally:
        os.close(fd)


def test_a_disk_full_mid_training_keeps_the_last_epochs_model_usable(tmp_path):
    import errno

    from classifier.store.files import sha256_file
    from classifier.store.records import RunError
    from classifier.store.runs import MODEL_FILE, STOPPED

    store = RunStore(tmp_path)
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 3}, "full disk")
    (writer.path / MODEL_FILE).write_bytes(b"the model after epoch 1")
    writer.write_status(status="running", model_sha256=sha256_file(writer.path / MODEL_FILE))
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as cause:
            raise RunError("Not enough disk space to save the model") from cause
    except RunError as error:
        writer.record_failure(error)
    writer.release()
    info = store.get(writer.run_id)
    assert info.status == STOPPED and info.usable  # can be verified and continued
    assert "continue it" in info.error
    # Any other failure still reads as failed.
    other = store.create_run({"preset": "Tutorial MLP", "epochs": 3}, "broken")
    other.record_failure(ValueError("something else"))
    other.release()
    assert store.get(other.run_id).status == "failed"
