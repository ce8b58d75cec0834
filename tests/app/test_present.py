"""The Present page in AppTest with a real model (the session's trained run): the slideshow
steps forward and back, and a quiz round goes from start to score."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from classifier.data import CLASS_NAMES
from classifier.views import present as view
from tests.support.apptest import open_app_page


def open_present() -> AppTest:
    return open_app_page("pages/present.py")


def test_the_slideshow_steps_forward_and_back(store_with_run, dataset):
    app = open_present()
    first = app.header[0].value
    assert first.startswith((":blue[The model says", ":red[The model says"))
    app.button(key="present_next").click().run()
    assert app.session_state["present_position"] == 1 and app.header[0].value != first
    app.button(key="present_previous").click().run()
    app.button(key="present_previous").click().run()
    assert app.session_state["present_position"] == 9_999  # wraps around
    app.selectbox(key="present_show").set_value("class").run()
    app.selectbox(key="present_class").set_value("Bag").run()
    assert "test picture" in app.markdown[-1].value
    shown = int(app.markdown[-1].value.split("test picture ")[1].rstrip(")").replace(",", ""))
    assert CLASS_NAMES[dataset.test.labels[shown]] == "Bag"


def test_a_quiz_round_from_start_to_score(store_with_run, dataset):
    app = open_present()
    app.radio(key="present_mode").set_value("quiz").run()
    app.button(key="present_round_False").click().run()
    quiz = app.session_state["present_quiz"]
    for number in range(view.ROUND_SIZE):
        truth = int(dataset.test.labels[quiz.pictures[number]])
        app.button(key=f"present_pick_{truth}").click().run()  # the room is always right
        assert "You said" in app.subheader[1].value  # under the score, beside Next
        app.button(key="present_quiz_next").click().run()
    verdict = app.header[0].value
    assert "People: 10 of 10" in verdict and "83.5%" in verdict
    assert verdict.startswith(("The people beat the machine!", "A draw."))
