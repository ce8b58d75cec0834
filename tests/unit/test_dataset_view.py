"""Unit tests of the Dataset page's logic and figures, on the real data, without Streamlit."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from classifier.data import CLASS_NAMES
from classifier.figures import dataset as figures
from classifier.figures import style
from classifier.views import dataset as dataset_view
from classifier.views import grid as grid_view
from classifier.views.dataset import ALL_CLASSES, DatasetView


@pytest.fixture(scope="module")
def train_stats(dataset):
    return dataset_view.compute_split_stats(dataset.train)


@pytest.fixture(scope="module")
def test_stats(dataset):
    return dataset_view.compute_split_stats(dataset.test)


# The view in the URL.


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, DatasetView("train", ALL_CLASSES, None)),
        ({"split": "test", "cls": "Shirt", "image": "42"}, DatasetView("test", "Shirt", 42)),
        ({"split": "TEST", "cls": "ankle boot"}, DatasetView("test", "Ankle boot", None)),
        ({"cls": "7"}, DatasetView("train", "Sneaker", None)),
        ({"cls": "T-shirt/top"}, DatasetView("train", "T-shirt/top", None)),
        ({"split": "validation", "cls": "Hat", "image": "abc"}, DatasetView()),
        ({"cls": "10", "image": "-1"}, DatasetView()),
        ({"image": "3.5"}, DatasetView()),
        ({"image": "59999"}, DatasetView("train", ALL_CLASSES, 59_999)),
        ({"image": "60000"}, DatasetView()),  # one past the end of train
        ({"split": "test", "image": "10000"}, DatasetView("test", ALL_CLASSES, None)),
        ({"split": ["test", "train"], "image": ["5", "6"]}, DatasetView("test", ALL_CLASSES, 5)),
        ({"split": "", "cls": "", "image": ""}, DatasetView()),
    ],
)
def test_parse_view_params_falls_back_to_defaults(params, expected):
    assert DatasetView.from_params(params) == expected


def test_view_params_round_trip():
    view = DatasetView("test", "Bag", 1234)
    params = view.to_params()
    assert params == {"split": "test", "cls": "Bag", "image": "1234"}
    assert DatasetView.from_params(params) == view
    assert DatasetView().to_params() == {
        "split": "train",
        "cls": None,
        "image": None,
    }


# Filtering and pagination.


def test_filter_indices_all_and_one_class(dataset):
    labels = dataset.test.labels
    everything = dataset_view.class_indices(labels, ALL_CLASSES)
    assert everything.tolist() == list(range(10_000))
    bags = dataset_view.class_indices(labels, "Bag")
    assert len(bags) == 1_000
    assert np.all(labels[bags] == CLASS_NAMES.index("Bag"))
    assert np.all(np.diff(bags) > 0)
    with pytest.raises(ValueError, match="Unknown class"):
        dataset_view.class_indices(labels, "Hat")


@pytest.mark.parametrize(
    ("items", "page_size", "pages"),
    [(0, 25, 1), (1, 25, 1), (25, 25, 1), (26, 25, 2), (60_000, 25, 2_400), (6_000, 7, 858)],
)
def test_page_count(items, page_size, pages):
    assert grid_view.page_count(items, page_size) == pages


def test_page_count_rejects_empty_pages():
    with pytest.raises(ValueError):
        grid_view.page_count(10, 0)


def test_page_items_edges():
    indices = np.arange(100, 160)  # 60 items, pages of 25: 25, 25, 10
    assert grid_view.page_items(indices, 1, 25).tolist() == list(range(100, 125))
    assert grid_view.page_items(indices, 3, 25).tolist() == list(range(150, 160))
    assert grid_view.page_items(indices, 99, 25).tolist() == list(range(150, 160))  # clamped
    assert grid_view.page_items(indices, 0, 25).tolist() == list(range(100, 125))
    assert grid_view.page_items(np.arange(0), 1, 25).tolist() == []


def test_clamp_page():
    assert grid_view.clamp_page(0, 5) == 1
    assert grid_view.clamp_page(6, 5) == 5
    assert grid_view.clamp_page(3, 5) == 3


def test_page_of_and_linked_page(dataset):
    indices = np.array([3, 8, 20, 41, 42, 90])
    assert grid_view.page_of(indices, 3, 2) == 1
    assert grid_view.page_of(indices, 41, 2) == 2
    assert grid_view.page_of(indices, 90, 2) == 3
    assert grid_view.page_of(indices, 4, 2) is None
    assert grid_view.page_of(indices, None, 2) is None
    labels = dataset.test.labels
    bags = dataset_view.class_indices(labels, "Bag")
    view = DatasetView("test", "Bag", int(bags[60]))
    assert dataset_view.linked_page(view, labels, 25) == 3  # the 61st bag is on page 3
    assert dataset_view.linked_page(DatasetView("test", "Bag", None), labels, 25) == 1
    not_a_bag = int(np.flatnonzero(labels != CLASS_NAMES.index("Bag"))[0])
    assert dataset_view.linked_page(DatasetView("test", "Bag", not_a_bag), labels, 25) == 1


def test_neighbour_respects_the_filter():
    indices = np.array([3, 8, 20])
    assert grid_view.neighbour(indices, 8, +1) == 20
    assert grid_view.neighbour(indices, 8, -1) == 3
    assert grid_view.neighbour(indices, 20, +1) is None
    assert grid_view.neighbour(indices, 3, -1) is None
    # An image outside the filter (opened from a link) still has neighbours in it.
    assert grid_view.neighbour(indices, 10, +1) == 20
    assert grid_view.neighbour(indices, 10, -1) == 8
    assert grid_view.neighbour(np.arange(0), 5, +1) is None


@pytest.mark.parametrize(
    ("selection", "index"),
    [
        ({"points": [{"curve_number": 1, "point_index": 3, "customdata": 1234}]}, 1234),
        ({"points": [{"customdata": [77]}]}, 77),
        ({"points": [{"customdata": 0}]}, 0),
        ({"points": [{"x": 1.0}, {"customdata": 5}]}, 5),
        ({"points": []}, None),
        ({}, None),
        (None, None),
    ],
)
def test_index_from_selection(selection, index):
    assert grid_view.index_from_selection(selection) == index


# Statistics.


def test_stats_sum_to_split_sizes(train_stats, test_stats):
    assert train_stats.image_count == 60_000
    assert test_stats.image_count == 10_000
    assert train_stats.class_counts.tolist() == [6_000] * 10
    assert train_stats.pixel_count == 60_000 * 28 * 28
    assert test_stats.intensity_counts.sum() == 10_000 * 28 * 28
    assert train_stats.intensity_counts.shape == (256,)


def test_mean_images_match_numpy(dataset, train_stats):
    assert train_stats.mean_images.shape == (10, 28, 28)
    assert train_stats.mean_images.dtype == np.float32
    trousers = dataset.train.images[dataset.train.labels == 1]
    np.testing.assert_allclose(train_stats.mean_images[1], trousers.mean(axis=0), rtol=1e-5)
    assert 0 <= train_stats.mean_images.min() and train_stats.mean_images.max() <= 255


def test_intensity_histogram_matches_bincount(dataset, test_stats):
    expected = np.bincount(dataset.test.images.ravel(), minlength=256)
    assert test_stats.intensity_counts.tolist() == expected.tolist()
    small = np.array([[0, 0, 255], [7, 7, 7]], dtype=np.uint8)
    counts = dataset_view.intensity_histogram(small, chunk_size=4)  # chunks of uneven size
    assert counts[0] == 2 and counts[7] == 3 and counts[255] == 1 and counts.sum() == 6


def test_stats_are_read_only_and_described(train_stats):
    with pytest.raises(ValueError):
        train_stats.mean_images[0, 0, 0] = 1.0
    assert 0.4 < train_stats.black_fraction < 0.6  # about half the pixels are background
    assert "every class has 6,000" in dataset_view.counts_note(train_stats)
    assert f"{train_stats.black_fraction:.0%}" in dataset_view.intensity_note(train_stats)


def test_texts_explain_the_dataset():
    for fact in ("Zalando", "28 x 28", "grayscale", "ten classes", "60,000", "10,000"):
        assert fact in dataset_view.INTRO
    assert "255" in dataset_view.SCALING_NOTE and "0-1" in dataset_view.SCALING_NOTE
    view = DatasetView("test", "Bag")
    caption = dataset_view.page_caption(view, 25, 50, 1_000)
    assert "class Bag 51-75 of 1,000 in the test split" in caption


def test_logic_does_not_import_streamlit_or_tensorflow():
    for module in (dataset_view, figures):
        with open(module.__file__, encoding="utf-8") as handle:
            source = handle.read()
        assert "import streamlit" not in source and "tensorflow" not in source


# Figures.


def trace(figure: go.Figure, name: str):
    return next(trace for trace in figure.data if trace.name == name)


def caption_texts(figure: go.Figure) -> list[str]:
    return list(trace(figure, "captions").text)


def mosaic_pixels(figure: go.Figure) -> np.ndarray:
    source = figure.data[0].source
    png = base64.b64decode(source.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def test_mosaic_has_one_clickable_point_per_tile(dataset):
    indices = np.arange(100, 112)
    captions = [CLASS_NAMES[label] for label in dataset.train.labels[indices]]
    figure = figures.image_mosaic_figure(
        dataset.train.images[indices], captions, indices, columns=5, highlight_index=105
    )
    image, scatter, texts = figure.data
    assert image.type == "image" and image.hoverinfo == "skip"
    assert scatter.type == "scatter" and scatter.hoverinfo != "skip"
    assert list(scatter.customdata) == indices.tolist()
    assert len(scatter.x) == len(scatter.y) == 12
    assert list(texts.text) == captions and texts.hoverinfo == "skip"
    # Each caption sits under its own tile.
    assert list(texts.x) == list(scatter.x)
    assert all(text_y > tile_y + 14 for text_y, tile_y in zip(texts.y, scatter.y, strict=True))
    assert len(figure.layout.shapes) == 1  # the frame around image 105
    # Three rows of five columns: tile centres on a regular grid, rows going down.
    assert len(set(scatter.x)) == 5 and len(set(scatter.y)) == 3
    assert scatter.y[0] < scatter.y[5] < scatter.y[10]


def test_mosaic_draws_each_image_inverted_at_its_tile(dataset):
    """The pixel under a tile's marker belongs to that tile's image (drawn as the tutorial's
    binary colour map: 255 - value), so a click on it reports the image that is shown there."""
    indices = np.array([0, 1, 2, 3])
    images = dataset.train.images[indices]
    figure = figures.image_mosaic_figure(images, ["a"] * 4, indices, columns=2)
    pixels = mosaic_pixels(figure)
    scatter = trace(figure, "tiles")
    for position, (x, y) in enumerate(zip(scatter.x, scatter.y, strict=True)):
        left, top = round(x + 0.5 - 14), round(y + 0.5 - 14)
        tile = pixels[top : top + 28, left : left + 28]
        np.testing.assert_array_equal(tile, 255 - images[position])


def test_mosaic_captions_do_not_overlap(dataset):
    """The caption font is chosen so the longest caption fits in its cell, at any grid width."""
    for columns, tile_px in ((5, 110), (10, 56)):
        indices = np.arange(columns)
        captions = ["T-shirt/top"] * columns
        figure = figures.image_mosaic_figure(
            dataset.train.images[indices], captions, indices, columns, tile_px=tile_px
        )
        font_size = trace(figure, "captions").textfont.size
        cell_px = figure.layout.width / columns
        estimated_width = len("T-shirt/top") * font_size * style.AVERAGE_CHAR_WIDTH
        assert estimated_width < cell_px
        assert font_size >= style.MIN_FONT_SIZE


def test_mosaic_caption_colors_and_lines(dataset):
    indices = np.arange(2)
    figure = figures.image_mosaic_figure(
        dataset.test.images[:2],
        ["Sneaker 98%<br>(Sneaker)", "Shirt 51%<br>(Coat)"],
        indices,
        columns=2,
        caption_colors=[style.RIGHT_COLOR, style.WRONG_COLOR],
    )
    colors = list(trace(figure, "captions").textfont.color)
    assert colors == [style.RIGHT_COLOR, style.WRONG_COLOR]
    one_line = figures.image_mosaic_figure(dataset.test.images[:2], ["a", "b"], indices, 2)
    assert figure.layout.height > one_line.layout.height  # room for the second line


def test_mosaic_rejects_mismatched_inputs(dataset):
    with pytest.raises(ValueError, match="one caption and one index per image"):
        figures.image_mosaic_figure(dataset.test.images[:3], ["a"], [0, 1, 2], columns=3)
    with pytest.raises(ValueError, match="caption colour"):
        figures.image_mosaic_figure(
            dataset.test.images[:2], ["a", "b"], [0, 1], 2, caption_colors=["red"]
        )


def test_mosaic_without_clicks_has_no_scatter(train_stats):
    figure = figures.mean_images_figure(train_stats.mean_images, CLASS_NAMES)
    assert [trace.name for trace in figure.data] == ["mosaic", "captions"]
    assert caption_texts(figure) == list(CLASS_NAMES)


@pytest.mark.parametrize(("scaled", "maximum"), [(False, 255), (True, 1.0)])
def test_pixel_heatmap_raw_and_scaled(dataset, scaled, maximum):
    image = dataset.train.images[0]
    figure = figures.pixel_heatmap_figure(image, scaled=scaled)
    heatmap = figure.data[0]
    assert heatmap.zmax == maximum and heatmap.zmin == 0
    z = np.asarray(heatmap.z, dtype=np.float64)
    assert z.shape == (28, 28)
    expected = image / 255.0 if scaled else image
    np.testing.assert_allclose(z, expected, rtol=1e-6)
    assert heatmap.colorbar.title.text == ("0-1" if scaled else "0-255")


def test_class_counts_and_histogram_figures(train_stats):
    counts = figures.class_counts_figure(train_stats.class_counts, CLASS_NAMES)
    assert list(counts.data[0].y) == list(CLASS_NAMES)
    assert list(counts.data[0].x) == [6_000] * 10
    histogram = figures.intensity_histogram_figure(train_stats.intensity_counts)
    assert len(histogram.data[0].y) == 256
    assert histogram.layout.yaxis.type == "log"
