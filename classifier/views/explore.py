"""The logic behind the Explore page, in plain Python: its session-state keys, what a
selection on the map or a click on the table means, what the grids list, the link, and the
page's texts. The numbers come from features.py, suspects.py and model_compare.py.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from classifier.data import CLASS_NAMES, SPLIT_SIZES
from classifier.ml.compare import CELL_WORDS, CELLS, Comparison, better_words
from classifier.ml.label_ranking import Ranking
from classifier.store.reviews import RIGHT, WRONG
from classifier.views.grid import first_param, index_from_selection, parse_index
from classifier.views.text import with_article

PARTS = {
    "map": "Map",
    "suspects": "Suspicious labels",
    "compare": "Two models",
}
METHODS = {"pca": "PCA", "tsne": "t-SNE"}
COLOURS = {"true": "True class", "predicted": "Predicted class", "right": "Right or wrong"}
DRAGS = {"select": "Box", "lasso": "Lasso", "zoom": "Zoom"}
SPLITS = {"test": "Test pictures", "train": "Training pictures"}
ANSWERS = {"b": "Model B's answers", "a": "Model A's answers"}
FOLD_CHOICES = (2, 3, 4, 5)


class Keys:
    """The page's session-state keys, named once."""

    RUN = "explore_run"
    PART = "explore_part"
    METHOD = "explore_method"
    COLOUR = "explore_colour"
    DRAG = "explore_drag"
    INDEX = "explore_index"  # the test picture shown beside the map
    REGION = "explore_region"  # the pictures of the box or lasso drawn on the map
    REGION_DRAWN = "explore_region_drawn"  # a box or lasso just drawn: go to its list
    REGION_PAGE = "explore_region_page"
    GRID_NONCE = "explore_grid_nonce"
    SPLIT = "explore_split"
    SUSPECT = "explore_suspect"  # the suspect under review (a picture number of SPLIT)
    SUSPECT_PAGE = "explore_suspect_page"
    SUSPECT_NONCE = "explore_suspect_nonce"
    CV_PRESET = "explore_cv_preset"
    CV_FOLDS = "explore_cv_folds"
    CV_ERROR = "explore_cv_error"
    TRUE_LABEL = "explore_true_label"  # "it is a ..." of the review
    RUN_A = "explore_run_a"
    RUN_B = "explore_run_b"
    CELL = "explore_cell"
    ANSWERS = "explore_answers"
    CELL_PAGE = "explore_cell_page"
    CELL_NONCE = "explore_cell_nonce"
    TABLE_NONCE = "explore_table_nonce"


# The click counter of each grid's chart, by the picture a click on it shows.
NONCES = {"explore_index": "explore_grid_nonce", "explore_suspect": "explore_suspect_nonce"}

DEFAULTS = {
    Keys.PART: "map",
    Keys.METHOD: "pca",
    Keys.COLOUR: "true",
    Keys.DRAG: "select",
    Keys.INDEX: 0,
    Keys.REGION: [],
    Keys.REGION_PAGE: 1,
    Keys.GRID_NONCE: 0,
    Keys.SPLIT: "test",
    Keys.SUSPECT_PAGE: 1,
    Keys.SUSPECT_NONCE: 0,
    Keys.CV_FOLDS: 4,
    Keys.CELL: "both_wrong",
    Keys.ANSWERS: "b",
    Keys.CELL_PAGE: 1,
    Keys.CELL_NONCE: 0,
    Keys.TABLE_NONCE: 0,
}

# The URL: ?part=map&run=...&image=42
PART_PARAM, RUN_PARAM, IMAGE_PARAM = "part", "run", "image"


def fill_state(state: MutableMapping, params: Mapping[str, Any], run_ids: list[str]) -> None:
    """Fill the page's state for a script run: from the link on the first run of a session,
    then the defaults; a run that is gone becomes the first."""
    if Keys.PART not in state:
        part = first_param(params.get(PART_PARAM)).lower()
        if part in PARTS:
            state[Keys.PART] = part
        run = first_param(params.get(RUN_PARAM))
        if run in run_ids:
            state[Keys.RUN] = run
        image = parse_index(first_param(params.get(IMAGE_PARAM)), SPLIT_SIZES["test"])
        if image is not None:
            state[Keys.INDEX] = image
    for key, value in DEFAULTS.items():
        state.setdefault(key, value)
    if state.get(Keys.PART) not in PARTS:
        state[Keys.PART] = "map"
    if state.get(Keys.RUN) not in run_ids:
        state[Keys.RUN] = run_ids[0]
    for key in (Keys.RUN_A, Keys.RUN_B):
        if state.get(key) not in run_ids:
            state.pop(key, None)
    state.setdefault(Keys.RUN_A, state[Keys.RUN])
    others = [run for run in run_ids if run != state[Keys.RUN_A]]
    state.setdefault(Keys.RUN_B, others[0] if others else state[Keys.RUN_A])


