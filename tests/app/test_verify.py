"""The Verify page in Streamlit's AppTest: a real model (1 epoch on 3,000 images), real data.

AppTest cannot click a plotly chart (it is an UnknownElement), so clicks are driven through
the state they are mirrored into (`verify_index`, the class filters), exactly as the click
callbacks set it; what the grid shows is read from the chart's plotly spec.
"""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from classifier.data import CLASS_NAMES, scale_images
from classifier.jobs.training_job import get_job_manager
from classifier.ml import inference
from classifier.ml.images import MAX_UPLOAD_BYTES
from classifier.store.history import HISTORY_FILE, read_history
from classifier.store.runs import RunStore
from tests.support.apptest import chart_spec, decode, open_app_page
from tests.support.runs import shirt_png

SHIRT, TSHIRT = CLASS_NAMES.index("Shirt"), CLASS_NAMES.index("T-shirt/top")


@pytest.fixture(scope="module")
def truth(trained_run, dataset):
    """What the page should show, computed here independently of it: the completed run's
    recorded last epoch (float16, so ties of confidence follow its rounding), which is its
    saved model's predictions within that rounding."""
    model = RunStore(trained_run.root).load_model(trained_run.run_id)
    predicted_now = inference.probabilities(model, scale_images(dataset.test.images))
    history = read_history(trained_run.root / trained_run.run_id / HISTORY_FILE)
    probs = history[-1].astype(np.float32)
    np.testing.assert_allclose(probs, predicted_now, atol=1e-3)
    predicted = inference.predicted_classes(probs)
    return probs, predicted, inference.confusion_matrix(dataset.test.labels, predicted)


def open_verify(query: dict | None = None) -> AppTest:
    return open_app_page("pages/verify.py", query)


def grid_indices(at: AppTest) -> list[int]:
    """The test-set numbers of the pictures in the grid, in order."""
    traces = chart_spec(at, "verify_grid_")["data"]
    images = next(trace for trace in traces if trace.get("name") == "tiles")
    return decode(images["customdata"]).tolist()


def caption(at: AppTest) -> str:
    return next(md.value for md in at.markdown if md.value.startswith("Test accuracy"))


def single_view_title(at: AppTest) -> str:
    return next(s.value for s in at.subheader if s.value.startswith("Image "))


def test_opens_on_the_best_run_with_the_first_test_image(store_with_run, truth, dataset):
    at = open_verify()
    assert at.selectbox(key="verify_run").value == store_with_run.run_id
    accuracy = inference.accuracy(truth[0], dataset.test.labels)
    assert f"Test accuracy **{accuracy:.1%}**" in caption(at)
    assert "**10,000 of 10,000**" in caption(at)
    assert single_view_title(at) == "Image 0: Ankle boot"
    assert grid_indices(at) == list(range(15))  # the tutorial's 5 rows x 3 columns
    label = chart_spec(at, "verify_image")["layout"]["xaxis"]["title"]["text"]
    assert label.endswith("(Ankle boot)") and label.startswith(CLASS_NAMES[truth[1][0]])
    assert len(decode(chart_spec(at, "verify_bars")["data"][0]["y"])) == 10
    assert at.query_params["run"] == store_with_run.run_id


def test_moving_through_images_keeps_one_index(store_with_run, dataset):
    at = open_verify()
    at.button(key="verify_next").click().run()
    assert single_view_title(at) == f"Image 1: {CLASS_NAMES[dataset.test.labels[1]]}"
    assert at.slider(key="verify_slider").value == 1
    at.button(key="verify_next").click().run()
    at.button(key="verify_previous").click().run()
    assert at.number_input(key="verify_index").value == 1
    at.number_input(key="verify_index").set_value(42).run()
    assert single_view_title(at).startswith("Image 42:")
    assert at.slider(key="verify_slider").value == 42
    at.slider(key="verify_slider").set_value(1234).run()
    assert at.number_input(key="verify_index").value == 1234
    # The grid follows the image to its page (1234 // 15 + 1) and frames it.
    assert at.number_input(key="verify_page").value == 83
    assert 1234 in grid_indices(at)
    assert at.query_params["image"] == "1234"
    assert not at.exception


def test_grid_size_filters_and_order(store_with_run, truth, dataset):
    probs, predicted, _ = truth
    labels = dataset.test.labels
    at = open_verify()
    at.number_input(key="verify_rows").set_value(2).run()
    at.number_input(key="verify_columns").set_value(4).run()
    assert grid_indices(at) == list(range(8))

    at.selectbox(key="verify_mode").set_value("mistakes").run()
    mistakes = np.flatnonzero(predicted != labels)
    assert f"**{len(mistakes):,} of 10,000**" in caption(at)
    assert grid_indices(at) == mistakes[:8].tolist()

    at.selectbox(key="verify_sort").set_value("confidently_wrong").run()
    worst = mistakes[np.argsort(-probs[mistakes].max(axis=1), kind="stable")]
    assert grid_indices(at) == worst[:8].tolist()

    at.selectbox(key="verify_mode").set_value("all").run()
    at.selectbox(key="verify_sort").set_value("index").run()
    at.selectbox(key="verify_true").set_value("Bag").run()
    assert grid_indices(at) == np.flatnonzero(labels == 8)[:8].tolist()
    at.selectbox(key="verify_true").set_value("Any").run()
    at.selectbox(key="verify_pred").set_value("Trouser").run()
    assert grid_indices(at) == np.flatnonzero(predicted == 1)[:8].tolist()
    at.selectbox(key="verify_pred").set_value("Any").run()
    at.slider(key="verify_conf").set_value((40, 60)).run()
    confidence = probs.max(axis=1)
    kept = np.flatnonzero((confidence >= 0.4) & (confidence <= 0.6))
    assert f"**{len(kept):,} of 10,000**" in caption(at)
    # Pagination: page 2 shows the next 8.
    at.number_input(key="verify_page").set_value(2).run()
    assert grid_indices(at) == kept[8:16].tolist()
    assert not at.exception


