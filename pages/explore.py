"""Explore: the model's map of the pictures, the labels it doubts, and two models compared."""

from functools import partial

import streamlit as st

from classifier.data import CLASS_NAMES
from classifier.figures import explore as figures
from classifier.jobs import label_check
from classifier.ml import compare as model_compare
from classifier.ml.models import PRESETS
from classifier.store import reviews as label_reviews
from classifier.store.runs import RunStore
from classifier.views import explore as view
from classifier.views.explore import Keys
from ui import cache, chart_clicks, explore, routing, watch, widgets

routing.start_page()
store = RunStore()
state = st.session_state


def nearest_section(run, query, predicted: int, key: str, exclude=None) -> None:
    """The 8 training pictures nearest to a picture in the model's eyes."""
    nearest = explore.nearest_training_pictures(store, run, query, exclude)
    train = cache.get_dataset().train
    st.markdown(view.neighbours_sentence(predicted, train.labels[nearest]))
    figure = figures.neighbours_figure(train.images[nearest], train.labels[nearest], nearest)
    widgets.chart(figure, key, width="content")


def apply_map_selection() -> None:
    """A click, a box or a lasso on the map (Streamlit's selection)."""
    view.apply_map_selection(state, state.explore_map.selection)


def apply_table_click(key: str) -> None:
    """A square of the two models' table lists its pictures."""
    view.apply_table_click(state, state[key].selection)


def map_section(run, probs, test) -> None:
    clicked = chart_clicks.clicked_picture("explore_map", len(test))
    # The choices beside the map, not above it: at 1280x720 the whole map is on the first screen.
    choices_column, map_column = widgets.side_by_side(2, (view.MAP_CHOICES_PX, "stretch"))
    with choices_column:
        method = widgets.choice("Map", view.METHODS, Keys.METHOD, help=view.METHOD_HELP)
        colour = widgets.choice("Colour by", view.COLOURS, Keys.COLOUR)
        drag = widgets.choice("Drag on the map", view.DRAGS, Keys.DRAG, help=view.DRAG_HELP)
        points, map_state = explore.explore_map(store, run, method)
        if map_state is not None:  # under the t-SNE button just clicked
            explore.map_status(store, run, view.TSNE_WAITING, view.TSNE_FAILED)
        st.caption(view.MAP_NOTE)
        drawn = state.pop(Keys.REGION_DRAWN, False)  # a box or a lasso: go to its list below
        if clicked is not None:  # a dot clicked, in any drag mode: go to its picture below
            state[Keys.INDEX] = clicked
            widgets.scroll_to("explore_picture")
        elif drawn:
            widgets.scroll_to("explore_region_list")
    index, predicted, region = state[Keys.INDEX], probs.argmax(axis=1), state[Keys.REGION]
    figure = figures.map_figure(points, test.labels, predicted, colour, drag, index, "", region)
    with map_column:
        widgets.region_chart(figure, "explore_map", apply_map_selection)
    region_column, picture_column = widgets.side_by_side(2, widgets.GRID_AND_PICTURE)
    with region_column.container(key="explore_region_list"):
        st.markdown(view.region_caption(len(region), len(test), probs[region], test.labels[region]))
        if region and st.button("Clear the region", key="explore_clear"):
            state[Keys.REGION] = []
            st.rerun()
        key = f"explore_region_grid_{state[Keys.GRID_NONCE]}"
        click = view.grid_click(state, Keys.INDEX)
        widgets.paged_picture_grid(region, probs, test, Keys.REGION_PAGE, key, click, index)
    with picture_column.container(key="explore_picture"):
        st.subheader(f"Test picture {index:,}")
        widgets.prediction_pair(
            test.images[index], probs[index], int(test.labels[index]), "explore"
        )
        query = explore.explore_features(store, run, "test")[index]
        nearest_section(run, query, int(predicted[index]), "explore_nearest")


def review_section(run, split, ranking, probs, data, index) -> None:
    """One suspect: the picture, its label and the suggested one, and the verdict buttons."""
    position, given = ranking.position(index), int(data.labels[index])
    st.subheader(f"{view.SPLITS[split][:-1]} {index:,}")
    # No true class: the label is what is in doubt, so nothing is drawn right or wrong.
    widgets.prediction_pair(data.images[index], probs[index], None, "explore_suspect")
    st.markdown(view.suspect_sentence(given, probs[index]))
    suggested, key = int(ranking.suggested[position]), f"{Keys.TRUE_LABEL}_{split}_{index}"
    label = st.selectbox("If the label is wrong, it is a", CLASS_NAMES, suggested, key=key)
    if explore.review_buttons(store, split, index, given, CLASS_NAMES.index(label), "explore"):
        state[Keys.SUSPECT] = view.next_suspect(ranking, index)
        st.rerun()
    query = explore.explore_features(store, run, split)[index]
    exclude = index if split == "train" else None
    nearest_section(run, query, suggested, "explore_suspect_nearest", exclude)


