"""The view logic that the Dataset and Verify pages share, and the Verify page's state logic:
links, pages, neighbours, clicks (no server, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.data import CLASS_NAMES
from classifier.figures.grid import fit_captions
from classifier.figures.style import AVERAGE_CHAR_WIDTH, MIN_FONT_SIZE
from classifier.views import grid as grid_view
from classifier.views import verify as verify_view
from classifier.views.dataset import DatasetView
from classifier.views.verify import Keys, VerifyView

# Each passes str.isdigit() but int() refuses it, or it is far too long for int().
ODD_NUMBERS = ["²", "①", "٣", "1²", "9" * 5000, " ", "", "-1", "3.5", "0x10", "1e3"]


@pytest.mark.parametrize("text", ODD_NUMBERS)
def test_odd_numbers_in_links_are_no_picture_and_no_class(text):
    assert grid_view.parse_index(text, 60_000) is None
    assert grid_view.parse_class(text) is None


def test_numbers_and_names_in_links_are_read():
    assert grid_view.parse_index(" 42 ", 60_000) == 42
    assert grid_view.parse_index("60000", 60_000) is None  # one past the end
    assert grid_view.parse_class("shirt") == CLASS_NAMES.index("Shirt")
    assert grid_view.parse_class("9") == 9 and grid_view.parse_class("10") is None
    assert grid_view.first_param(["7", "8"]) == "7" and grid_view.first_param([]) == ""


@pytest.mark.parametrize("text", ODD_NUMBERS)
def test_odd_link_values_open_the_default_views(text):
    """/dataset?image=²&cls=² and /verify?image=²&true=²&pred=① crashed both pages."""
    dataset = DatasetView.from_params({"split": "test", "image": text, "cls": text})
    assert dataset == DatasetView("test")
    params = {"image": text, "true": text, "pred": text, "filter": text, "sort": text}
    assert VerifyView.from_params(params, ["run-a"]) == VerifyView()


def test_neighbours_follow_the_order_and_lead_back_into_it():
    ordered = np.array([30, 10, 50])  # a sorted grid: not in number order
    assert grid_view.neighbour(ordered, 10, +1) == 50 and grid_view.neighbour(ordered, 10, -1) == 30
    assert (
        grid_view.neighbour(ordered, 30, -1) is None and grid_view.neighbour(ordered, 50, 1) is None
    )
    # Outside the grid: the nearest image numbers in it.
    assert grid_view.neighbour(ordered, 20, +1) == 30 and grid_view.neighbour(ordered, 20, -1) == 10
    assert grid_view.neighbour(np.array([], dtype=np.int64), 5, +1) is None


def test_clicks_carry_an_index_or_a_cell_and_odd_selections_carry_nothing():
    assert grid_view.index_from_selection({"points": [{"customdata": 7}]}) == 7
    assert grid_view.index_from_selection({"points": [{"customdata": [8, 1]}]}) == 8
    assert grid_view.cell_from_selection({"points": [{"customdata": [6, 0]}]}) == (6, 0)
    for odd in (None, {}, {"points": []}, {"points": [{"x": 1}]}):
        assert grid_view.index_from_selection(odd) is None
        assert grid_view.cell_from_selection(odd) is None


def test_captions_fit_their_cells_and_break_before_the_true_class():
    texts, size, lines = fit_captions(["Ankle boot 99% (Ankle boot)"] * 3, 400)
    assert lines == 1 and size * AVERAGE_CHAR_WIDTH * len(texts[0]) < 400
    texts, size, lines = fit_captions(["Ankle boot 99% (Ankle boot)"], 90)
    assert lines == 2 and texts == ["Ankle boot 99%<br>(Ankle boot)"] and size >= MIN_FONT_SIZE


def fresh_state(**extra) -> dict:
    state: dict = {}
    verify_view.restore_state(state, {}, ["run-a", "run-b"])
    state.update(extra)
    return state


def test_a_link_sets_the_state_and_a_gone_run_falls_back_to_the_first():
    state: dict = {}
    verify_view.restore_state(
        state, {"run": "run-b", "image": "12", "filter": "mistakes"}, ["run-a", "run-b"]
    )
    assert (state[Keys.RUN], state[Keys.INDEX], state[Keys.MODE]) == ("run-b", 12, "mistakes")
    state[Keys.RUN] = "deleted"
    verify_view.restore_state(state, {}, ["run-a"])
    assert state[Keys.RUN] == "run-a"


def test_a_grid_click_shows_the_picture_and_renews_the_chart():
    state = fresh_state()
    verify_view.apply_click(state, "grid", {"points": [{"customdata": 42}]})
    assert state[Keys.INDEX] == 42 and state[Keys.GRID_NONCE] == 1
    verify_view.apply_click(state, "grid", {"points": []})  # a deselect changes nothing
    assert state[Keys.INDEX] == 42 and state[Keys.GRID_NONCE] == 1


def test_a_matrix_click_lists_that_pair_from_the_first_picture():
    state = fresh_state(**{Keys.CONFIDENCE: (50, 90), Keys.MODE: "mistakes", Keys.PAGE: 7})
    verify_view.apply_click(state, "matrix", {"points": [{"customdata": [6, 0]}]})
    assert (state[Keys.TRUE], state[Keys.PRED]) == ("Shirt", "T-shirt/top")
    assert state[Keys.MODE] == "all" and state[Keys.PAGE] == 1 and Keys.CONFIDENCE not in state
    assert verify_view.shown_index(state, np.array([17, 3])) == 17
    assert verify_view.shown_index(state, np.array([3, 17])) == 17  # only once
    verify_view.apply_click(state, "classes", {"points": [{"customdata": 2}]})
    assert (state[Keys.TRUE], state[Keys.PRED]) == ("Pullover", verify_view.ANY_CLASS)