def test_a_confusion_cell_filters_the_grid_to_exactly_its_images(store_with_run, truth, dataset):
    _, predicted, matrix = truth
    at = open_verify()
    # What a click on the (true Shirt, predicted T-shirt/top) square writes into the filters.
    at.selectbox(key="verify_true").set_value("Shirt")
    at.selectbox(key="verify_pred").set_value("T-shirt/top").run()
    expected = np.flatnonzero((dataset.test.labels == SHIRT) & (predicted == TSHIRT))
    assert len(expected) == matrix[SHIRT, TSHIRT]
    assert f"**{matrix[SHIRT, TSHIRT]:,} of 10,000**" in caption(at)
    assert grid_indices(at) == expected[:15].tolist()
    # The square is framed, and the link carries the cell.
    frame = chart_spec(at, "verify_confusion_")["layout"]["shapes"][0]
    assert frame["x0"] < TSHIRT < frame["x1"] and frame["y0"] < SHIRT < frame["y1"]
    assert at.query_params["true"] == "Shirt" and at.query_params["pred"] == "T-shirt/top"


def test_a_link_reproduces_the_view_and_bad_links_fall_back(store_with_run, truth, dataset):
    at = open_verify({"image": "77", "true": "Shirt", "pred": "T-shirt/top", "filter": "mistakes"})
    assert single_view_title(at).startswith("Image 77:")
    assert at.selectbox(key="verify_true").value == "Shirt"
    assert at.selectbox(key="verify_mode").value == "mistakes"
    assert f"**{truth[2][SHIRT, TSHIRT]:,} of 10,000**" in caption(at)

    bad = open_verify(
        {"run": "../etc", "image": "99999", "true": "Hat", "filter": "?", "sort": "x"}
    )
    assert bad.selectbox(key="verify_run").value == store_with_run.run_id
    assert single_view_title(bad) == "Image 0: Ankle boot"
    assert "**10,000 of 10,000**" in caption(bad)


def test_upload_a_good_picture_and_bad_ones(store_with_run):
    at = open_verify()
    at.file_uploader(key="verify_upload").upload("shirt.png", shirt_png(), "image/png").run()
    assert not at.error and not at.exception
    sees = chart_spec(at, "verify_upload_image")
    assert sees["layout"]["title"]["text"] == "What the model sees"
    assert decode(sees["data"][0]["z"]).shape == (28, 28)
    assert len(decode(chart_spec(at, "verify_upload_bars")["data"][0]["y"])) == 10
    assert any("Photos differ from the dataset" in caption.value for caption in at.caption)

    at.file_uploader(key="verify_upload").clear()
    at.file_uploader(key="verify_upload").upload("notes.png", b"not a picture", "image/png").run()
    assert "not a picture" in at.error[0].value
    assert not at.exception
    # The page keeps working after the error.
    at.button(key="verify_next").click().run()
    assert single_view_title(at).startswith("Image 1:")

    big = b"\0" * (MAX_UPLOAD_BYTES + 1)  # the server checks the size, not only the browser
    at.file_uploader(key="verify_upload").clear()
    at.file_uploader(key="verify_upload").upload("huge.png", big, "image/png").run()
    assert "limit is 5 MB" in at.error[0].value
    assert not at.exception


def test_a_damaged_model_shows_a_clear_message(trained_run, tmp_path, monkeypatch):
    import shutil

    shutil.copytree(trained_run.root / trained_run.run_id, tmp_path / trained_run.run_id)
    model_file = tmp_path / trained_run.run_id / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[:-100] + b"\0" * 100)
    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(tmp_path))
    at = open_verify()
    assert "does not match its recorded checksum" in at.error[0].value
    assert at.selectbox(key="verify_run").value == trained_run.run_id  # still usable


@pytest.mark.slow
def test_without_a_run_it_explains_and_trains_a_quick_model(runs_root):
    at = open_verify()
    assert "no trained model yet" in at.info[0].value
    button = at.button(key="verify_quick_train")
    assert button.label == "Train a quick model"
    button.click().run()  # starts a real worker process, never training in the page
    run_id = at.session_state["quick_training_run"]
    assert at.get("progress"), "the progress bar should show while it trains"
    # Stop it early to keep the test short: a stopped run keeps its model.
    manager = get_job_manager(RunStore(runs_root))
    manager.stop(run_id)
    manager.wait(run_id, timeout=120)
    at.run()
    assert not at.exception
    assert at.selectbox(key="verify_run").value == run_id
    assert caption(at).startswith("Test accuracy")


@pytest.mark.parametrize("value", ["²", "①", "9" * 5000])
def test_odd_numbers_in_the_link_open_the_default_view(store_with_run, value):
    """`/verify?image=²`, `?true=²` and `?pred=①` crashed the page."""
    at = open_verify({"image": value, "true": value, "pred": value})
    assert at.session_state["verify_index"] == 0
    assert at.selectbox(key="verify_true").value == "Any"


def test_the_single_view_follows_a_new_filter_to_its_first_picture(store_with_run, truth, dataset):
    """After "Only mistakes", the single view still showed picture 0, a right answer."""
    probs, predicted, _ = truth
    at = open_verify()
    assert at.session_state["verify_index"] == 0
    at.selectbox(key="verify_mode").set_value("mistakes").run()
    index = at.session_state["verify_index"]
    assert predicted[index] != dataset.test.labels[index]
    assert index == grid_indices(at)[0]  # the first picture of the grid
