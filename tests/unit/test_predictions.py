"""Unit tests of the Verify page's logic and figures: a real model (1 epoch on 3,000 images),
the real test set, and small probability arrays made by hand where exact answers matter."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.data import CLASS_NAMES, scale_images
from classifier.figures import mistakes as mistake_figures
from classifier.figures import style
from classifier.figures import verify as vf
from classifier.ml import inference
from classifier.ml.images import MAX_UPLOAD_BYTES, ImageError
from classifier.store.runs import RunStore
from classifier.views import grid as grid_view
from classifier.views import verify as verify_view
from tests.support.runs import shirt_png

SHIRT, TSHIRT = CLASS_NAMES.index("Shirt"), CLASS_NAMES.index("T-shirt/top")


@pytest.fixture(scope="module")
def model(trained_run):
    return RunStore(trained_run.root).load_model(trained_run.run_id)


@pytest.fixture(scope="module")
def test_probs(model, dataset):
    return inference.probabilities(model, scale_images(dataset.test.images))


@pytest.fixture(scope="module")
def right_and_wrong(test_probs, dataset):
    """The first test image the model gets right, and the first it gets wrong."""
    correct = inference.predicted_classes(test_probs) == dataset.test.labels
    return int(np.flatnonzero(correct)[0]), int(np.flatnonzero(~correct)[0])


# --- Predictions on the real test set ------------------------------------------------------


def test_probabilities_are_distributions_and_match_the_recorded_accuracy(
    test_probs, dataset, trained_run
):
    assert test_probs.shape == (10_000, 10)
    assert test_probs.dtype == np.float32
    assert np.all(test_probs >= 0) and np.all(test_probs <= 1)
    np.testing.assert_allclose(test_probs.sum(axis=1), 1.0, atol=1e-5)
    # The Verify page must show the same accuracy as the run list (Keras' evaluate).
    recorded = RunStore(trained_run.root).get(trained_run.run_id).test_accuracy
    assert inference.accuracy(test_probs, dataset.test.labels) == pytest.approx(recorded, abs=1e-3)
    assert inference.accuracy(test_probs, dataset.test.labels) > 0.5  # it did learn something


def test_confusion_matrix_counts_every_test_image_once(test_probs, dataset):
    labels, predicted = dataset.test.labels, inference.predicted_classes(test_probs)
    matrix = inference.confusion_matrix(labels, predicted)
    assert matrix.shape == (10, 10)
    assert matrix.sum() == 10_000
    assert list(matrix.sum(axis=1)) == [1000] * 10  # the test set has 1,000 of each class
    # Counted by hand, cell by cell.
    for true in range(10):
        for guess in range(10):
            expected = sum(
                1 for t, p in zip(labels, predicted, strict=True) if (t, p) == (true, guess)
            )
            assert matrix[true, guess] == expected
    np.testing.assert_allclose(
        inference.per_class_accuracy(matrix), np.diag(matrix) / 1000.0, rtol=0, atol=1e-12
    )
    assert np.trace(matrix) / 10_000 == pytest.approx(inference.accuracy(test_probs, labels))


def test_confusion_matrix_of_a_hand_made_example():
    matrix = inference.confusion_matrix(
        np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3
    )
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    np.testing.assert_allclose(inference.per_class_accuracy(matrix), [0.5, 1.0, 2 / 3])
    with pytest.raises(ValueError):
        inference.confusion_matrix(np.array([0, 1]), np.array([0]))


# --- Colours: the tutorial's blue for right, red for wrong ---------------------------------


def test_a_right_prediction_has_a_blue_label_and_one_blue_bar(test_probs, dataset, right_and_wrong):
    index = right_and_wrong[0]
    label = int(dataset.test.labels[index])
    probs = test_probs[index]
    image = vf.prediction_image_figure(dataset.test.images[index], probs, label)
    title = image.layout.xaxis.title
    expected = f"{CLASS_NAMES[label]} {100 * probs.max():2.0f}% ({CLASS_NAMES[label]})"
    assert title.text == expected
    assert title.font.color == vf.RIGHT_COLOR

    colors = list(vf.value_bars_figure(probs, label).data[0].marker.color)
    assert colors.count(vf.RIGHT_COLOR) == 1 and colors[label] == vf.RIGHT_COLOR
    assert vf.WRONG_COLOR not in colors
    assert colors.count(vf.OTHER_COLOR) == 9


def test_a_wrong_prediction_has_a_red_label_a_red_guess_and_a_blue_truth(
    test_probs, dataset, right_and_wrong
):
    index = right_and_wrong[1]
    label, probs = int(dataset.test.labels[index]), test_probs[index]
    guess = int(probs.argmax())
    assert guess != label
    title = vf.prediction_image_figure(dataset.test.images[index], probs, label).layout.xaxis.title
    assert title.text.startswith(CLASS_NAMES[guess]) and title.text.endswith(
        f"({CLASS_NAMES[label]})"
    )
    assert title.font.color == vf.WRONG_COLOR

    colors = list(vf.value_bars_figure(probs, label).data[0].marker.color)
    assert colors[guess] == vf.WRONG_COLOR and colors[label] == vf.RIGHT_COLOR
    assert colors.count(vf.OTHER_COLOR) == 8


def test_bars_hover_shows_class_and_exact_probability(test_probs):
    bars = vf.value_bars_figure(test_probs[0], 9).data[0]
    assert list(bars.x) == list(CLASS_NAMES)
    np.testing.assert_allclose(bars.y, test_probs[0], rtol=1e-6)
    assert "%{x}" in bars.hovertemplate and "%{y:.6f}" in bars.hovertemplate


def test_grid_cells_follow_the_same_colour_rules(test_probs, dataset, right_and_wrong):
    indices = np.array(right_and_wrong)
    figure = vf.prediction_grid_figure(
        dataset.test.images[indices], test_probs[indices], dataset.test.labels[indices], indices, 2
    )
    traces = {trace.name: trace for trace in figure.data}
    # Clicking a picture reports its test-set index.
    assert list(traces["tiles"].customdata) == list(indices)
    assert list(traces["captions right"].customdata) == [indices[0]]
    assert traces["captions right"].textfont.color == vf.RIGHT_COLOR
    assert list(traces["captions wrong"].customdata) == [indices[1]]
    assert traces["captions wrong"].textfont.color == vf.WRONG_COLOR
    # Ten bars per cell, coloured through the colour scale.
    bars = traces["bars"]
    scale = dict((round(code * bars.marker.cmax), color) for code, color in bars.marker.colorscale)
    colors = [scale[code] for code in bars.marker.color]
    right_colors, wrong_colors = colors[:10], colors[10:]
    assert right_colors.count(vf.RIGHT_COLOR) == 1 and vf.WRONG_COLOR not in right_colors
    wrong_label = int(dataset.test.labels[indices[1]])
    assert wrong_colors[int(test_probs[indices[1]].argmax())] == vf.WRONG_COLOR
    assert wrong_colors[wrong_label] == vf.RIGHT_COLOR
    assert list(bars.customdata) == [indices[0]] * 10 + [indices[1]] * 10


def test_a_grid_of_doubtful_labels_draws_nothing_red(test_probs, dataset, right_and_wrong):
    """Suspicious labels: the label is in doubt, so the model is neither right nor wrong."""
    indices = np.array(right_and_wrong)
    figure = vf.prediction_grid_figure(
        dataset.test.images[indices],
        test_probs[indices],
        dataset.test.labels[indices],
        indices,
        2,
        doubtful_labels=True,
    )
    traces = {trace.name: trace for trace in figure.data}
    assert "captions wrong" not in traces and "captions right" not in traces
    assert traces["captions doubtful"].textfont.color == style.UNKNOWN_COLOR
    assert list(traces["captions doubtful"].customdata) == list(indices)
    bars = traces["bars"]
    scale = dict((round(code * bars.marker.cmax), color) for code, color in bars.marker.colorscale)
    colors = [scale[code] for code in bars.marker.color]
    assert vf.WRONG_COLOR not in colors and vf.RIGHT_COLOR not in colors
    assert colors.count(style.UNKNOWN_COLOR) == len(indices)  # the model's answer, each


def test_confusion_figure_squares_carry_true_and_predicted(test_probs, dataset):
    matrix = inference.confusion_matrix(
        dataset.test.labels, inference.predicted_classes(test_probs)
    )
    figure = mistake_figures.confusion_matrix_figure(matrix, selected=(SHIRT, TSHIRT))
    cells = figure.data[0]
    assert len(cells.customdata) == 100
    position = SHIRT * 10 + TSHIRT
    assert list(cells.customdata[position]) == [SHIRT, TSHIRT]
    assert (cells.x[position], cells.y[position]) == (TSHIRT, SHIRT)
    shown = {text for trace in figure.data[1:] for text in trace.text}
    assert f"{matrix[SHIRT, TSHIRT]:,}" in shown
    assert figure.layout.shapes[0].line.color == style.HIGHLIGHT_COLOR
    selection = {"points": [{"customdata": list(cells.customdata[position])}]}
    assert grid_view.cell_from_selection(selection) == (SHIRT, TSHIRT)


# --- Filters, order, pages -----------------------------------------------------------------

# Six images, three classes: (label, probabilities). Predicted: 0, 1, 2, 0, 1, 0.
HAND_PROBS = np.array(
    [
        [0.90, 0.05, 0.05],  # 0: true 0, right, 90%
        [0.20, 0.70, 0.10],  # 1: true 0, wrong (1), 70%
        [0.10, 0.30, 0.60],  # 2: true 2, right, 60%
        [0.95, 0.03, 0.02],  # 3: true 1, wrong (0), 95%
        [0.30, 0.40, 0.30],  # 4: true 1, right, 40%
        [0.50, 0.20, 0.30],  # 5: true 2, wrong (0), 50%
    ]
)
HAND_LABELS = np.array([0, 0, 2, 1, 1, 2])


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (verify_view.FilterSpec(), [0, 1, 2, 3, 4, 5]),
        (verify_view.FilterSpec(mode="mistakes"), [1, 3, 5]),
        (verify_view.FilterSpec(mode="correct"), [0, 2, 4]),
        (verify_view.FilterSpec(true_class=0), [0, 1]),
        (verify_view.FilterSpec(pred_class=0), [0, 3, 5]),
        (verify_view.FilterSpec(true_class=1, pred_class=0), [3]),
        (verify_view.FilterSpec(true_class=2, pred_class=1), []),
        (verify_view.FilterSpec(min_confidence=0.6, max_confidence=0.9), [0, 1, 2]),
        (verify_view.FilterSpec(mode="mistakes", max_confidence=0.7), [1, 5]),
    ],
)
def test_filters_keep_exactly_the_matching_images(spec, expected):
    assert verify_view.filter_indices(HAND_PROBS, HAND_LABELS, spec).tolist() == expected


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("index", [0, 1, 2, 3, 4, 5]),
        ("confidence", [3, 0, 1, 2, 5, 4]),
        ("least_confident", [4, 5, 2, 1, 0, 3]),
        ("confidently_wrong", [3, 1, 5, 0, 2, 4]),
    ],
)
def test_sort_orders(order, expected):
    shuffled = np.array([5, 2, 0, 4, 1, 3])
    assert verify_view.sort_indices(shuffled, HAND_PROBS, HAND_LABELS, order).tolist() == expected


def test_bad_filter_and_order_are_refused_with_a_message():
    with pytest.raises(ValueError, match="Unknown filter"):
        verify_view.filter_indices(HAND_PROBS, HAND_LABELS, verify_view.FilterSpec(mode="nope"))
    with pytest.raises(ValueError, match="confidence range"):
        verify_view.filter_indices(
            HAND_PROBS, HAND_LABELS, verify_view.FilterSpec(min_confidence=0.8, max_confidence=0.2)
        )
    with pytest.raises(ValueError, match="Unknown order"):
        verify_view.sort_indices(np.arange(6), HAND_PROBS, HAND_LABELS, "random")


def test_pages_and_neighbours_follow_the_grid_order():
    ordered = np.array([3, 1, 5, 0, 2, 4])
    assert grid_view.page_count(6, 4) == 2 and grid_view.page_count(0, 4) == 1
    assert grid_view.page_items(ordered, 2, 4).tolist() == [2, 4]
    assert grid_view.page_items(ordered, 99, 4).tolist() == [2, 4]  # clamped
    assert grid_view.page_of(ordered, 2, 4) == 2 and grid_view.page_of(ordered, 9, 4) is None
    assert grid_view.neighbour(ordered, 1, +1) == 5 and grid_view.neighbour(ordered, 1, -1) == 3
    assert (
        grid_view.neighbour(ordered, 3, -1) is None and grid_view.neighbour(ordered, 4, +1) is None
    )
    # A picture outside the grid steps to the nearest image numbers in it, so the buttons
    # lead back into the grid.
    assert (
        grid_view.neighbour(ordered[:3], 4, +1) == 5
        and grid_view.neighbour(ordered[:3], 4, -1) == 3
    )
    assert (
        grid_view.neighbour(ordered, 7, +1) is None
        and grid_view.neighbour(ordered[:2], 0, -1) is None
    )


def test_grid_caption_says_what_the_filter_leaves():
    spec = verify_view.FilterSpec(true_class=SHIRT, pred_class=TSHIRT)
    text = verify_view.filter_caption(spec, 132, 10_000, 0.861)
    assert "86.1%" in text and "132 of 10,000" in text
    assert "true Shirt" in text and "predicted T-shirt/top" in text


# --- Links ---------------------------------------------------------------------------------


def test_a_link_round_trips_and_invalid_params_fall_back():
    view = verify_view.VerifyView(
        "run-a", 42, verify_view.FilterSpec("mistakes", SHIRT, TSHIRT), "confidence"
    )
    params = view.to_params()
    assert params["true"] == "Shirt" and params["pred"] == "T-shirt/top"
    assert verify_view.VerifyView.from_params(params, ["run-a"]) == view
    broken = {"run": "gone", "image": "-3", "filter": "x", "true": "Hat", "pred": "99", "sort": "?"}
    assert verify_view.VerifyView.from_params(broken, ["run-a"]) == verify_view.VerifyView()
    assert verify_view.VerifyView.from_params({"image": "10000"}, []).image == 0
    assert verify_view.VerifyView.from_params(
        {"true": "6", "pred": "t-shirt/top"}, []
    ).spec == verify_view.FilterSpec(true_class=SHIRT, pred_class=TSHIRT)


def test_clicks_are_read_from_customdata():
    assert grid_view.index_from_selection({"points": [{"customdata": 17}]}) == 17
    assert grid_view.index_from_selection({"points": [{"customdata": [17]}]}) == 17
    assert grid_view.index_from_selection({"points": []}) is None
    assert grid_view.index_from_selection(None) is None
    assert grid_view.cell_from_selection({"points": [{"customdata": [6, 0]}]}) == (6, 0)
    assert grid_view.cell_from_selection({"points": [{"x": 1}]}) is None


# --- Saliency ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", list(inference.SALIENCY_METHODS))
def test_saliency_is_a_finite_map_in_0_1(model, dataset, method):
    image = scale_images(dataset.test.images[0])
    saliency = inference.saliency(model, image, method=method)
    assert saliency.shape == (28, 28) and saliency.dtype == np.float32
    assert np.all(np.isfinite(saliency))
    assert saliency.min() >= 0 and saliency.max() == pytest.approx(1.0)
    if method == "input_x_gradient":  # black background pixels cannot matter
        assert np.all(saliency[image == 0] == 0)
    figure = vf.saliency_figure(dataset.test.images[0], saliency)
    assert figure.data[1].zmin == 0 and figure.data[1].zmax == 1


# --- Your own picture ----------------------------------------------------------------------


def test_an_uploaded_photo_is_prepared_and_classified(model):
    result = inference.classify_upload(model, shirt_png())
    assert result.image.pixels.shape == (28, 28)
    assert result.image.inverted  # dark garment on white, negated like the dataset
    assert result.probabilities.shape == (10,)
    assert result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    figure = vf.prediction_image_figure(
        result.image.pixels, result.probabilities, None, "What the model sees"
    )
    assert figure.layout.xaxis.title.text.startswith(CLASS_NAMES[result.predicted])
    colors = list(vf.value_bars_figure(result.probabilities, None).data[0].marker.color)
    assert colors.count(vf.UNKNOWN_COLOR) == 1 and vf.WRONG_COLOR not in colors


def test_bad_uploads_raise_image_errors_with_a_message(model):
    with pytest.raises(ImageError, match="limit is 5 MB"):
        inference.classify_upload(model, shirt_png() + bytes(MAX_UPLOAD_BYTES))
    with pytest.raises(ImageError, match="not a picture"):
        inference.classify_upload(model, b"this is not an image")
    with pytest.raises(ImageError, match="No object"):
        inference.classify_upload(model, shirt_png(colour=255))
