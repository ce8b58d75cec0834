"""What a live run's page shows while the model learns: the right-count after each epoch, the
tutorial's grid of a fixed set of test pictures from the live sample, and the steps after the
last epoch. Unit tests of classifier/views/train.py on hand-made samples and metrics. (The
Train page and the Verify page's first-run demo in AppTest: tests/app/test_live_view.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifier.figures.train import live_grid_figure
from classifier.figures.verify import prediction_label
from classifier.store.history import LIVE_SETS
from classifier.store.runs import RUNNING, SAVING, TESTING, RunInfo
from classifier.views import train as view
from tests.support.live import captions, sure_of

# A hand-made test set of 40 pictures: picture i is of class i % 10, so the first 15 are
# pictures 0-14 and the first of each class are pictures 0-9.
LABELS = np.arange(40) % 10


def info_of(status_data: dict | None = None, epochs: int = 3) -> RunInfo:
    return RunInfo(
        run_id="r",
        path=Path("/nonexistent"),
        status=RUNNING,
        epochs_planned=epochs,
        started_at=1000.0,
        status_data={"steps_per_epoch": 100, **(status_data or {})},
    )


# --- The progress text, and the steps after the last epoch -----------------------------------


def test_before_the_first_batch_the_bar_says_tensorflow_is_starting():
    progress = view.training_progress(info_of(), [], now=1003.0)
    assert progress.text == "Starting TensorFlow..." and progress.fraction == 0.0


def test_during_an_epoch_the_bar_says_where_it_stands():
    batches = [{"epoch": 2, "batch": 50, "steps": 100}]
    progress = view.training_progress(info_of(), batches, now=1030.0)
    assert progress.text.startswith("Epoch 2 of 3, batch 50 of 100 (30 s elapsed")
    assert progress.fraction == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("phase", "text"),
    [(TESTING, "Checking the 10,000 test pictures..."), (SAVING, "Saving the model...")],
)
def test_after_the_last_epoch_the_bar_says_what_happens(phase, text):
    batches = [{"epoch": 3, "batch": 100, "steps": 100}]
    progress = view.training_progress(info_of({"phase": phase}), batches, now=1090.0)
    assert progress.text == text and progress.fraction == 1.0
    # A Stop saves (then tests) in the middle of an epoch: the bar says so there too.
    early = view.training_progress(info_of({"phase": phase}), [], now=1001.0)
    assert early.text == text


@pytest.mark.parametrize("phase", ["exploding", 7, None, ["testing"]])
def test_an_unknown_phase_is_ignored(phase):
    batches = [{"epoch": 1, "batch": 10, "steps": 100}]
    progress = view.training_progress(info_of({"phase": phase}), batches, now=1010.0)
    assert progress.phase is None and progress.text.startswith("Epoch 1 of 3, batch 10")


# --- Picking a fixed set out of the live sample ----------------------------------------------


def test_each_set_is_found_in_the_sample_and_the_hardest_are_the_others():
    # The worker's sample: the first 15 (which hold one of each class here), and the
    # hardest of an earlier run: pictures 30, 5 and 37 (5 is also among the first 15).
    indices = sorted(set(range(15)) | {30, 5, 37})
    rows = view.live_set_rows(indices, LABELS)
    assert list(rows) == list(LIVE_SETS) == ["first", "classes", "hardest"]
    assert [indices[row] for row in rows["first"]] == list(range(15))
    assert [indices[row] for row in rows["classes"]] == list(range(10))
    # Picture 5 cannot be told apart from the first 15: the set holds the other two.
    assert [indices[row] for row in rows["hardest"]] == [30, 37]


def test_without_an_earlier_run_there_is_no_hardest_set_to_choose():
    rows = view.live_set_rows(list(range(15)), LABELS)
    assert list(rows) == ["first", "classes"]
    assert view.chosen_live_set(rows, "hardest") == "first"
    assert view.chosen_live_set(rows, "classes") == "classes"
    assert view.chosen_live_set(rows, None) == "first"


def test_a_sample_in_any_order_gives_rows_of_the_same_pictures():
    indices = [12, 3, 33, 0, 7]  # odd, partial: each set keeps what the sample holds
    rows = view.live_set_rows(indices, LABELS)
    assert [indices[row] for row in rows["first"]] == [0, 3, 7, 12]
    assert [indices[row] for row in rows["classes"]] == [0, 3, 7]
    assert [indices[row] for row in rows["hardest"]] == [33]
    assert view.live_set_rows([], LABELS) == {}
    assert view.chosen_live_set({}, "first") is None


# --- The right-count and its change ----------------------------------------------------------


def test_the_right_count_after_each_epoch_and_its_change():
    assert view.right_count([]) is None
    assert view.right_count([{"epoch": 1, "loss": 0.5}]) is None  # no test score (yet)

    first = view.right_count([{"epoch": 1, "test_accuracy": 0.82}])
    assert first.text == "Right on 8,200 of 10,000 test pictures"
    assert first.change_text == "After epoch 1"

    metrics = [
        {"epoch": 1, "test_accuracy": 0.82},
        {"epoch": 2, "test_accuracy": 0.82},
        {"epoch": 3, "test_accuracy": 0.8512},
    ]
    count = view.right_count(metrics)
    assert (count.epoch, count.right, count.previous_right) == (3, 8512, 8200)
    assert count.text == "Right on 8,512 of 10,000 test pictures"
    assert count.change_text == "After epoch 3: +312 since epoch 2"
    assert view.right_count(metrics[:2]).change_text == "After epoch 2: no change since epoch 1"
    worse = view.right_count(metrics + [{"epoch": 4, "test_accuracy": 0.8467}])
    assert worse.change_text == "After epoch 4: \u221245 since epoch 3"


def test_the_right_count_skips_lines_without_a_score_and_keeps_to_the_test_set():
    metrics = [
        {"epoch": 1, "test_accuracy": 0.5},
        {"epoch": 2, "test_accuracy": None},  # a diverged model's NaN reads as None
        {"epoch": 3, "test_accuracy": 1.7},  # a damaged line: at most all of them
    ]
    count = view.right_count(metrics)
    assert count.text == "Right on 10,000 of 10,000 test pictures"
    assert count.change_text == "After epoch 3: +5,000 since epoch 1"
    assert view.right_count(metrics, total=40).text == "Right on 40 of 40 test pictures"


def test_the_live_caption_says_when_the_sample_was_taken():
    live = {"epoch": 2, "batch": 1234}
    text = view.live_caption(live, info_of({"steps_per_epoch": 1875}))
    assert text.startswith("What the model says now (epoch 2, batch 1,234 of 1,875).")
    assert "blue when right, red when wrong" in text
    assert "(epoch 2, batch 1,234)" in view.live_caption(live, info_of({"steps_per_epoch": None}))


# --- The live grid ---------------------------------------------------------------------------


def test_the_live_grid_is_the_tutorials_figure_in_three_columns_without_a_click_hint():
    images = np.zeros((15, 28, 28), dtype=np.uint8)
    labels = LABELS[:15]
    predicted = [int(label) if i % 3 else (int(label) + 1) % 10 for i, label in enumerate(labels)]
    figure = live_grid_figure(images, sure_of(predicted), labels, np.arange(15)).to_plotly_json()
    shown = captions(figure)
    wrong = [i for i in range(15) if i % 3 == 0]
    assert len(shown["captions wrong"]) == len(wrong) == 5
    assert len(shown["captions right"]) == 10
    expected = prediction_label(sure_of(predicted)[0], int(labels[0]))[0]
    assert shown["captions wrong"][0] == expected == "Trouser 91% (T-shirt/top)"
    tiles = next(trace for trace in figure["data"] if trace.get("name") == "tiles")
    assert len(tiles["x"]) == 15 and not any("Click" in text for text in tiles["hovertext"])
    # 3 columns of 5 rows: three distinct tile positions across, five down.
    assert len(set(tiles["x"])) == 3 and len(set(tiles["y"])) == 5
