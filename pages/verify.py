"""Verify: what a trained model thinks of each test picture, where it goes wrong, and why."""

import streamlit as st

import ui
from classifier import predictions as pred
from classifier import verify_figures as figures
from classifier.data import CLASS_NAMES
from classifier.images import ACCEPTED_TYPES, ImageError
from classifier.jobs import JobBusyError, get_job_manager
from classifier.models import preset_config
from classifier.reporting import escape_markdown
from classifier.runs import RUNNING, ModelLoadError, RunError, RunStore

ui.route_through_app()

QUICK_EPOCHS = 3
CLASS_OPTIONS = (pred.ANY_CLASS, *CLASS_NAMES)
DEFAULTS = {"verify_rows": 5, "verify_columns": 3, "verify_page": 1}
DEFAULTS |= {"verify_saliency": "input_x_gradient", "verify_grid_nonce": 0, "verify_cm_nonce": 0}

store = RunStore()
runs = store.usable_runs()
st.title("Verify the model")


# Callbacks run before the next script run: the only moment a widget's value may be set.
def start_quick_training() -> None:
    config = preset_config("Tutorial MLP", epochs=QUICK_EPOCHS)
    try:  # a worker process trains; the page only polls the run store
        st.session_state.verify_training_run = get_job_manager().start(config, "Quick MLP")
        st.session_state.pop("verify_training_error", None)
    except (JobBusyError, RunError) as error:
        st.session_state.verify_training_error = str(error)


@st.fragment(run_every=1)
def training_progress(run_id: str) -> None:
    """Reruns on its own every second; reruns the whole page when the run has ended."""
    try:
        info = store.get(run_id)
    except RunError:  # deleted meanwhile
        st.rerun()
    if info.status != RUNNING:
        st.rerun()
    batches = store.read_batches(run_id)
    if not batches:
        st.progress(0.0, text=f"Starting '{escape_markdown(info.name)}' (loading TensorFlow)...")
        return
    last, epochs = batches[-1], max(info.epochs_planned, 1)
    done = (last.get("epoch", 1) - 1 + last.get("batch", 0) / max(last.get("steps", 1), 1)) / epochs
    st.progress(
        min(done, 1.0),
        text=f"Training '{escape_markdown(info.name)}': {done:.0%} of {epochs} epochs",
    )


if not runs:
    st.info(
        "There is no trained model yet. Train one on the Train page, or start a quick one "
        f"here: the tutorial's model for {QUICK_EPOCHS} epochs, about 85% right, in about a "
        "minute. It trains in the background; this page opens when it is ready."
    )
    st.page_link("pages/train.py", label="Open the Train page", icon=":material/model_training:")
    watched = st.session_state.get("verify_training_run")
    watched = watched or next((run.run_id for run in store.active_runs()), None)
    info = store.get(watched) if watched and store.run_dir(watched).is_dir() else None
    if info and info.status == RUNNING:
        training_progress(info.run_id)
    else:
        if info and info.error:
            st.error(escape_markdown(f"The training of '{info.name}' did not finish: {info.error}"))
        st.button(
            "Train a quick model",
            key="verify_quick_train",
            on_click=start_quick_training,
            type="primary",
        )
        if message := st.session_state.get("verify_training_error"):
            st.warning(escape_markdown(message))
    st.stop()

run_ids = [run.run_id for run in runs]
# The first run of this page in a session (Streamlit drops a page's widget state when we
# leave it) takes the view from the URL, or else from the last visit.
if "verify_mode" not in st.session_state:
    view = pred.parse_view_params(st.query_params.to_dict(), run_ids)
    if not st.query_params and "verify_view" in st.session_state:
        view = st.session_state.verify_view
    st.session_state.update(
        verify_run=view.run or run_ids[0],
        verify_index=view.image,
        verify_mode=view.spec.mode,
        verify_true=pred.class_option(view.spec.true_class),
        verify_pred=pred.class_option(view.spec.pred_class),
        verify_sort=view.order,
    )
for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)
if st.session_state.get("verify_run") not in run_ids:
    st.session_state.verify_run = run_ids[0]


def chart(figure, key: str, on_select=None, **options) -> None:
    """A plotly chart without its mode bar; clicks on points call `on_select`."""
    if on_select is not None:
        options.update(on_select=on_select, selection_mode="points")
    st.plotly_chart(figure, key=key, config={"displayModeBar": False}, **options)


