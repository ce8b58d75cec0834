"""Verify: what a trained model thinks of each test picture, where it goes wrong, and why."""

import streamlit as st

from classifier.data import CLASS_NAMES
from classifier.figures import mistakes as mistake_figures
from classifier.figures import verify as figures
from classifier.ml import inference
from classifier.store.runs import RunStore
from classifier.views import grid as grid_view
from classifier.views import verify as view
from classifier.views.verify import Keys
from ui import cache, pictures, routing, watch, widgets

routing.start_page()
store = RunStore()
state = st.session_state


# Callbacks run before the next script run: the only moment a widget's value may be set.
def on_click(chart_key: str, chart: str) -> None:
    view.apply_click(state, chart, state[chart_key].selection)


def jump_to_first() -> None:
    """A new filter shows its first picture, on the grid's first page."""
    state.update({Keys.PAGE: 1, Keys.JUMP_FIRST: True})


def filter_bar(epochs: int, epoch: int | None) -> tuple[view.FilterSpec, str]:
    """Which pictures the grid shows, and in what order, folded away below the grid's
    caption: the pictures come first on a projector's screen."""
    modes, orders, classes = view.filter_modes(epochs, epoch), view.SORT_ORDERS, view.CLASS_OPTIONS
    tip = view.FILTER_HELP if epochs else None
    with st.expander("Filter and sort the pictures", icon=":material/filter_list:"):
        show, true, pred, confidence, sort = widgets.side_by_side(5, (200, 160, 160, 220, 180))
        mode = show.selectbox(
            "Show",
            list(modes),
            format_func=modes.get,
            key=Keys.MODE,
            help=tip,
            on_change=jump_to_first,
        )
        true_name = true.selectbox("True class", classes, key=Keys.TRUE, on_change=jump_to_first)
        pred_name = pred.selectbox(
            "Predicted class", classes, key=Keys.PRED, on_change=jump_to_first
        )
        low, high = confidence.slider(
            "Confidence (%)", 0, 100, (0, 100), key=Keys.CONFIDENCE, on_change=jump_to_first
        )
        order = sort.selectbox(
            "Sort by", list(orders), format_func=orders.get, key=Keys.SORT, on_change=jump_to_first
        )
        rows_column, columns_column, _ = st.columns(3)
        rows_column.number_input("Rows in the grid", 1, 10, key=Keys.ROWS)
        columns_column.number_input("Columns in the grid", 1, 6, key=Keys.COLUMNS)
    classes = grid_view.parse_class(true_name), grid_view.parse_class(pred_name)
    return view.FilterSpec(mode, *classes, low / 100, high / 100), order


def prediction_grid_section(ordered, probs, test, index: int, page_place) -> None:
    """The tutorial's grid of pictures with their captions and bars, page by page (the page
    number sits in `page_place`, beside the grid's caption)."""
    rows, columns = state[Keys.ROWS], state[Keys.COLUMNS]
    pages = grid_view.page_count(len(ordered), rows * columns)
    if state.get(Keys.SHOWN) != index:  # follow the picture to its page
        state[Keys.PAGE] = grid_view.page_of(ordered, index, rows * columns) or 1
        state[Keys.SHOWN] = index
    state[Keys.PAGE] = min(state[Keys.PAGE], pages)
    page = page_place.number_input(f"Page (of {pages:,})", 1, pages, key=Keys.PAGE)
    shown = grid_view.page_items(ordered, page, rows * columns)
    if not len(shown):
        st.info(view.EMPTY_FILTER_NOTE)
        return
    images, labels = test.images[shown], test.labels[shown]
    grid = figures.prediction_grid_figure(images, probs[shown], labels, shown, columns, index)
    key = f"verify_grid_{state[Keys.GRID_NONCE]}"
    widgets.chart(grid, key, lambda: on_click(key, "grid"), width="content")


def replay_section(replay) -> int | None:
    """The epoch whose predictions the page shows (None: the run recorded no history)."""
    if replay is None or replay.epochs < 2:
        st.caption(view.NO_REPLAY_NOTE if replay is None else view.ONE_EPOCH_NOTE)
        return None if replay is None else replay.epochs
    return widgets.epoch_player(view.EPOCH_LABEL, replay.epochs, Keys.EPOCH, help=view.REPLAY_HELP)


def single_view_section(ordered, probs, test, index: int) -> None:
    """One picture large, its ten bars, and the ways to step to another one."""
    true_label = int(test.labels[index])
    st.subheader(f"Image {index:,}: {CLASS_NAMES[true_label]}")
    widgets.prediction_pair(test.images[index], probs[index], true_label, "verify")
    previous_column, number_column, next_column = st.columns(3, vertical_alignment="bottom")
    for column, step, text in ((previous_column, -1, "Previous"), (next_column, 1, "Next")):
        target = grid_view.neighbour(ordered, index, step)
        column.button(
            text,
            key=f"verify_{text.lower()}",
            disabled=target is None,
            help="In the order of the grid",
            on_click=show_picture,
            args=(target,),
        )
    number_column.number_input("Image number", 0, len(test) - 1, key=Keys.INDEX)
    state[Keys.SLIDER] = index  # the slider mirrors the one index
    st.slider(
        "Image number (slider)",
        0,
        len(test) - 1,
        key=Keys.SLIDER,
        on_change=follow_slider,
        label_visibility="collapsed",
    )


