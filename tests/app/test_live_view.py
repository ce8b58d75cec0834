"""What a live run's page shows while the model learns, in AppTest: the Train page and the
Verify page's first-run demo, with a fake live run (its lock held here: tests.support.live).
(The logic on hand-made samples: tests/unit/test_live_view.py.)"""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from classifier.figures.verify import prediction_label
from classifier.store.history import LIVE_SETS
from classifier.store.runs import SAVING, TESTING, RunStore
from classifier.views import train as view
from tests.support.apptest import open_app_page
from tests.support.live import captions, fake_live_run


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
    return open_app_page("pages/train.py")


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
        app = open_app_page("pages/verify.py")
        assert "Right on 8,512 of 10,000 test pictures" in page_text(app)
        spec = grid_spec(app, "quick_training_live_set_grid")
        first = list(range(15))
        assert all_captions(spec) == expected_captions(indices, probabilities, labels, first)
        writer.write_status(phase=SAVING)
        app.run()
        assert app.get("progress")[0].text == "Saving the model..."
    finally:
        writer.release()