def first_page() -> None:
    st.session_state.verify_page = 1


def show_image(index: int) -> None:
    st.session_state.verify_index = index


def select_from_grid(chart_key: str) -> None:
    index = pred.index_from_selection(st.session_state[chart_key].selection)
    if index is not None:
        show_image(index)
        # A fresh chart has no selection, so the same tile can be clicked again later.
        st.session_state.verify_grid_nonce += 1


def select_classes(true_class: int | None, pred_class: int | None) -> None:
    """Show exactly the images of a (true, predicted) pair: mirrored into the filters."""
    st.session_state.update(
        verify_true=pred.class_option(true_class),
        verify_pred=pred.class_option(pred_class),
        verify_mode="all",
        verify_page=1,
        verify_jump_first=True,
    )
    # Deleting a widget's key resets it to its default (the full confidence range); setting
    # it here would make Streamlit warn about a value set twice.
    st.session_state.pop("verify_conf", None)
    st.session_state.verify_cm_nonce += 1


def select_from_matrix(chart_key: str) -> None:
    if cell := pred.cell_from_selection(st.session_state[chart_key].selection):
        select_classes(*cell)


def select_from_classes(chart_key: str) -> None:
    class_index = pred.index_from_selection(st.session_state[chart_key].selection)
    if class_index is not None:
        select_classes(class_index, None)


labels_by_id = {run.run_id: run.label for run in runs}
run_id = st.selectbox("Model", run_ids, format_func=labels_by_id.get, key="verify_run")
run = runs[run_ids.index(run_id)]
root = str(store.root.resolve())
try:
    probs = ui.get_test_probabilities(root, run.run_id, run.model_sha256)
except ModelLoadError as error:
    st.error(escape_markdown(f"{error} Choose another model above."))
    st.stop()
test = ui.get_dataset().test
matrix = pred.confusion_matrix(test.labels, pred.predicted_classes(probs))
accuracy = pred.accuracy(probs, test.labels)

st.header("Test images")
filter_columns = st.columns([2, 2, 2, 3, 2])
# Every filter starts on its first page (on_change runs before the next script run).
mode = filter_columns[0].selectbox(
    "Show",
    list(pred.FILTER_MODES),
    format_func=pred.FILTER_MODES.get,
    key="verify_mode",
    on_change=first_page,
)
true_name = filter_columns[1].selectbox(
    "True class", CLASS_OPTIONS, key="verify_true", on_change=first_page
)
pred_name = filter_columns[2].selectbox(
    "Predicted class", CLASS_OPTIONS, key="verify_pred", on_change=first_page
)
low, high = filter_columns[3].slider(
    "Confidence (%)", 0, 100, (0, 100), key="verify_conf", on_change=first_page
)
order = filter_columns[4].selectbox(
    "Sort by",
    list(pred.SORT_ORDERS),
    format_func=pred.SORT_ORDERS.get,
    key="verify_sort",
    on_change=first_page,
)
spec = pred.FilterSpec(
    mode, pred.parse_class(true_name), pred.parse_class(pred_name), low / 100, high / 100
)
ordered = pred.sort_indices(
    pred.filter_indices(probs, test.labels, spec), probs, test.labels, order
)
st.markdown(pred.grid_caption(spec, len(ordered), len(test), accuracy))

if st.session_state.pop("verify_jump_first", False) and len(ordered):
    st.session_state.verify_index = int(ordered[0])
index = st.session_state.verify_index
grid_column, single_column = st.columns(2, gap="large")
with grid_column:
    rows_column, columns_column, page_column = st.columns(3)
    rows = rows_column.number_input("Rows", 1, 10, key="verify_rows")
    columns = columns_column.number_input("Columns", 1, 6, key="verify_columns")
    pages = pred.page_count(len(ordered), rows * columns)
    if st.session_state.get("verify_shown") != index:  # follow the image to its page
        st.session_state.verify_page = pred.page_of(ordered, index, rows * columns) or 1
        st.session_state.verify_shown = index
    st.session_state.verify_page = min(st.session_state.verify_page, pages)
    page = page_column.number_input(f"Page (of {pages:,})", 1, pages, key="verify_page")
    shown = pred.page_items(ordered, page, rows * columns)
    if len(shown):
        grid = figures.prediction_grid_figure(
            test.images[shown], probs[shown], test.labels[shown], shown, columns, index
        )
        grid_key = f"verify_grid_{st.session_state.verify_grid_nonce}"
        chart(grid, grid_key, lambda: select_from_grid(grid_key), width="content")
    else:
        st.info("No test image matches this filter. Widen the confidence range or the classes.")

