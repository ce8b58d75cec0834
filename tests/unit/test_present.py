"""The Present page's logic (classifier/views/present.py): the slideshow's order and steps,
and the beat-the-machine quiz. (The page in AppTest: tests/app/test_present.py.)"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from classifier.data import CLASS_NAMES
from classifier.figures.grid import big_picture_uri
from classifier.views import present as view

# Five pictures: labels and what a model says (its most likely class and how sure).
LABELS = np.array([0, 1, 2, 3, 4])
PROBS = np.full((5, 10), 0.01)
for row, (cls, sure) in enumerate([(0, 0.9), (2, 0.55), (2, 0.95), (5, 0.8), (4, 0.5)]):
    PROBS[row, cls] = sure


def test_the_slideshow_steps_through_all_mistakes_or_one_class():
    assert view.slide_order(PROBS, LABELS, "all").tolist() == [0, 1, 2, 3, 4]
    assert view.slide_order(PROBS, LABELS, "mistakes").tolist() == [1, 3]
    assert view.slide_order(PROBS, LABELS, "confidently_wrong").tolist() == [3, 1]
    assert view.slide_order(PROBS, LABELS, "class", 2).tolist() == [2]
    assert [view.step(4, 5, 1), view.step(0, 5, -1), view.step(0, 0, 1)] == [0, 4, 0]
    # The Explore page's suspicious labels, most suspicious first (suspects.rank_suspects).
    from classifier.ml.label_ranking import rank_suspects

    suspicious = view.slide_order(PROBS, LABELS, "suspicious")
    assert suspicious.tolist() == rank_suspects(PROBS, LABELS).indices.tolist()


def test_a_slide_says_what_the_model_says_and_whether_it_is_right():
    text, right = view.slide_caption(PROBS[3], LABELS[3])
    assert right is False and text.startswith(f"The model says {CLASS_NAMES[5]}, 80% sure.")
    assert f"it is a {CLASS_NAMES[3]}" in text
    assert view.slide_caption(PROBS[0], 0)[1] is True


def test_a_quiz_round_scores_people_and_the_model():
    quiz = view.QuizRound(pictures=[0, 1, 3])
    quiz.answer(0)  # right; the model is right too
    quiz.answer(1)  # right; the model is wrong (said 2)
    assert quiz.score(PROBS, LABELS) == (2, 1, 2) and not quiz.over
    quiz.answer(9)  # wrong; the model is wrong too
    assert quiz.over and quiz.score(PROBS, LABELS) == (2, 1, 3)
    quiz.answer(3)  # after the end: ignored
    assert quiz.score(PROBS, LABELS) == (2, 1, 3)
    verdict = view.round_verdict(2, 1, 3, 0.873)
    assert verdict.startswith("The people beat the machine!") and "83.5%" in verdict
    assert "87.3%" in verdict


def test_a_hard_round_draws_mistakes_and_near_misses(dataset):
    probs = np.full((10_000, 10), 0.0)
    labels = dataset.test.labels
    probs[np.arange(10_000), labels] = 0.99  # right and sure, except:
    probs[:40] = 0.1  # forty pictures the model is unsure about (10%: nearly wrong)
    hard = view.new_round(probs, labels, hard=True, seed=1)
    assert len(hard.pictures) == view.ROUND_SIZE and max(hard.pictures) < 40
    easy = view.new_round(probs, labels, hard=False, seed=1)
    assert len(set(easy.pictures)) == view.ROUND_SIZE


def test_the_big_picture_is_sharp_dark_on_white():
    image = np.zeros((28, 28), dtype=np.uint8)
    image[3, 4] = 255
    uri = big_picture_uri(image, scale=4)
    assert uri.startswith("data:image/png;base64,")
    big = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    assert big.shape == (112, 112) and big[0, 0] == 255 and big[12:16, 16:20].max() == 0
