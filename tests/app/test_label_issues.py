"""Suspicious labels in AppTest: Explore says cleanlab's count honestly, and a suspect reads
as a doubt about its label (not in red), with review buttons for the presenter, in Explore
and in Present's "Pictures whose label may be wrong"."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from classifier.auth import ENV_PASSWORD_HASH, hash_password
from classifier.data import CLASS_NAMES
from classifier.figures.style import UNKNOWN_COLOR
from classifier.ml.label_ranking import rank_suspects
from classifier.store import reviews as label_reviews
from classifier.store.history import HISTORY_FILE, read_history
from classifier.views import explore as view
from tests.support.apptest import open_app_page

COUNT = re.compile(
    r"cleanlab estimates that about ([\d,]+) of the 10,000 test labels may be wrong "
    r"\(model accuracy (\d+\.\d)%: a weaker model finds more\); here they are, most "
    r"doubtful first\. You have reviewed 0\."
)


@pytest.fixture
def store(trained_run, tmp_path, monkeypatch):
    """A copy of the session's trained run in a store of this test's own (reviews are
    written there): (root, run id)."""
    root = tmp_path / "runs"
    shutil.copytree(trained_run.root / trained_run.run_id, root / trained_run.run_id)
    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(root))
    monkeypatch.delenv(ENV_PASSWORD_HASH, raising=False)  # everyone is the presenter
    return root, trained_run.run_id


@pytest.fixture
def ranking(store, dataset):
    """What the pages should show, computed here: cleanlab on the run's recorded last epoch
    (what the pages use for a completed run); and those probabilities."""
    root, run_id = store
    probs = read_history(root / run_id / HISTORY_FILE)[-1].astype(np.float32)
    return rank_suspects(probs, dataset.test.labels), probs


def test_explore_says_cleanlabs_count_and_a_suspect_in_plain_words(store, ranking, dataset):
    expected, probs = ranking
    at = open_app_page("pages/explore.py", session={"explore_part": "suspects"})
    counts = [COUNT.fullmatch(e.value) for e in at.markdown if COUNT.fullmatch(e.value)]
    assert len(counts) == 1, [e.value for e in at.markdown]
    assert int(counts[0].group(1).replace(",", "")) == len(expected) > 0
    assert float(counts[0].group(2)) == pytest.approx(100 * expected.accuracy, abs=0.05)
    first = at.session_state["explore_suspect"]
    assert first == int(expected.indices[0])  # the most doubtful first
    given, suggested = int(dataset.test.labels[first]), int(expected.suggested[0])
    sentence = (
        f"The label says {CLASS_NAMES[given]}. The model is "
        f"{view.percent(probs[first, suggested])} sure it is a {CLASS_NAMES[suggested]}. "
        "The label may be wrong."
    )
    assert sentence in [e.value for e in at.markdown]
    assert not any(":red[" in e.value for e in at.markdown)
    assert at.button(key="explore_wrong").label == f"The label is wrong: {CLASS_NAMES[suggested]}"
    assert {"Download the suspects (CSV)", "Download the reviews (CSV)"} <= {
        button.label for button in at.get("download_button")
    }


def present_suspects():
    return open_app_page("pages/present.py", session={"present_show": "suspicious"})


def test_present_shows_a_suspect_as_a_doubt_not_in_red_and_the_presenter_reviews_it(
    store, ranking, dataset
):
    root, _ = store
    expected, probs = ranking
    at = present_suspects()
    first = int(expected.indices[0])
    given, suggested = int(dataset.test.labels[first]), int(expected.suggested[0])
    header = at.header[0].value
    assert header == (
        f':color[{view.suspect_sentence(given, probs[first])}]{{foreground="{UNKNOWN_COLOR}"}}'
    )
    assert f"The label says {CLASS_NAMES[given]}." in header
    assert "Wrong" not in header and ":red[" not in header
    assert any(f"(test picture {first:,})" in e.value for e in at.markdown)
    assert at.button(key="present_right").label == "The label is right"
    wrong = at.button(key="present_wrong")
    assert wrong.label == f"The label is wrong: {CLASS_NAMES[suggested]}"
    wrong.click().run()
    assert not at.exception, at.exception
    review = label_reviews.read_reviews(root)[f"test:{first}"]
    assert (review["decision"], review["given"], review["label"]) == ("wrong", given, suggested)
    second = int(expected.indices[1])  # on to the next suspect
    assert any(f"(test picture {second:,})" in e.value for e in at.markdown)
    at.button(key="present_previous").click().run()
    assert any("You said: the label is wrong" in e.value for e in at.caption)


def test_a_viewer_sees_the_doubt_but_no_review_buttons(store, monkeypatch):
    monkeypatch.setenv(ENV_PASSWORD_HASH, hash_password("a long presenter password"))
    at = present_suspects()
    assert "The label may be wrong." in at.header[0].value
    assert not {"present_right", "present_wrong"} & {button.key for button in at.button}
