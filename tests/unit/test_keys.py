"""The presenter's keys: press counts from the browser become exact steps."""

from __future__ import annotations

from ui.keys import moves_since


def test_five_quick_presses_are_five_steps():
    steps, seen = moves_since(None, {"next": 5, "previous": 0})
    assert steps == 5
    assert moves_since(seen, {"next": 5, "previous": 0})[0] == 0  # a rerun moves nothing


def test_back_and_forth_count_both_ways():
    steps, seen = moves_since({"next": 5, "previous": 0}, {"next": 6, "previous": 3})
    assert steps == -2 and seen == {"next": 6, "previous": 3}


def test_a_remounted_handler_does_not_jump():
    seen = {"next": 7, "previous": 2}
    assert moves_since(seen, None) == (0, seen)  # the handler's default after a mode change
    assert moves_since(seen, {"next": 8, "previous": 2})[0] == 1


def test_forged_counts_move_nothing():
    seen = {"next": 1, "previous": 0}
    for forged in (
        {"next": "9"},
        {"next": True, "previous": 0},
        {"next": 10**12, "previous": 0},
        [],
    ):
        assert moves_since(seen, forged) == (0, seen)


def test_a_new_page_starts_counting_again():
    assert moves_since({"next": 40, "previous": 3}, {"next": 1, "previous": 0}) == (
        0,
        {"next": 1, "previous": 0},
    )