def link_params(state: Mapping) -> dict[str, str | None]:
    part = state.get(Keys.PART, "map")
    return {
        PART_PARAM: None if part == "map" else part,
        RUN_PARAM: state.get(Keys.RUN),
        IMAGE_PARAM: str(state.get(Keys.INDEX, 0)) if part == "map" else None,
    }


# --- The map ---------------------------------------------------------------------------------


def selected_pictures(selection: Mapping[str, Any] | None) -> list[int]:
    """The picture numbers (customdata) of every selected point, each once, in order."""
    numbers = []
    for point in (selection or {}).get("points") or []:
        value = point.get("customdata")
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            continue
        if 0 <= number < SPLIT_SIZES["test"]:
            numbers.append(number)
    return list(dict.fromkeys(numbers))


def is_region(selection: Mapping[str, Any] | None) -> bool:
    """Whether a selection is a box or a lasso (not a click on one point)."""
    selection = selection or {}
    return bool(selection.get("box") or selection.get("lasso"))


def apply_map_selection(state: MutableMapping, selection: Mapping[str, Any] | None) -> None:
    """A click on a point shows that picture; a box or a lasso lists its pictures in the
    grid (from page 1) and the page goes to that list; clearing the selection empties the
    grid."""
    pictures = selected_pictures(selection)
    if is_region(selection):
        state[Keys.REGION] = sorted(pictures)
        state[Keys.REGION_PAGE] = 1
        state[Keys.REGION_DRAWN] = True
        if pictures:
            state[Keys.INDEX] = min(pictures)
    elif pictures:
        state[Keys.INDEX] = pictures[0]
    else:
        state[Keys.REGION] = []


def apply_grid_click(state: MutableMapping, selection, index_key: str, nonce_key: str) -> None:
    """A click on a picture of a grid shows it; the grid gets a fresh chart."""
    if (index := index_from_selection(selection)) is not None:
        state[index_key] = index
        state[nonce_key] += 1


def grid_click(state: MutableMapping, index_key: str):
    """What a click on a grid's picture does: show that picture (`index_key`)."""
    return lambda selection: apply_grid_click(state, selection, index_key, NONCES[index_key])


def region_caption(count: int, total: int, probs: np.ndarray, labels: np.ndarray) -> str:
    if not count:
        return REGION_EMPTY
    right = int((probs.argmax(axis=1) == labels).sum())
    return (
        f"**{count:,}** of the {total:,} test pictures are in the region you drew; "
        f"the model is right on {right:,} of them ({right / count:.0%})."
    )


def neighbours_sentence(predicted: int, neighbour_labels: Sequence[int]) -> str:
    """'The model thinks this is a Shirt, and 6 of the 8 training pictures most like it
    (to the model) are labelled Shirt.'"""
    same = sum(1 for label in neighbour_labels if int(label) == predicted)
    name = CLASS_NAMES[predicted]
    return (
        f"The model thinks this is a **{name}**: to the model it looks most like these "
        f"{len(neighbour_labels)} training pictures, {same} of them labelled {name}."
    )


# --- Suspicious labels -----------------------------------------------------------------------


def count_sentence(ranking: Ranking, split: str) -> str:
    """cleanlab's estimate of how many labels are wrong, with an "about" and the accuracy of
    the model that judged them (a weaker model flags more): plain text, for the page and the
    command line."""
    words = "test" if split == "test" else "training"
    checked = f"{ranking.pictures:,} {words}"
    accuracy = f"model accuracy {ranking.accuracy:.1%}: a weaker model finds more"
    if not len(ranking):
        return (
            f"cleanlab finds no label among the {checked} pictures that looks wrong to this "
            f"model ({accuracy})."
        )
    return (
        f"cleanlab estimates that about {ranking.estimate:,} of the {checked} labels may be "
        f"wrong ({accuracy}); here they are, most doubtful first."
    )


def suspect_caption(ranking: Ranking, split: str, reviewed: int) -> str:
    """The count sentence and how many suspects of this split were reviewed."""
    return f"{count_sentence(ranking, split)} You have reviewed {reviewed:,}."


def suggested_label(given: int, probabilities: np.ndarray) -> int:
    """The model's most probable class other than the label (label_ranking's suggestion)."""
    others = np.array(probabilities, dtype=np.float64)
    others[int(given)] = -np.inf
    return int(others.argmax())


def suspect_sentence(given: int, probabilities: np.ndarray) -> str:
    """'The label says Bag. The model is 99% sure it is a Sneaker. The label may be wrong.'"""
    suggested = suggested_label(given, probabilities)
    return (
        f"The label says {CLASS_NAMES[int(given)]}. The model is "
        f"{percent(probabilities[suggested])} sure it is {with_article(CLASS_NAMES[suggested])}. "
        "The label may be wrong."
    )


