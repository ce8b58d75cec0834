"""No plotly tool bar on any chart: on a projector it pops up over a chart at every move of
the mouse (zoom, pan, "download as png"), words and icons the room does not need."""

from __future__ import annotations

import json

import pytest

from tests.support.apptest import open_app_page


def toolbars(app) -> list[str]:
    """The keys of the charts on the page that would show plotly's tool bar."""
    shown = []
    for element in app.get("plotly_chart"):
        config = json.loads(element.proto.config or "{}")
        if config.get("displayModeBar") is not False:
            shown.append(element.proto.id.rsplit("-", 1)[-1])
    return shown


def test_the_dataset_page_draws_no_chart_tool_bar(runs_root, dataset):
    app = open_app_page("pages/dataset.py", {"cls": "Bag", "image": "3"})
    assert not app.exception
    assert len(app.get("plotly_chart")) >= 4
    assert toolbars(app) == []


@pytest.mark.parametrize("page", ["pages/train.py", "pages/verify.py", "pages/present.py"])
def test_the_pages_of_a_trained_run_draw_no_chart_tool_bar(trained_run, monkeypatch, page):
    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(trained_run.root))
    app = open_app_page(page, {"run": trained_run.run_id})
    assert not app.exception, app.exception
    assert app.get("plotly_chart"), "no chart drawn: nothing was checked"
    assert toolbars(app) == []
