"""Replay on the Verify page in AppTest: the epoch slider, Play, the history filters, one
picture's history, the confusion matrix's changes, and runs recorded before there was a
history. On a real Tutorial MLP trained for 3 epochs on 3,000 images (tests/conftest.py,
replay_run), and on a copy of it without its history. (The logic on a hand-made history:
tests/unit/test_replay.py; in Chromium: tests/browser/test_replay.py.)
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from classifier.store.history import (
    HISTORY_FILE,
    correct_by_epoch,
    history_mask,
    learned_epoch,
    read_history,
)
from classifier.views.verify import Keys
from tests.support.apptest import chart_spec, decode, open_app_page


@pytest.fixture(scope="module")
def truth(replay_run, dataset):
    history = read_history(replay_run.root / replay_run.run_id / HISTORY_FILE)
    return history, correct_by_epoch(history, dataset.test.labels)


@pytest.fixture
def old_run_root(replay_run, tmp_path, monkeypatch):
    """The same run as if recorded before the app kept a history."""
    shutil.copytree(replay_run.root / replay_run.run_id, tmp_path / replay_run.run_id)
    (tmp_path / replay_run.run_id / HISTORY_FILE).unlink()
    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(tmp_path))
    return tmp_path


def open_verify(query: dict | None = None) -> AppTest:
    return open_app_page("pages/verify.py", query)


@pytest.fixture
def verify_page(replay_run, monkeypatch):
    """The Verify page in AppTest on the replay run's store."""
    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(replay_run.root))
    return open_verify()


def grid(at: AppTest) -> tuple[list[int], list[int]]:
    """The pictures in the grid, and those among them captioned in red (wrong)."""
    traces = {trace.get("name"): trace for trace in chart_spec(at, "verify_grid_")["data"]}
    wrong = traces["captions wrong"]["customdata"]
    return decode(traces["tiles"]["customdata"]).astype(int).tolist(), [int(i) for i in wrong]


def caption(at: AppTest) -> str:
    return next(md.value for md in at.markdown if md.value.startswith("Test accuracy"))


def test_the_epoch_slider_sets_what_the_page_shows(verify_page, truth, dataset):
    history, correct = truth
    at = verify_page
    slider = at.slider(key=Keys.EPOCH)
    assert (slider.value, slider.min, slider.max) == (3, 1, 3)
    assert f"**{correct[2].mean():.1%}** after epoch 3 of 3" in caption(at)
    assert "epoch" not in at.query_params

    for epoch in (1, 2):
        at.slider(key=Keys.EPOCH).set_value(epoch).run()
        assert not at.exception, at.exception
        assert f"**{correct[epoch - 1].mean():.1%}** after epoch {epoch} of 3" in caption(at)
        shown, red = grid(at)
        assert shown == list(range(15))
        assert red == [i for i in shown if not correct[epoch - 1, i]]
        assert at.query_params["epoch"] == str(epoch)
        # The single picture and the per-class chart follow the epoch too.
        bars = decode(chart_spec(at, "verify_bars")["data"][0]["y"])
        assert np.allclose(bars, history[epoch - 1, 0].astype(float), atol=1e-3)
        note = chart_spec(at, "verify_classes_")["layout"]["annotations"][0]["text"]
        assert note == f"all classes {correct[epoch - 1].mean():.1%}"
    # The confusion matrix tells how each cell changed since the epoch before.
    hover = chart_spec(at, "verify_confusion_")["data"][0]["hovertext"]
    assert all("since epoch 1" in text for text in hover)


@pytest.mark.parametrize("mode", ["learned_in", "learned_late", "forgotten", "never_learned"])
def test_each_history_filter_lists_exactly_its_pictures(verify_page, truth, mode):
    _, correct = truth
    at = verify_page
    at.slider(key=Keys.EPOCH).set_value(2).run()
    at.selectbox(key=Keys.MODE).set_value(mode).run()
    assert not at.exception, at.exception
    expected = np.flatnonzero(history_mask(correct, mode, 2))
    if mode == "learned_in":
        assert expected.tolist() == np.flatnonzero(learned_epoch(correct) == 2).tolist()
    assert f"leaves **{len(expected):,} of 10,000**" in caption(at)
    shown, _ = grid(at) if len(expected) else ([], [])
    assert shown == expected[:15].tolist()
    assert at.query_params["filter"] == mode


def test_a_picture_shows_its_history(verify_page, truth, dataset):
    history, correct = truth
    at = verify_page
    wrong_at_first = int(np.flatnonzero(~correct[0])[0])
    at.number_input(key=Keys.INDEX).set_value(wrong_at_first).run()
    figure = chart_spec(at, "verify_history_chart")
    true_line, wrong_line = figure["data"]
    label = int(dataset.test.labels[wrong_at_first])
    expected = history[:, wrong_at_first, label].astype(float)
    assert np.allclose(decode(true_line["y"]), expected, atol=1e-3)
    assert np.isfinite(decode(wrong_line["y"])[0])  # red at epoch 1, where it was wrong
    first = np.flatnonzero(correct[:, wrong_at_first])
    sentence = f"First right in epoch {first[0] + 1}" if len(first) else "Never right."
    assert any(md.value.startswith(f"**{sentence}") for md in at.markdown)


def tickers(at) -> list[str]:
    """The ids of the Play clocks on the page (one-shot browser timers, ui/widgets.py)."""
    return [
        node.proto.id
        for node in at.get("bidi_component")
        if node.proto.component_name == "studio_ticker"
    ]


def test_play_starts_from_the_first_epoch_and_winds_a_clock_for_each_epoch(verify_page):
    """The steps themselves come from the browser's clock: the Verify journey
    (tests/browser/test_journeys.py) watches Play reach the last epoch."""
    at = verify_page
    assert tickers(at) == []
    at.button(key=f"{Keys.EPOCH}_button").click().run()
    assert at.slider(key=Keys.EPOCH).value == 1
    assert at.button(key=f"{Keys.EPOCH}_button").label == "Stop"
    # One clock, named after the epoch shown: the next epoch mounts a new one.
    assert [name.rsplit("-", 1)[-1] for name in tickers(at)] == [f"{Keys.EPOCH}_tick_1"]
    # Stop, and moving the slider, end a replay: no clock is left.
    at.button(key=f"{Keys.EPOCH}_button").click().run()
    assert at.button(key=f"{Keys.EPOCH}_button").label == "Play" and tickers(at) == []
    at.button(key=f"{Keys.EPOCH}_button").click().run()
    at.slider(key=Keys.EPOCH).set_value(2).run()
    assert not at.session_state[f"{Keys.EPOCH}_playing"] and tickers(at) == []


def test_a_run_without_history_shows_a_note_and_works_as_before(old_run_root, replay_run):
    at = open_verify({"filter": "forgotten", "epoch": "2"})
    assert any("No replay" in text.value for text in at.caption)
    assert not [s for s in at.slider if s.key == Keys.EPOCH]
    assert at.selectbox(key=Keys.MODE).options == [
        "All images",
        "Only mistakes",
        "Only right answers",
    ]
    assert at.selectbox(key=Keys.MODE).value == "all"
    assert "after epoch" not in caption(at) and "**10,000 of 10,000**" in caption(at)
    assert not [c for c in at.get("plotly_chart") if "verify_history_chart" in c.proto.id]
    at.selectbox(key=Keys.MODE).set_value("mistakes").run()
    assert not at.exception
    assert "epoch" not in at.query_params
