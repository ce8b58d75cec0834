"""Suspicious labels with cleanlab (classifier/ml/label_ranking.py), the count and the
words that go with them (classifier/views/explore.py), and CSV exports a spreadsheet cannot
run (classifier/store/reviews.py): on hand-made probabilities, no model."""

from __future__ import annotations

import csv
import io
import time

import numpy as np
import pytest

from classifier.data import CLASS_NAMES
from classifier.ml import label_ranking
from classifier.ml.label_ranking import rank_suspects
from classifier.store import reviews as label_reviews
from classifier.views import explore as view

# Four classes, 50 pictures each, and a model that is 85% sure of each picture's true class.
# Four labels are flipped (picture: given label, the model's probability of it); some right
# labels the model is unsure of, and one it doubts only weakly, must not be flagged.
FLIPS = {30: (1, 0.02), 5: (3, 0.05), 150: (0, 0.08), 101: (2, 0.11)}


def hand_made():
    count, classes = 200, 4
    true = np.arange(count) % classes
    probs = np.full((count, classes), 0.05)
    probs[np.arange(count), true] = 0.85
    labels = true.copy()
    for picture, (given, probability) in FLIPS.items():
        labels[picture] = given
        probs[picture] = (1 - 0.85 - probability) / (classes - 2)
        probs[picture, true[picture]] = 0.85
        probs[picture, given] = probability
    probs[60] = [0.45, 0.40, 0.10, 0.05]  # labelled 0: right, unsure
    probs[61] = [0.40, 0.45, 0.10, 0.05]  # labelled 1: right, unsure
    probs[64] = [0.35, 0.25, 0.30, 0.10]  # labelled 0: right, very unsure
    probs[65] = [0.50, 0.40, 0.05, 0.05]  # labelled 1: the model says 0, but not confidently
    return probs, labels, true


def test_cleanlab_flags_exactly_the_flipped_labels_most_doubtful_first():
    probs, labels, true = hand_made()
    ranking = rank_suspects(probs, labels)
    assert ranking.ranked_by == label_ranking.RANKED_BY == "self_confidence"
    # Ranked by the probability of the given label, lowest first.
    assert ranking.indices.tolist() == [30, 5, 150, 101]
    assert ranking.estimate == len(ranking) == 4
    assert ranking.labels.tolist() == [FLIPS[i][0] for i in (30, 5, 150, 101)]
    assert ranking.suggested.tolist() == true[[30, 5, 150, 101]].tolist()  # the right class
    np.testing.assert_allclose(ranking.scores, [0.02, 0.05, 0.08, 0.11], rtol=1e-5)
    assert ranking.pictures == 200
    assert ranking.accuracy == pytest.approx(195 / 200)  # the flips and picture 65
    assert ranking.position(150) == 2 and ranking.position(65) is None
    assert ranking.rows(top=1) == [
        {
            "rank": 1,
            "index": 30,
            "label": CLASS_NAMES[1],
            "suggested": CLASS_NAMES[2],
            "score": 0.02,
            "label_number": 1,
            "suggested_number": 2,
        }
    ]
    assert len(ranking.rows()) == 4 and ranking.rows(top=10) == ranking.rows()
    assert [row["index"] for row in ranking.rows(offset=1000)] == [1030, 1005, 1150, 1101]


def test_the_normalized_margin_ranks_the_same_flagged_set():
    probs, labels, _ = hand_made()
    margin = rank_suspects(probs, labels, "normalized_margin")
    assert set(margin.indices.tolist()) == set(FLIPS)
    assert (np.diff(margin.scores) >= 0).all()
    with pytest.raises(ValueError):
        rank_suspects(probs, labels, "loudest")


def test_nothing_to_flag():
    clean = np.eye(3)[[0, 1, 2, 0, 1, 2]] * 0.9 + 0.1 / 3
    ranking = rank_suspects(clean, np.array([0, 1, 2, 0, 1, 2]))
    assert len(ranking) == 0 and ranking.rows() == [] and ranking.accuracy == 1.0
    one_class = rank_suspects(np.array([[0.2, 0.1, 0.7], [0.9, 0.05, 0.05]]), np.array([0, 0]))
    assert len(one_class) == 0 and one_class.pictures == 2
    assert len(rank_suspects(np.zeros((0, 10)), np.zeros(0, dtype=int))) == 0
    with pytest.raises(ValueError):
        rank_suspects(np.zeros((3, 10)), np.zeros(2, dtype=int))


