"""The logic behind the Present page, in plain Python: which test pictures a slideshow steps
through, and the "beat the machine" quiz (rounds, scoring, what to say).

A number a presenter quotes: Fashion-MNIST's authors had people label test pictures and
measured 83.5% right.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from classifier.data import CLASS_NAMES
from classifier.views.text import with_article

HUMAN_ACCURACY = 0.835
ROUND_SIZE = 10
HARD_CONFIDENCE = 0.6  # a right answer below this confidence is "nearly wrong"
AUTOPLAY_SECONDS = (2, 3, 5, 8)
BAR_FONT_PX = 20  # chart labels of at least 18 px, readable from the back of a room
BARS_HEIGHT_PX = 440  # with the caption and the buttons, within a 1280 x 720 screen
QUIZ_BARS_PX = 380  # the quiz's answer has a line more above it
PICTURE_SCALE = 16  # 28 x 28 pixels drawn 448 x 448: sharp on a projector

# What the slideshow steps through, and the words for it.
SHOWS = {
    "all": "All test pictures",
    "mistakes": "Only the model's mistakes",
    "confidently_wrong": "Most confidently wrong first",
    "class": "One kind of clothing",
    "suspicious": "Pictures whose label may be wrong",
}


class Keys:
    """The page's session-state keys, named once."""

    RUN = "present_run"
    SHOW = "present_show"
    CLASS = "present_class"
    POSITION = "present_position"  # where the slideshow is in its order
    AUTOPLAY = "present_autoplay"
    SPEED = "present_speed"
    MODE = "present_mode"  # "slides" or "quiz"
    QUIZ = "present_quiz"  # the current QuizRound
    REVEAL = "present_reveal"  # the quiz shows the answer to the last picture
    ROUNDS = "present_rounds"  # rounds played this session: a new seed each
    SEED = "present_seed"  # this session's own first seed


QUIZ_INTRO = (
    "Ten test pictures, one at a time. For each, the room says what it is; then the "
    "model answers, and the truth is shown. Who gets more right: the room or the machine? "
    "A hard round picks pictures the model gets wrong or nearly wrong."
)


def slide_order(probs: np.ndarray, labels: np.ndarray, show: str, class_number: int = 0):
    """The test picture numbers a slideshow steps through, in order."""
    predicted = np.asarray(probs).argmax(axis=1)
    wrong = predicted != labels
    if show == "mistakes":
        return np.flatnonzero(wrong)
    if show == "confidently_wrong":
        mistakes = np.flatnonzero(wrong)
        confidence = np.asarray(probs)[mistakes, predicted[mistakes]]
        return mistakes[np.argsort(-confidence, kind="stable")]
    if show == "class":
        return np.flatnonzero(labels == class_number)
    if show == "suspicious":  # the Explore page's ranking, most suspicious first
        from classifier.ml.label_ranking import rank_suspects

        return rank_suspects(probs, labels).indices
    return np.arange(len(labels))


def step(position: int, count: int, delta: int) -> int:
    """The next (+1) or previous (-1) position, wrapping around, like a slideshow."""
    return (position + delta) % count if count else 0


def slide_caption(probabilities: np.ndarray, true_label: int) -> tuple[str, bool]:
    """'The model says Ankle boot, 99% sure. It is an Ankle boot.' and whether it is right."""
    predicted = int(np.argmax(probabilities))
    sure = float(np.max(probabilities))
    right = predicted == int(true_label)
    truth = "Right!" if right else f"Wrong: it is {with_article(CLASS_NAMES[int(true_label)])}."
    return f"The model says {CLASS_NAMES[predicted]}, {sure:.0%} sure. {truth}", right


# --- Beat the machine ------------------------------------------------------------------------


@dataclass
class QuizRound:
    """Ten pictures, what the people answered, and what the model answered."""

    pictures: list[int]
    hard: bool = False
    answers: dict[int, int] = field(default_factory=dict)  # position -> the people's class

    @property
    def position(self) -> int:
        """The picture being asked about (== len(pictures) when the round is over)."""
        return len(self.answers)

    @property
    def over(self) -> bool:
        return self.position >= len(self.pictures)

    def answer(self, class_number: int) -> None:
        if not self.over:
            self.answers[self.position] = int(class_number)

    def score(self, probs: np.ndarray, labels: np.ndarray) -> tuple[int, int, int]:
        """(people right, model right, pictures asked so far)."""
        asked = [self.pictures[position] for position in self.answers]
        people = sum(
            self.answers[position] == int(labels[self.pictures[position]])
            for position in self.answers
        )
        model = sum(int(np.argmax(probs[index])) == int(labels[index]) for index in asked)
        return int(people), int(model), len(asked)


def new_round(probs, labels, hard: bool, seed: int) -> QuizRound:
    """A round of ten random test pictures; a hard round draws from the pictures the model
    gets wrong or nearly wrong (right, but less than 60% sure)."""
    probs = np.asarray(probs)
    pool = np.arange(len(labels))
    if hard:
        predicted, confidence = probs.argmax(axis=1), probs.max(axis=1)
        pool = np.flatnonzero((predicted != labels) | (confidence < HARD_CONFIDENCE))
    generator = np.random.default_rng(seed)
    size = min(ROUND_SIZE, len(pool))
    return QuizRound([int(i) for i in generator.choice(pool, size, replace=False)], hard)


def round_verdict(people: int, model: int, asked: int, model_accuracy: float) -> str:
    """What the presenter reads out at the end of a round."""
    if people > model:
        winner = "The people beat the machine!"
    elif people < model:
        winner = "The machine wins this round."
    else:
        winner = "A draw."
    return (
        f"{winner} People: {people} of {asked}. Model: {model} of {asked}. For comparison, "
        f"people in the dataset's own test got {HUMAN_ACCURACY:.1%} right, and this model gets "
        f"{model_accuracy:.1%} of all 10,000 test pictures right."
    )