def percent(probability: float) -> str:
    """'37%', 'under 1%', 'over 99%': no "0%" for a small chance."""
    value = float(probability)
    if value < 0.01:
        return "under 1%"
    return "over 99%" if value > 0.99 else f"{value:.0%}"


def decision_words(review: Mapping | None) -> str:
    if not review:
        return "Not reviewed yet."
    if review.get("decision") == RIGHT:
        return "You said: the label is right."
    if review.get("decision") == WRONG:
        label = CLASS_NAMES[int(review["label"])]
        return f"You said: the label is wrong, it is {with_article(label)}."
    return "Not reviewed yet."


def shown_suspect(state: MutableMapping, ranking: Ranking) -> int | None:
    """The suspect under review: the one chosen, else the most suspicious."""
    chosen = state.get(Keys.SUSPECT)
    if chosen is not None and ranking.position(chosen) is not None:
        return chosen
    if not len(ranking):
        return None
    state[Keys.SUSPECT] = int(ranking.indices[0])
    return state[Keys.SUSPECT]


def next_suspect(ranking: Ranking, index: int) -> int:
    """The suspect after `index` in the ranking (the same one at the end)."""
    position = ranking.position(index)
    if position is None or position + 1 >= len(ranking):
        return index
    return int(ranking.indices[position + 1])


# --- One model against another ---------------------------------------------------------------


def apply_table_click(state: MutableMapping, selection) -> None:
    """A click on a cell of the 2x2 table lists its pictures in the grid, from page 1."""
    for point in (selection or {}).get("points") or []:
        cell = point.get("customdata")
        if isinstance(cell, list | tuple):
            cell = cell[0] if cell else None
        if cell in CELLS:
            state[Keys.CELL] = cell
            state[Keys.CELL_PAGE] = 1
            state[Keys.TABLE_NONCE] += 1
            return


def per_class_rows(comparison: Comparison) -> list[dict]:
    """The per-class table: each model's share right and which one is better."""
    return [
        {
            "Class": row["class"],
            "A right": f"{row['a']:.1%}",
            "B right": f"{row['b']:.1%}",
            "Better": better_words(row["a"], row["b"]),
        }
        for row in comparison.per_class()
    ]


def cell_caption(cell: str, count: int, answers: str) -> str:
    whose = "B's" if answers == "b" else "A's"
    return f"**{CELL_WORDS[cell]}: {count:,} pictures.** The captions show model {whose} answers."


# Texts for people who do not program.
MAP_CHOICES_PX = 240  # the map's choices, in a column beside it
MODEL_PICKER_PX = 420  # "Best CNN · 93.9% · 5 Dec 11:09 (2)" whole, beside the Show buttons
# One line at 1280 px: the map below it is then whole on a projector's first screen.
INTRO = (
    "What did the model learn? See how it groups the test pictures, which labels it "
    "doubts, and how two models differ."
)
NO_MODEL_NOTE = (
    "There is no trained model yet. Train one on the Train page, or start a quick one here; "
    "this page opens when it is ready."
)
MAP_NOTE = (
    "Each dot is a test picture, placed by what the model sees in it (its last layer before "
    "the answer): pictures the model finds alike are close together. Click a dot to see the "
    "picture; drag a box or a lasso to list the pictures in a region."
)
METHOD_HELP = (
    "PCA draws the two directions in which the model's view of the pictures varies most: "
    "instant, but groups overlap. t-SNE keeps similar pictures together and separates the "
    "groups better. It takes a minute or two, so it is computed once per model, in the "
    "background, right after the model finishes training."
)
DRAG_HELP = (
    "Box or Lasso: drag on the map to list the pictures in that region below. Zoom: drag to "
    "zoom in; double-click the map to zoom out again."
)
REGION_EMPTY = "Draw a box or a lasso on the map to list the pictures in that region here."
TSNE_WAITING = (
    "The t-SNE map of this model is being computed in the background (once per model, a "
    "minute or two; models trained from now on get it right after training). Meanwhile "
    "this is the PCA map; the page switches by itself."
)
TSNE_FAILED = "The t-SNE map could not be computed"
SUSPECTS_NOTE = (
    "Datasets have wrong labels too. A model that never saw the pictures scores them, and "
    "cleanlab (confident learning) estimates which labels are wrong: those the model "
    "confidently takes for another class, more often than it usually confuses the two. "
    "The least sure of their label come first."
)
CV_PRESET_HELP = (
    "The Small CNN is more often right about which labels are wrong (81 of its first 100 "
    "in a test with labels changed on purpose, against 74 for the Tutorial MLP, which also "
    "flags almost twice as many pictures); the Tutorial MLP is quicker."
)
TRAIN_SUSPECTS_NOTE = (
    "For the training pictures, several models are trained, each on all but a part of the "
    "pictures, and each scores only the part it did not see. This runs in the background "
    "once, and the result is kept."
)
COMPARE_NOTE = "Click a square to see those pictures below."
ONE_RUN_NOTE = "Train a second model to compare two: this needs two models."