def test_sixty_thousand_pictures_are_ranked_fast():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 60_000)
    logits = rng.normal(0, 1, (60_000, 10))
    logits[np.arange(60_000), labels] += 4
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    rank_suspects(probs[:1000], labels[:1000])  # cleanlab's first import
    start = time.perf_counter()
    ranking = rank_suspects(probs.astype(np.float32), labels)
    assert time.perf_counter() - start < 2  # about 0.1 s here
    assert 0 < len(ranking) < 6000


# --- The words ---------------------------------------------------------------------------------


def test_the_count_sentence_says_about_how_many_and_how_good_the_model_is():
    probs, labels, _ = hand_made()
    ranking = rank_suspects(probs, labels)
    assert view.count_sentence(ranking, "test") == (
        "cleanlab estimates that about 4 of the 200 test labels may be wrong (model accuracy "
        "97.5%: a weaker model finds more); here they are, most doubtful first."
    )
    assert "of the 200 training labels" in view.count_sentence(ranking, "train")
    caption = view.suspect_caption(ranking, "test", 1234)
    assert caption.startswith("cleanlab estimates") and caption.endswith("You have reviewed 1,234.")
    clean = np.eye(2)[[0, 1]] * 0.9 + 0.05
    none = view.count_sentence(rank_suspects(clean, np.array([0, 1])), "test")
    assert none.startswith("cleanlab finds no label among the 2 test pictures")
    assert "model accuracy 100.0%" in none


def test_a_suspect_reads_as_a_doubt_about_the_label():
    probs = np.full(10, 0.001)
    probs[CLASS_NAMES.index("Sneaker")] = 0.985
    probs[CLASS_NAMES.index("Bag")] = 0.006
    bag = CLASS_NAMES.index("Bag")
    assert view.suggested_label(bag, probs) == CLASS_NAMES.index("Sneaker")
    assert view.suspect_sentence(bag, probs) == (
        "The label says Bag. The model is 98% sure it is a Sneaker. The label may be wrong."
    )
    probs[CLASS_NAMES.index("Sneaker")] = 0.995
    assert "The model is over 99% sure it is a Sneaker." in view.suspect_sentence(bag, probs)


# --- CSV a spreadsheet shows as text -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Sneaker", "Sneaker"),
        ("T-shirt/top", "T-shirt/top"),
        ("", ""),
        (-3, -3),
        (0.25, 0.25),
    ],
)
def test_a_cell_that_starts_like_a_formula_is_neutralised(value, shown):
    assert label_reviews.safe_cell(value) == shown


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_reviews_csv_neutralises_formulas(tmp_path):
    reviews = {
        "test:7": {"split": "test", "index": 7, "given": 2, "decision": "wrong", "label": 4},
        "=cmd:1": {"split": "=cmd|' /C calc'!A0", "index": 1, "given": 1, "decision": "right",
                   "label": 1, "time": "@now"},
    }  # fmt: skip
    rows = parse(label_reviews.reviews_csv(reviews))
    assert rows[0] == ["split", "picture", "given_label", "decision", "right_label", "reviewed_at"]
    assert all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row
    )
    assert ["test", "7", "Pullover", "wrong", "Coat", ""] in rows


def test_the_suspects_csv_lists_the_flagged_set_and_neutralises_formulas():
    probs, labels, _ = hand_made()
    rows = rank_suspects(probs, labels).rows()
    table = parse(label_reviews.suspects_csv("test", rows))
    assert table[0] == ["rank", "split", "picture", "given_label", "suggested_label", "score"]
    assert table[1] == ["1", "test", "30", "Trouser", "Pullover", "0.02"]
    assert [row[2] for row in table[1:]] == ["30", "5", "150", "101"]
    hostile = [{**rows[0], "label": "=1+1", "suggested": "-1"}]
    assert parse(label_reviews.suspects_csv("@x", hostile))[1][1:5] == ["'@x", "30", "'=1+1", "'-1"]
