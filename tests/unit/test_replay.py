"""Replay on the Verify page, its logic: the history filters, one picture's history, the
confusion matrix's changes, the replay state and links, on a hand-made history of six
pictures; and the cached helpers of ui/cache.py outside a server, on a real run
(tests/conftest.py, replay_run). (The page in AppTest: tests/app/test_replay.py.)
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from classifier.figures.mistakes import confusion_matrix_figure
from classifier.figures.style import RIGHT_COLOR, WRONG_COLOR
from classifier.figures.verify import picture_history_figure
from classifier.store.history import (
    HISTORY_FILE,
    history_mask,
    read_history,
)
from classifier.store.runs import RunStore
from classifier.views import verify as view
from classifier.views.verify import FilterSpec, Keys, Replay, VerifyView

# --- A hand-made history: 4 epochs, 6 pictures, true classes 0-5 ---------------------------

LABELS = np.array([0, 1, 2, 3, 4, 5])
# Right (R) or wrong (w) at epochs 1-4; a wrong answer predicts class 9.
PATTERNS = ["RRRR", "wwRR", "RwRR", "wwww", "RRRw", "wwwR"]
# 0 always right; 1 learned in 3; 2 forgotten, learned in 3; 3 never; 4 forgotten at the end;
# 5 learned in 4, in the last quarter: learned late.


def hand_history() -> np.ndarray:
    history = np.full((4, len(LABELS), 10), 0.01, dtype=np.float16)
    for picture, pattern in enumerate(PATTERNS):
        for epoch, mark in enumerate(pattern):
            history[epoch, picture, LABELS[picture] if mark == "R" else 9] = 0.5 + 0.1 * epoch
    history.setflags(write=False)
    return history


@pytest.fixture
def replay() -> Replay:
    return Replay(hand_history(), LABELS)


@pytest.mark.parametrize(
    ("mode", "epoch", "expected"),
    [
        ("learned_in", 3, [1, 2]),
        ("learned_in", 1, [0]),
        ("learned_in", 4, [5]),
        ("learned_in", 2, []),
        ("learned_late", 2, [5]),  # the epoch shown does not matter
        ("forgotten", 1, [2, 4]),
        ("never_learned", 3, [3]),
    ],
)
def test_history_filters_through_the_view(replay, mode, epoch, expected):
    probs = replay.probabilities(epoch)
    spec = FilterSpec(mode=mode)
    kept = view.filter_indices(probs, LABELS, spec, replay.correct, epoch)
    assert kept.tolist() == expected
    assert view.grid_order(probs, LABELS, spec, "index", replay, epoch).tolist() == expected
    # The view agrees with history.py's own masks.
    assert expected == np.flatnonzero(history_mask(replay.correct, mode, epoch)).tolist()


def test_history_filters_combine_with_the_other_conditions(replay):
    probs = replay.probabilities(4)
    spec = FilterSpec(mode="forgotten", true_class=4)
    assert view.filter_indices(probs, LABELS, spec, replay.correct, 4).tolist() == [4]
    # Without a history a history filter keeps nothing (the page never offers it then).
    assert view.filter_indices(probs, LABELS, spec).tolist() == []
    assert view.grid_order(probs, LABELS, spec, "index", None, None).tolist() == []


def test_replay_gives_each_epoch_its_own_predictions(replay):
    assert replay.epochs == 4
    probs = replay.probabilities(2)
    assert probs.dtype == np.float32 and probs.shape == (6, 10) and not probs.flags.writeable
    assert probs.argmax(axis=1).tolist() == [0, 9, 9, 9, 4, 9]
    assert [replay.accuracy(epoch) for epoch in (1, 2, 3, 4)] == pytest.approx(
        [3 / 6, 2 / 6, 4 / 6, 4 / 6]
    )
    matrix = replay.matrix(4)
    assert matrix.sum() == 6 and matrix[4, 9] == 1 and matrix[5, 5] == 1


def test_one_picture_history_and_its_sentence(replay):
    learned = replay.picture(1)
    assert learned.first_right == 3 and learned.epochs == 4
    assert learned.true_probability.tolist() == pytest.approx([0.01, 0.01, 0.7, 0.8], abs=1e-3)
    assert learned.predicted.tolist() == [9, 9, 1, 1]
    assert learned.predicted_probability.tolist() == pytest.approx([0.5, 0.6, 0.7, 0.8], abs=1e-3)
    assert view.history_sentence(learned) == "First right in epoch 3."
    assert view.history_sentence(replay.picture(3)) == "Never right."
    assert view.history_sentence(replay.picture(2)) == (
        "First right in epoch 1, wrong again in epoch 2, right at the end."
    )
    assert view.history_sentence(replay.picture(4)) == (
        "First right in epoch 1, wrong again in epoch 4."
    )


def test_history_chart_is_blue_for_the_true_class_and_red_only_when_wrong(replay):
    figure = picture_history_figure(replay.picture(1), shown_epoch=2)
    true_line, wrong_line = figure.data
    assert true_line.line.color == RIGHT_COLOR and wrong_line.line.color == WRONG_COLOR
    assert list(true_line.x) == [1, 2, 3, 4]
    wrong = np.asarray(wrong_line.y, dtype=float)
    assert wrong[:2] == pytest.approx([0.5, 0.6], abs=1e-3) and np.isnan(wrong[2:]).all()
    assert list(wrong_line.customdata[:2]) == ["Ankle boot", "Ankle boot"]
    assert figure.layout.xaxis.title.text == "epoch"
    assert figure.layout.shapes[0].x0 == 2  # the epoch shown
    # A picture always right has no red at all.
    always = picture_history_figure(replay.picture(0))
    assert np.isnan(np.asarray(always.data[1].y, dtype=float)).all()
    assert always.data[1].showlegend is False
    # The wrong class is named where it starts, in red.
    assert list(wrong_line.text) == ["Ankle boot", "", "", ""]
    assert wrong_line.textfont.color == WRONG_COLOR


def test_matrix_cells_say_how_they_changed_since_the_epoch_before(replay):
    matrix, changes = view.epoch_matrix(replay.probabilities(3), LABELS, replay, 3)
    assert changes[1 * 10 + 1] == "+1 since epoch 2"  # picture 1 learned in epoch 3
    assert changes[1 * 10 + 9] == "-1 since epoch 2"
    assert changes[0] == "no change since epoch 2"
    assert view.epoch_matrix(replay.probabilities(1), LABELS, replay, 1)[1] is None
    assert view.epoch_matrix(replay.probabilities(1), LABELS, None, None)[1] is None
    figure = confusion_matrix_figure(matrix, changes=changes)
    assert "+1 since epoch 2" in figure.data[0].hovertext[11]


def test_caption_says_the_epoch_and_the_filter():
    spec = FilterSpec(mode="learned_in")
    text = view.filter_caption(spec, 12, 10_000, 0.8, epoch=2, epochs=5)
    assert "Test accuracy **80.0%** after epoch 2 of 5." in text
    assert "(learned in epoch 2)" in text and "**12 of 10,000**" in text
    plain = view.filter_caption(FilterSpec(mode="forgotten"), 3, 10, 0.5)
    assert "after epoch" not in plain and "(forgotten)" in plain


def test_the_replay_state_fits_the_chosen_run():
    state = {Keys.MODE: "forgotten"}
    assert view.fit_state_to_run(state, "run-a", 5) == 5
    assert state[Keys.EPOCH] == 5 and state[Keys.EPOCH_RUN] == "run-a"  # a new run: the last
    state[Keys.EPOCH] = 2
    view.fit_state_to_run(state, "run-a", 5)
    assert state[Keys.EPOCH] == 2  # kept
    view.fit_state_to_run(state, "run-b", 3)
    assert state[Keys.EPOCH] == 3  # another run starts at its last epoch
    state[Keys.EPOCH] = 9  # from a link
    view.fit_state_to_run(state, "run-b", 3)
    assert state[Keys.EPOCH] == 3
    assert state[Keys.MODE] == "forgotten"
    view.fit_state_to_run(state, "old-run", 0)  # no history: no history filter
    assert state[Keys.MODE] == "all"
    assert list(view.filter_modes(0)) == ["all", "mistakes", "correct"]
    assert view.filter_modes(3, 2)["learned_in"] == "Learned in epoch 2"  # the slider's epoch
    assert list(view.filter_modes(3)) == list(view.FILTER_MODES)


def test_a_link_carries_the_epoch():
    linked = VerifyView("run-a", 7, FilterSpec("learned_in"), "index", epoch=2)
    params = linked.to_params()
    assert params["epoch"] == "2" and params["filter"] == "learned_in"
    assert VerifyView.from_params(params, ["run-a"]) == linked
    assert VerifyView("run-a").to_params()["epoch"] is None  # the last epoch: no parameter
    for odd in ("0", "-1", "x", "²", "9" * 50):
        assert VerifyView.from_params({"epoch": odd}, []).epoch is None
    state = linked.state(["run-a"])
    assert state[Keys.EPOCH] == 2 and state[Keys.EPOCH_RUN] == "run-a"
    assert Keys.EPOCH not in VerifyView("run-a").state(["run-a"])


# --- The cached helpers in ui/cache.py (outside a Streamlit server) -------------------------------


def test_a_completed_run_opens_with_its_recorded_last_epoch(replay_run, monkeypatch):
    from ui import cache

    root, run_id = str(replay_run.root.resolve()), replay_run.run_id
    info = RunStore(root).get(run_id)

    def no_model(*args):
        raise AssertionError("the model should not be loaded")

    monkeypatch.setattr(cache, "get_model", no_model)
    cache.get_test_probabilities.clear()
    probs = cache.get_test_probabilities(root, run_id, info.model_sha256)
    history = read_history(replay_run.root / run_id / HISTORY_FILE)
    np.testing.assert_array_equal(probs, history[-1].astype(np.float32))
    assert not probs.flags.writeable
    replay = cache.run_replay(RunStore(root), info)
    assert replay.epochs == 3
    assert cache.run_replay(RunStore(root), info) is replay  # cached, not read again
    cache.get_test_probabilities.clear()


def test_a_damaged_model_is_not_hidden_by_the_recorded_predictions(replay_run, tmp_path):
    from classifier.store.records import ModelLoadError
    from ui import cache

    copy = tmp_path / replay_run.run_id
    shutil.copytree(replay_run.root / replay_run.run_id, copy)
    model_file = copy / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[:-100] + b"\0" * 100)
    info = RunStore(tmp_path).get(replay_run.run_id)
    with pytest.raises(ModelLoadError, match="does not match its recorded checksum"):
        cache.get_test_probabilities(str(tmp_path.resolve()), info.run_id, info.model_sha256)


def test_per_class_bars_use_red_only_for_the_wrong_answers():
    from classifier.figures.mistakes import per_class_accuracy_figure

    accuracy = np.linspace(0.3, 0.95, 10)
    right, wrong = per_class_accuracy_figure(accuracy, 0.8).data
    assert right.marker.color == RIGHT_COLOR and wrong.marker.color == WRONG_COLOR
    np.testing.assert_allclose(np.add(right.x, wrong.x), 1.0)
    np.testing.assert_allclose(wrong.x, 1 - accuracy)
    # A click on either part of a bar lists that class.
    assert list(right.customdata) == list(wrong.customdata) == list(range(10))
