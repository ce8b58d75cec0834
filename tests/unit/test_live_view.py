"""What a live run's page shows while the model learns: the right-count after each epoch, the
tutorial's grid of a fixed set of test pictures from the live sample, and the steps after the
last epoch. Unit tests of train_view on hand-made samples and metrics, then the Train page
and the Verify page's first-run demo in AppTest, with a fake live run (its lock held here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from classifier.figures.train import live_grid_figure
from classifier.figures.verify import prediction_label
from classifier.store.history import LIVE_FILE, LIVE_SETS, write_live
from classifier.store.runs import RUNNING, SAVING, TESTING, RunInfo, RunStore
from classifier.views import train as view

APP = str(Path(__file__).resolve().parent.parent / "app.py")

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


def sure_of(classes: list[int], confidence: float = 0.91) -> np.ndarray:
    """Probabilities that pick `classes`, each with `confidence`."""
    rows = np.full((len(classes), 10), (1 - confidence) / 9)
    rows[np.arange(len(classes)), classes] = confidence
    return rows


def captions(spec_or_figure) -> dict[str, list[str]]:
    """The grid's captions by colour trace ("captions right", "captions wrong"), one line."""
    data = spec_or_figure["data"]
    return {
        trace["name"]: [text.replace("<br>", " ") for text in trace["text"]]
        for trace in data
        if str(trace.get("name", "")).startswith("captions")
    }


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


# --- The Train page and the Verify page's demo, in AppTest, with a fake live run -------------


def fake_live_run(root: Path, labels: np.ndarray, right: set[int], extra: tuple = ()):
    """A running run (its lock held by the returned writer) with a batch, two epochs of
    metrics and a live sample of the first 15, one of each class, and `extra` pictures; the
    pictures in `right` are predicted right, the others wrong. Returns (writer, indices,
    probabilities)."""
    from classifier.store.history import live_indices

    store = RunStore(root)
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 3}, "live demo")
    writer.write_status(steps_per_epoch=1875)
    sets = live_indices(labels)
    indices = sorted(set(sets["first"]) | set(sets["classes"]) | set(extra))
    classes = [int(labels[i]) if i in right else (int(labels[i]) + 1) % 10 for i in indices]
    probabilities = sure_of(classes)
    write_live(writer.path / LIVE_FILE, 2, 640, indices, probabilities)
    batch = {"epoch": 2, "batch": 640, "steps": 1875, "loss": 0.4, "accuracy": 0.85}
    (writer.path / "batches.jsonl").write_text(json.dumps(batch) + "\n")
    metrics = [
        {"epoch": 1, "loss": 0.5, "accuracy": 0.82, "test_accuracy": 0.82, "test_loss": 0.5},
        {"epoch": 2, "loss": 0.4, "accuracy": 0.85, "test_accuracy": 0.8512, "test_loss": 0.4},
    ]
    (writer.path / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    return writer, indices, probabilities


def expected_captions(indices, probabilities, labels, shown: list[int]) -> list[str]:
    rows = [indices.index(index) for index in shown]
    return sorted(
        prediction_label(probabilities[row], int(labels[index]))[0]
        for row, index in zip(rows, shown, strict=True)
    )


def grid_spec(app: AppTest, key: str) -> dict:
    for chart in app.get("plotly_chart"):
        if chart.proto.id.split("-")[-1] == key:
            return json.loads(chart.proto.spec)
    raise AssertionError(f"no chart with key {key}")


def all_captions(spec: dict) -> list[str]:
    return sorted(text for texts in captions(spec).values() for text in texts)


def page_text(app: AppTest) -> str:
    return "\n".join(str(m.value) for m in list(app.markdown) + list(app.caption))


def open_train_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/train.py").run()
    assert not app.exception, app.exception
    return app


def test_the_train_page_shows_the_right_count_and_the_live_grid(runs_root, dataset):
    labels = dataset.test.labels
    right = set(range(0, 40, 2))  # every other picture right
    writer, indices, probabilities = fake_live_run(runs_root, labels, right, extra=(9000, 9001))
    try:
        app = open_train_page()
        text = page_text(app)
        assert "Right on 8,512 of 10,000 test pictures" in text
        assert "After epoch 2: +312 since epoch 1" in text
        assert "epoch 2, batch 640 of 1,875" in text
        assert app.get("progress")[0].text.startswith("Epoch 2 of 3, batch 640 of 1875")

        # The tutorial's first 15, captioned from the live sample: blue right, red wrong.
        chooser = app.segmented_control(key="train_live_set")
        assert chooser.value == "first" and chooser.options == list(LIVE_SETS.values())
        spec = grid_spec(app, "train_live_set_grid")
        first = list(range(15))
        assert all_captions(spec) == expected_captions(indices, probabilities, labels, first)
        assert len(captions(spec)["captions wrong"]) == 7  # pictures 1, 3, ..., 13

        # The hardest of the last run: the sample's pictures beyond the other two sets.
        chooser.set_value("hardest").run()
        assert not app.exception, app.exception
        spec = grid_spec(app, "train_live_set_grid")
        hardest = expected_captions(indices, probabilities, labels, [9000, 9001])
        assert all_captions(spec) == hardest

        # After the last epoch the bar says what happens, not "100%".
        writer.write_status(phase=TESTING)
        app.run()
        assert app.get("progress")[0].text == "Checking the 10,000 test pictures..."
        writer.write_status(phase=SAVING)
        app.run()
        assert app.get("progress")[0].text == "Saving the model..."
    finally:
        writer.release()


def test_without_an_earlier_run_the_hardest_set_is_not_offered(runs_root, dataset):
    writer, _, _ = fake_live_run(runs_root, dataset.test.labels, right=set())
    try:
        app = open_train_page()
        chooser = app.segmented_control(key="train_live_set")
        assert chooser.options == [LIVE_SETS["first"], LIVE_SETS["classes"]]
        chooser.set_value("classes").run()
        shown = captions(grid_spec(app, "train_live_set_grid"))
        assert not shown.get("captions right") and len(shown["captions wrong"]) == 10
    finally:
        writer.release()


def test_before_the_first_sample_the_page_says_tensorflow_is_starting(runs_root):
    writer = RunStore(runs_root).create_run({"preset": "Tutorial MLP", "epochs": 3}, "new")
    try:
        app = open_train_page()
        assert app.get("progress")[0].text == "Starting TensorFlow..."
        assert view.RIGHT_COUNT_WAITING in page_text(app)
        assert view.LIVE_WAITING in page_text(app)
        assert not app.get("plotly_chart")
    finally:
        writer.release()


def test_the_verify_pages_first_run_demo_shows_the_same_live_view(runs_root, dataset):
    labels = dataset.test.labels
    writer, indices, probabilities = fake_live_run(runs_root, labels, right={0, 1, 2})
    try:
        app = AppTest.from_file(APP, default_timeout=60)
        app.run()
        app.switch_page("pages/verify.py").run()
        assert not app.exception, app.exception
        assert "Right on 8,512 of 10,000 test pictures" in page_text(app)
        spec = grid_spec(app, "quick_training_live_set_grid")
        first = list(range(15))
        assert all_captions(spec) == expected_captions(indices, probabilities, labels, first)
        writer.write_status(phase=SAVING)
        app.run()
        assert app.get("progress")[0].text == "Saving the model..."
    finally:
        writer.release()