def suspects_section(run, probs, test) -> None:
    split = widgets.choice("Pictures", view.SPLITS, Keys.SPLIT)
    ranking, data = explore.test_suspects(store, run), test
    if split == "train":
        st.caption(view.TRAIN_SUSPECTS_NOTE)
        with st.container(horizontal=True):
            preset = st.selectbox(
                "Kind of model the check trains",
                list(PRESETS),
                index=list(PRESETS).index(label_check.DEFAULT_PRESET),
                help=view.CV_PRESET_HELP,
                key=Keys.CV_PRESET,
            )
            folds = st.selectbox("Models (parts)", view.FOLD_CHOICES, key=Keys.CV_FOLDS)
        job = label_check.CrossValidation(preset, folds)
        if (result := explore.train_suspects(store, job)) is None:
            return explore.cross_validation_job(store, job)
        (ranking, probs), data = result, cache.get_dataset().train
    reviews = label_reviews.read_reviews(store.root)
    done = sum(1 for key in reviews if key.startswith(f"{split}:"))
    st.markdown(view.suspect_caption(ranking, split, done))
    if (index := view.shown_suspect(state, ranking)) is None:
        return
    grid_column, review_column = widgets.side_by_side(2, widgets.GRID_AND_PICTURE)
    with grid_column:
        key = f"explore_suspects_grid_{state[Keys.SUSPECT_NONCE]}"
        click = view.grid_click(state, Keys.SUSPECT)
        widgets.paged_picture_grid(
            ranking.indices, probs, data, Keys.SUSPECT_PAGE, key, click, index, doubtful_labels=True
        )
        # Made on the click, not on every rerun, and a click does not rerun the page (see
        # ui/run_widgets.run_download).
        with st.container(horizontal=True):
            st.download_button(
                "Download the suspects (CSV)",
                lambda: label_reviews.suspects_csv(split, ranking.rows()),
                f"suspects-{split}.csv",
                "text/csv",
                on_click="ignore",
            )
            st.download_button(
                "Download the reviews (CSV)",
                partial(label_reviews.reviews_csv, reviews),
                "label-reviews.csv",
                "text/csv",
                on_click="ignore",
            )
    with review_column:
        review_section(run, split, ranking, probs, data, index)


def compare_section(runs, test) -> None:
    if len(runs) < 2:
        return st.info(view.ONE_RUN_NOTE)
    a_column, b_column = widgets.side_by_side(2, width=420)
    with a_column:
        run_a = widgets.run_picker("Model A", runs, key=Keys.RUN_A)
    with b_column:
        run_b = widgets.run_picker("Model B", runs, key=Keys.RUN_B)
    probs_a, probs_b = (
        cache.test_probabilities(store, run_a),
        cache.test_probabilities(store, run_b),
    )
    comparison = model_compare.Comparison.of(probs_a, probs_b, test.labels)
    st.markdown(f"**{comparison.mcnemar().sentence}**")
    with st.container(horizontal=True, gap="large"):  # side by side where there is room
        key = f"explore_table_{state[Keys.TABLE_NONCE]}"
        figure = figures.agreement_table_figure(comparison.table(), state[Keys.CELL])
        widgets.chart(figure, key, lambda: apply_table_click(key), width="content")
        st.dataframe(view.per_class_rows(comparison), hide_index=True, width=440)
    st.caption(view.COMPARE_NOTE)
    answers = widgets.choice("Captions", view.ANSWERS, Keys.ANSWERS)
    ordered = comparison.indices(state[Keys.CELL])
    st.markdown(view.cell_caption(state[Keys.CELL], len(ordered), answers))
    probs = probs_b if answers == "b" else probs_a
    widgets.paged_picture_grid(ordered, probs, test, Keys.CELL_PAGE, "explore_cell_grid")


st.title("Explore the model")
st.caption(view.INTRO)
runs = store.usable_runs()
if not runs:
    watch.quick_training(store, view.NO_MODEL_NOTE)
    st.stop()
view.fill_state(state, st.query_params.to_dict(), [run.run_id for run in runs])
# What to show and of which model, on one row: the pictures start higher on a projector.
choices = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
with choices:
    part = widgets.choice("Show", view.PARTS, Keys.PART)
test = cache.get_dataset().test
if part == "compare":
    compare_section(runs, test)
else:
    with choices:
        run = widgets.run_picker("Model", runs, key=Keys.RUN, width=view.MODEL_PICKER_PX)
    probs = cache.test_probabilities(store, run)
    if part == "map":
        map_section(run, probs, test)
    else:
        suspects_section(run, probs, test)
        st.caption(view.SUSPECTS_NOTE)  # how it works, after what it found
widgets.sync_query_params(view.link_params(state))
