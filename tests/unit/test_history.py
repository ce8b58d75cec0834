"""The recorded prediction history: its file format and what it says about each picture."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.store import history as hist

COUNT = 6  # a hand-made test set of six pictures


def probs_for(predicted: list[int], labels=None) -> np.ndarray:
    rows = np.full((len(predicted), 10), 0.01, dtype=np.float32)
    rows[np.arange(len(predicted)), predicted] = 0.91
    return rows


def test_epochs_append_and_read_back_and_a_torn_record_is_ignored(tmp_path):
    path = tmp_path / hist.HISTORY_FILE
    assert hist.read_history(path, COUNT).shape == (0, COUNT, 10)  # an old run: no history
    epochs = [probs_for([e % 10] * COUNT) for e in range(3)]
    for probabilities in epochs:
        hist.append_epoch(path, probabilities)
    history = hist.read_history(path, COUNT)
    assert history.shape == (3, COUNT, 10) and history.dtype == np.float16
    np.testing.assert_allclose(history[2], epochs[2], atol=1e-3)
    with open(path, "ab") as handle:  # a crash in the middle of the fourth epoch
        handle.write(b"\x00" * 37)
    assert hist.epoch_count(path, COUNT) == 3
    hist.append_epoch(path, epochs[0])  # the next epoch cuts the torn one off first
    assert hist.read_history(path, COUNT).shape == (4, COUNT, 10)
    np.testing.assert_allclose(hist.read_history(path, COUNT)[3], epochs[0], atol=1e-3)


def test_a_link_or_garbage_is_no_history(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_bytes(b"\x00" * hist.record_bytes(COUNT))
    link = tmp_path / hist.HISTORY_FILE
    link.symlink_to(target)
    assert hist.read_history(link, COUNT).shape[0] == 0


# Six pictures, labels all 0; right (R) or wrong (w) at each of four epochs:
#   0: R R R R  learned in 1      3: w w w R  learned in 4, late
#   1: w R R R  learned in 2      4: R w R w  forgotten (twice), wrong at the end
#   2: R w R R  learned in 3, forgotten once    5: w w w w  never learned
CORRECT = np.array(
    [
        [1, 0, 1, 0, 1, 0],
        [1, 1, 0, 0, 0, 0],
        [1, 1, 1, 0, 1, 0],
        [1, 1, 1, 1, 0, 0],
    ],
    dtype=bool,
)


def test_each_history_filter_keeps_the_right_pictures():
    assert hist.learned_epoch(CORRECT).tolist() == [1, 2, 3, 4, 0, 0]
    assert hist.first_right_epoch(CORRECT).tolist() == [1, 2, 1, 4, 1, 0]
    kept = {
        mode: np.flatnonzero(hist.history_mask(CORRECT, mode, epoch=3)).tolist()
        for mode in hist.HISTORY_FILTERS
    }
    assert kept == {
        "learned_in": [2],
        "learned_late": [3],
        "forgotten": [2, 4],
        "never_learned": [5],
    }
    assert np.flatnonzero(hist.history_mask(CORRECT, "learned_in", epoch=1)).tolist() == [0]
    with pytest.raises(ValueError, match="Unknown history filter"):
        hist.history_mask(CORRECT, "sometimes")


def test_correct_by_epoch_compares_the_prediction_with_the_label():
    history = np.stack([probs_for([0, 1, 2]), probs_for([0, 0, 2])])
    assert hist.correct_by_epoch(history, np.array([0, 0, 2])).tolist() == [
        [True, False, True],
        [True, True, True],
    ]


def test_the_live_file_round_trips_and_odd_files_are_none(tmp_path):
    path = tmp_path / hist.LIVE_FILE
    hist.write_live(path, 2, 17, [0, 1], probs_for([3, 4]))
    live = hist.read_live(path)
    assert (live["epoch"], live["batch"], live["indices"]) == (2, 17, [0, 1])
    assert live["probabilities"].shape == (2, 10)
    for odd in ("", "[]", '{"epoch": 1}', '{"epoch": 1, "batch": 1, "indices": [99999], '
                '"probabilities": [[0,0,0,0,0,0,0,0,0,1]]}', "NaN"):  # fmt: skip
        path.write_text(odd)
        assert hist.read_live(path) is None
    assert hist.read_live(tmp_path / "missing") is None


def test_live_sets_are_the_first_15_one_per_class_and_the_hardest(dataset):
    labels = dataset.test.labels
    sets = hist.live_indices(labels)
    assert sets["first"] == list(range(15)) and sets["hardest"] == []
    assert sorted(labels[sets["classes"]].tolist()) == list(range(10))
    last = np.full((1, len(labels), 10), 0.1, dtype=np.float16)
    last[0, 42, labels[42]] = 0.0  # picture 42's true class is the least likely
    assert hist.live_indices(labels, last)["hardest"][0] == 42
