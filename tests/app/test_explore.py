"""The Explore page in AppTest: the map, the nearest training pictures, suspicious labels
and one model against another, on the session's two runs (tests/conftest.py, two_runs).
Clicks are driven through the state they are mirrored into, as in tests/app/test_verify.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from classifier.data import CLASS_NAMES
from classifier.jobs import label_check
from classifier.ml import compare as model_compare
from classifier.store import reviews as label_reviews
from tests.support import APP
from tests.support.apptest import chart_spec


def open_explore(root: Path, monkeypatch, state: dict | None = None):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(root))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/explore.py")
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def grid_pictures(at, key_prefix: str) -> list[int]:
    traces = chart_spec(at, key_prefix)["data"]
    tiles = next(trace for trace in traces if trace.get("name") == "tiles")
    return list(tiles["customdata"])


def test_a_box_on_the_map_fills_the_grid_with_exactly_those_pictures(two_runs, monkeypatch):
    from classifier.views import explore as view

    root, _, _ = two_runs
    at = open_explore(root, monkeypatch)
    spec = chart_spec(at, "explore_map")
    points = [
        n for trace in spec["data"] if trace["type"] == "scattergl" for n in trace["customdata"]
    ]
    assert sorted(points) == list(range(10_000))  # every test picture once, as a plain list
    assert any("Draw a box" in element.value for element in at.markdown)
    # What the map's callback does with a box around 15 pictures (as plotly reports it).
    chosen = [9, 3, 120, 4000, 77, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]
    selection = {"points": [{"customdata": n} for n in chosen], "box": [{"x": [0, 1]}]}
    state = {}
    view.apply_map_selection(state, selection)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    assert grid_pictures(at, "explore_region_grid")[:12] == sorted(chosen)[:12]
    assert any("**15** of the 10,000 test pictures" in e.value for e in at.markdown)
    assert at.session_state["explore_index"] == 3  # the first of the region is shown
    at.number_input[0].set_value(2).run()  # page 2 holds the other three
    assert grid_pictures(at, "explore_region_grid") == sorted(chosen)[12:]


def test_a_click_on_a_dot_shows_that_picture_and_its_nearest_training_pictures(
    two_runs, monkeypatch, dataset
):
    root, _, _ = two_runs
    at = open_explore(root, monkeypatch, {"explore_index": 42})
    assert any(element.value == "Test picture 42" for element in at.subheader)
    nearest = chart_spec(at, "explore_nearest")["data"]
    numbers = next(trace for trace in nearest if trace.get("name") == "tiles")["customdata"]
    assert len(numbers) == 8 and all(0 <= n < 60_000 for n in numbers)
    assert any("training pictures" in e.value for e in at.markdown)


def test_review_buttons_save_the_decision_in_the_runs_folder(two_runs, monkeypatch):
    root, _, _ = two_runs
    at = open_explore(root, monkeypatch, {"explore_part": "suspects"})
    first = at.session_state["explore_suspect"]
    label_box = at.selectbox(key=f"explore_true_label_test_{first}")
    label_box.set_value("Bag").run()
    at.button(key="explore_wrong").click().run()
    assert not at.exception, at.exception
    reviews = label_reviews.read_reviews(root)
    assert reviews[f"test:{first}"]["decision"] == "wrong"
    assert reviews[f"test:{first}"]["label"] == CLASS_NAMES.index("Bag")
    second = at.session_state["explore_suspect"]
    assert second != first  # on to the next suspect
    at.button(key="explore_right").click().run()
    assert label_reviews.read_reviews(root)[f"test:{second}"]["decision"] == "right"
    assert any("You have reviewed 2" in e.value for e in at.markdown)
    (root / ".explore" / "label-reviews.json").unlink()


def test_the_model_against_model_table_filters_the_grid(two_runs, monkeypatch, dataset):
    from classifier.store.history import HISTORY_FILE, read_history
    from classifier.views import explore as view

    root, quick, better = two_runs
    state = {"explore_part": "compare", "explore_run_a": quick, "explore_run_b": better}
    at = open_explore(root, monkeypatch, state)
    sentence = next(e.value for e in at.markdown if "on these 10,000 pictures" in e.value)
    assert sentence.startswith("**B is better than A")
    # What the page shows: the completed runs' recorded last epochs.
    probs = [
        read_history(root / run / HISTORY_FILE)[-1].astype(np.float32) for run in (quick, better)
    ]
    comparison = model_compare.Comparison.of(*probs, dataset.test.labels)
    # A click on "only A right", as the table's callback mirrors it.
    state = {"explore_cell": "only_b", "explore_cell_page": 3, "explore_table_nonce": 0}
    view.apply_table_click(state, {"points": [{"customdata": "only_a"}]})
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    expected = comparison.indices("only_a")
    assert grid_pictures(at, "explore_cell_grid") == expected[:12].tolist()
    count = comparison.table()["only_a"]
    assert any(f"Only A right: {count:,} pictures" in e.value for e in at.markdown)


def test_the_training_split_shows_a_finished_check_and_offers_one_otherwise(
    two_runs, monkeypatch, dataset
):
    root, _, _ = two_runs
    state = {"explore_part": "suspects", "explore_split": "train", "explore_cv_folds": 2}
    at = open_explore(root, monkeypatch, state)
    assert any(button.label == "Check the training labels" for button in at.button)
    assert any("Not computed yet" in caption.value for caption in at.caption)
    # A finished check in the store (made up: the model is sure of the given label, except
    # for pictures 10 and 20, which it takes for a Bag).
    job = label_check.CrossValidation(folds=2)  # the page's default model
    labels = dataset.train.labels.astype(np.int64)
    probs = np.full((60_000, 10), 0.01, dtype=np.float32)
    probs[np.arange(60_000), labels] = 0.91
    probs[[10, 20]] = 0.01
    probs[[10, 20], 8] = 0.91
    folder = label_check.job_dir(root, job)
    folder.mkdir(parents=True)
    np.save(folder / "probabilities.npy", probs)
    at.run()
    assert not at.exception, at.exception
    assert any("about 2 of the 60,000 training labels" in e.value for e in at.markdown)
    assert at.session_state["explore_suspect"] == 10
    assert any(element.value == "Training picture 10" for element in at.subheader)
    nearest = chart_spec(at, "explore_suspect_nearest")["data"]
    numbers = next(trace for trace in nearest if trace.get("name") == "tiles")["customdata"]
    assert 10 not in numbers and len(numbers) == 8  # the picture itself is left out
    shutil.rmtree(folder)


def test_explore_opens_from_the_stored_features_without_loading_the_model(
    trained_run, tmp_path, monkeypatch
):
    """The map worker stored the features of the test and training pictures (ml.features):
    the map, the picture and its nearest training pictures come without the model."""
    from classifier.data import load_dataset, scale_images
    from classifier.ml.features import feature_model, features, write_features
    from classifier.store.runs import RunStore

    root = tmp_path / "runs"  # a store no cache has seen
    shutil.copytree(trained_run.root / trained_run.run_id, root / trained_run.run_id)
    store = RunStore(root)
    model, dataset = store.load_model(trained_run.run_id), load_dataset()
    extractor = feature_model(model)
    values = {
        split: features(extractor, scale_images(dataset.split(split).images))
        for split in ("test", "train")
    }
    digest = store.get(trained_run.run_id).model_sha256
    write_features(store.run_dir(trained_run.run_id), digest, values)

    def no_model(self, run_id):
        raise AssertionError("Explore loaded the model although its features were stored")

    monkeypatch.setattr(RunStore, "load_model", no_model)
    at = open_explore(root, monkeypatch)
    assert chart_spec(at, "explore_map")["data"], "no map drawn"
    assert chart_spec(at, "explore_nearest")["data"], "no nearest pictures drawn"
