"""AppTest of the Dataset page: the real page script, driven through its keyed widgets.

AppTest cannot click a plotly chart, so a click on the grid is mirrored into the same
number box (`dataset_index`) that these tests set; the grid itself is checked through the
figure the page sends (its captions and customdata).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from streamlit.testing.v1 import AppTest

from classifier.data import CLASS_NAMES
from tests.support import APP, ROOT

PAGE = "pages/dataset.py"


def open_dataset_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [exception.value for exception in at.exception]
    return at


def chart_spec(at: AppTest, key_prefix: str) -> dict:
    """The plotly figure (as JSON) of the chart whose key starts with `key_prefix`."""
    for chart in at.get("plotly_chart"):
        if chart.proto.id.split("-")[-1].startswith(key_prefix):
            return json.loads(chart.proto.spec)
    raise AssertionError(f"no chart with key {key_prefix}*")


def grid(at: AppTest) -> tuple[list[int], list[str]]:
    """Image indices (customdata) and captions of the tiles shown in the grid."""
    spec = chart_spec(at, "dataset_grid_")
    traces = {trace.get("name"): trace for trace in spec["data"]}
    indices = [int(value) for value in traces["tiles"]["customdata"]]
    return indices, list(traces["captions"]["text"])


def texts(at: AppTest) -> str:
    return "\n".join(element.value for element in [*at.markdown, *at.caption, *at.info])


def test_default_view_is_the_tutorials_first_25_training_images(dataset):
    at = open_dataset_page()
    indices, captions = grid(at)
    assert indices == list(range(25))
    assert captions == [CLASS_NAMES[label] for label in dataset.train.labels[:25]]
    assert captions[0] == "Ankle boot"
    assert "Showing images 1-25 of 60,000 in the train split" in texts(at)
    assert "Zalando" in texts(at) and "28 x 28" in texts(at)
    assert at.number_input(key="dataset_index").value is None
    assert "Click a picture in the grid" in texts(at)
    assert at.query_params["split"] == "train"
    assert "image" not in at.query_params and "cls" not in at.query_params


def test_split_class_and_page_change_the_grid(dataset):
    at = open_dataset_page()
    at.radio(key="dataset_split").set_value("test").run()
    indices, captions = grid(at)
    assert captions == [CLASS_NAMES[label] for label in dataset.test.labels[:25]]
    assert "of 10,000 in the test split" in texts(at)
    assert "Statistics of the test split" in [header.value for header in at.header]

    at.selectbox(key="dataset_class").set_value("Shirt").run()
    indices, captions = grid(at)
    assert set(captions) == {"Shirt"}
    assert all(CLASS_NAMES[dataset.test.labels[index]] == "Shirt" for index in indices)
    first_page = indices

    at.button(key="dataset_next_page").click().run()
    assert at.number_input(key="dataset_page").value == 2
    indices, _ = grid(at)
    assert min(indices) > max(first_page)
    assert "images of class Shirt 26-50 of 1,000" in texts(at)
    assert at.query_params["cls"] == "Shirt"


def test_grid_size_and_last_page(dataset):
    at = open_dataset_page({"split": "test", "cls": "Bag"})
    at.number_input(key="dataset_rows").set_value(3).run()
    at.number_input(key="dataset_columns").set_value(7).run()
    pages = -(-1_000 // 21)
    at.number_input(key="dataset_page").set_value(pages).run()
    indices, captions = grid(at)
    assert len(indices) == 1_000 - 21 * (pages - 1)  # the last page is partly filled
    assert set(captions) == {"Bag"}
    assert at.button(key="dataset_next_page").disabled
    assert not at.button(key="dataset_previous_page").disabled


def test_index_opens_the_inspector_and_prev_next_follow_the_filter(dataset):
    at = open_dataset_page()
    at.number_input(key="dataset_index").set_value(42).run()
    label = CLASS_NAMES[dataset.train.labels[42]]
    assert f"**Image 42** of the train split: **{label}**" in texts(at)
    assert at.query_params["image"] == "42"
    assert chart_spec(at, "dataset_inspector")["data"][0]["type"] == "heatmap"

    at.selectbox(key="dataset_class").set_value("Sneaker").run()
    at.button(key="dataset_next_image").click().run()
    index = at.number_input(key="dataset_index").value
    assert index > 42 and CLASS_NAMES[dataset.train.labels[index]] == "Sneaker"
    assert all(CLASS_NAMES[dataset.train.labels[i]] != "Sneaker" for i in range(43, index))
    assert f"**Image {index}** of the train split: **Sneaker**" in texts(at)


def test_raw_and_scaled_switch(dataset):
    at = open_dataset_page({"image": "0"})
    heatmap = chart_spec(at, "dataset_inspector")["data"][0]
    assert heatmap["zmax"] == 255
    at.radio(key="dataset_pixels").set_value("Scaled 0-1").run()
    heatmap = chart_spec(at, "dataset_inspector")["data"][0]
    assert heatmap["zmax"] == 1.0
    assert heatmap["colorbar"]["title"]["text"] == "0-1"


def test_query_params_open_the_same_view(dataset):
    bags = [i for i, label in enumerate(dataset.test.labels) if CLASS_NAMES[label] == "Bag"]
    image = bags[30]  # on the second page of bags
    at = open_dataset_page({"split": "test", "cls": "Bag", "image": str(image)})
    assert at.radio(key="dataset_split").value == "test"
    assert at.selectbox(key="dataset_class").value == "Bag"
    assert at.number_input(key="dataset_index").value == image
    assert at.number_input(key="dataset_page").value == 2
    indices, _ = grid(at)
    assert image in indices
    assert f"**Image {image}** of the test split: **Bag**" in texts(at)


@pytest.mark.parametrize(
    ("query", "split"),
    [
        ({"split": "validation", "cls": "Hat", "image": "banana"}, "train"),
        ({"split": "test", "image": "10000"}, "test"),  # one past the last test image
        ({"image": "-3", "cls": ""}, "train"),
    ],
)
def test_invalid_query_params_fall_back_without_error(query, split):
    at = open_dataset_page(query)
    assert at.radio(key="dataset_split").value == split
    assert at.selectbox(key="dataset_class").value == "All"
    assert at.number_input(key="dataset_index").value is None
    assert "image" not in at.query_params  # the URL is corrected as well


def test_page_does_not_import_tensorflow():
    """In a fresh interpreter: run the page, then look at sys.modules."""
    script = textwrap.dedent(
        f"""
        import sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({APP!r}, default_timeout=60)
        at.switch_page({PAGE!r})
        at.query_params["image"] = "3"
        at.run()
        assert not at.exception, at.exception
        print(sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("value", ["²", "①", "9" * 5000])
def test_odd_numbers_in_the_link_open_the_default_view(value):
    """`/dataset?image=²` and `?cls=²` crashed the page: str.isdigit() accepts them."""
    at = open_dataset_page({"split": "test", "image": value, "cls": value})
    assert grid(at)[0] == list(range(25))
    assert at.number_input(key="dataset_index").value is None