def show_picture(index: int) -> None:
    state[Keys.INDEX] = index


def follow_slider() -> None:
    state[Keys.INDEX] = state[Keys.SLIDER]


def picture_history_section(replay, index: int, epoch: int) -> None:
    """How the model's answer for this picture changed while it learned."""
    picture = replay.picture(index)
    st.markdown(f"**{view.history_sentence(picture)}**")
    widgets.chart(figures.picture_history_figure(picture, epoch), "verify_history_chart")
    st.caption(view.HISTORY_CHART_NOTE)


def saliency_section(run, root: str, test, index: int, final: bool) -> None:
    st.subheader("Why this prediction?")
    labels = view.SALIENCY_LABELS
    method = st.radio(
        "Method", list(labels), format_func=labels.get, horizontal=True, key=Keys.SALIENCY
    )
    saliency = cache.get_saliency(root, run.run_id, run.model_sha256, index, method)
    widgets.chart(figures.saliency_figure(test.images[index], saliency), "verify_saliency_chart")
    st.caption(view.SALIENCY_NOTE if final else f"{view.SALIENCY_NOTE} {view.EARLIER_NOTE}")


def mistakes_section(matrix, accuracy: float, spec: view.FilterSpec, changes) -> None:
    """The confusion matrix and the per-class accuracy; a click filters the grid."""
    st.header("Where the model goes wrong")
    st.caption("Click a square to list exactly those images in the grid above.")
    matrix_column, classes_column = widgets.side_by_side(2, width=560)
    pair = (spec.true_class, spec.pred_class)
    with matrix_column:
        key = f"verify_confusion_{state[Keys.MATRIX_NONCE]}"
        selected = None if None in pair else pair
        figure = mistake_figures.confusion_matrix_figure(matrix, selected, changes)
        widgets.chart(figure, key, lambda: on_click(key, "matrix"), width="content")
    with classes_column:
        classes_key = f"verify_classes_{state[Keys.MATRIX_NONCE]}"
        class_accuracy = inference.per_class_accuracy(matrix)
        figure = mistake_figures.per_class_accuracy_figure(class_accuracy, accuracy)
        widgets.chart(figure, classes_key, lambda: on_click(classes_key, "classes"))


st.title("Verify the model")
runs = store.usable_runs()
if not runs:
    watch.quick_training(store, view.NO_MODEL_NOTE)
    st.stop()
view.restore_state(state, st.query_params.to_dict(), [run.run_id for run in runs])
run = widgets.run_picker("Model", runs, key=Keys.RUN)
root = str(store.root.resolve())
replay = cache.run_replay(store, run)
epochs = view.fit_state_to_run(state, run.run_id, replay.epochs if replay else 0)
epoch = replay_section(replay)  # above the grid: Play and the grid share the first screen
probs = cache.epoch_probabilities(store, run, replay, epoch)
test = cache.get_dataset().test
accuracy = inference.accuracy(probs, test.labels)

spec, order = filter_bar(epochs, epoch)
ordered = view.grid_order(probs, test.labels, spec, order, replay, epoch)
caption_column, page_column = st.columns([4, 1], vertical_alignment="bottom")
caption_column.markdown(view.filter_caption(spec, len(ordered), len(test), accuracy, epoch, epochs))
index = view.shown_index(state, ordered)
if state.pop(Keys.CLICKED, False):  # a click further down changed the grid: go up to it
    widgets.announce(Keys.CLICKED, view.CLICKED_NOTE)
grid_column, single_column = widgets.side_by_side(2, widgets.GRID_AND_PICTURE)  # wraps if narrow
with grid_column:
    prediction_grid_section(ordered, probs, test, index, page_column)
with single_column:
    single_view_section(ordered, probs, test, index)
    if replay:
        picture_history_section(replay, index, epoch)
    saliency_section(run, root, test, index, final=epoch in (None, epochs))
matrix, changes = view.epoch_matrix(probs, test.labels, replay, epoch)
mistakes_section(matrix, accuracy, spec, changes)
st.header("Try your own picture")
pictures.own_picture(run, root, "verify", view.UPLOAD_NOTE)

shown = None if epoch == epochs else epoch
state[Keys.VIEW] = current = view.VerifyView(run.run_id, index, spec, order, shown)
widgets.sync_query_params(current.to_params())