with single_column:
    true_label = int(test.labels[index])
    st.subheader(f"Image {index:,}: {CLASS_NAMES[true_label]}")
    image_column, bars_column = st.columns([figures.IMAGE_FIGURE_PX, 230], gap="small")
    with image_column:
        image = figures.prediction_image_figure(test.images[index], probs[index], true_label)
        chart(image, "verify_image", width="content")
    with bars_column:
        chart(figures.value_bars_figure(probs[index], true_label), "verify_bars")
    previous_column, number_column, next_column = st.columns(3, vertical_alignment="bottom")
    for column, step, text in ((previous_column, -1, "Previous"), (next_column, 1, "Next")):
        target = pred.neighbour(ordered, index, step)
        column.button(
            text,
            key=f"verify_{text.lower()}",
            disabled=target is None,
            on_click=show_image,
            args=(target,),
            help="In the order of the grid",
        )
    number_column.number_input("Image number", 0, len(test) - 1, key="verify_index")
    st.session_state.verify_slider = index  # the slider mirrors the one index
    st.slider(
        "Image number (slider)",
        0,
        len(test) - 1,
        key="verify_slider",
        on_change=lambda: show_image(st.session_state.verify_slider),
        label_visibility="collapsed",
    )
    st.subheader("Why this prediction?")
    method = st.radio(
        "Method",
        list(pred.SALIENCY_METHODS),
        format_func=pred.SALIENCY_METHODS.get,
        horizontal=True,
        key="verify_saliency",
    )
    saliency = ui.get_saliency(root, run.run_id, run.model_sha256, index, method)
    chart(figures.saliency_figure(test.images[index], saliency), "verify_saliency_chart")
    st.caption(pred.SALIENCY_NOTE)

st.header("Where the model goes wrong")
st.caption("Click a square to list exactly those images in the grid above.")
matrix_column, classes_column = st.columns([3, 2], gap="large")
selected = (pred.parse_class(true_name), pred.parse_class(pred_name))
with matrix_column:
    matrix_key = f"verify_confusion_{st.session_state.verify_cm_nonce}"
    figure = figures.confusion_matrix_figure(matrix, None if None in selected else selected)
    chart(figure, matrix_key, lambda: select_from_matrix(matrix_key), width="content")
with classes_column:
    classes_key = f"verify_classes_{st.session_state.verify_cm_nonce}"
    figure = figures.per_class_accuracy_figure(pred.per_class_accuracy(matrix), accuracy)
    chart(figure, classes_key, lambda: select_from_classes(classes_key))

st.header("Try your own picture")
if st.toggle("Use the camera", key="verify_use_camera"):
    upload = st.camera_input("Take a photo of one garment", key="verify_camera")
else:
    upload = st.file_uploader("Upload a photo", type=list(ACCEPTED_TYPES), key="verify_upload")
if upload is not None:
    try:
        model = ui.get_model(root, run.run_id, run.model_sha256)
        result = pred.classify_upload(model, upload.getvalue(), upload.size)
    except ImageError as error:
        st.error(str(error))
    else:
        image_column, bars_column, note_column = st.columns([figures.IMAGE_FIGURE_PX, 330, 330])
        with image_column:
            sees = figures.uploaded_image_figure(result.image.pixels, result.probabilities)
            chart(sees, "verify_upload_image", width="content")
        with bars_column:
            chart(figures.value_bars_figure(result.probabilities, None), "verify_upload_bars")
        note_column.info(pred.UPLOAD_NOTE)
        for note in result.image.notes + (["inverted to light on dark"] * result.image.inverted):
            note_column.caption(f"Note: {note}.")

view = pred.VerifyView(run.run_id, index, spec, order)
st.session_state.verify_view = view
ui.sync_query_params(pred.view_to_params(view))
