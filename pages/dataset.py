"""Dataset: browse the pictures, inspect one of them, and see statistics of a split."""

import streamlit as st

from classifier.data import CLASS_NAMES, SPLITS
from classifier.figures import dataset as figures
from classifier.views import dataset as view
from classifier.views import grid as grid_view
from classifier.views.dataset import Keys
from ui import cache, routing, widgets

routing.start_page()
dataset = cache.get_dataset()
state = st.session_state


# Callbacks run before the next script run: the only moment a widget's value may be set.
def go_to_page(page: int) -> None:
    state[Keys.PAGE] = page


def show_image(index: int | None, page: int | None = None) -> None:
    state[Keys.INDEX] = index
    if page is not None:
        go_to_page(page)


def select_from_grid(chart_key: str) -> None:
    if (index := grid_view.index_from_selection(state[chart_key].selection)) is not None:
        show_image(index)
        state[Keys.CLICKED] = True


def nav_button(column, text: str, callback, target: int | None, *more_args) -> None:
    """A button that calls `callback(target, *more_args)`; disabled without a target."""
    key, arguments = "dataset_" + text.lower().replace(" ", "_"), (target, *more_args)
    column.button(text, key=key, disabled=target is None, on_click=callback, args=arguments)


def choices_bar() -> tuple[str, str, int, int]:
    """Split, class, rows and columns of the grid; a new split or class starts on page 1."""
    split_column, class_column, rows_column, columns_column = st.columns([3, 3, 1, 1])
    labels = view.SPLIT_LABELS
    split = split_column.radio(
        "Split",
        SPLITS,
        format_func=labels.get,
        horizontal=True,
        key=Keys.SPLIT,
        on_change=show_image,
        args=(None, 1),
    )
    class_name = class_column.selectbox(
        "Class", view.CLASS_FILTER_OPTIONS, key=Keys.CLASS, on_change=go_to_page, args=(1,)
    )
    rows = rows_column.number_input("Rows", 1, view.MAX_ROWS, view.DEFAULT_ROWS, key=Keys.ROWS)
    columns = columns_column.number_input(
        "Columns", 1, view.MAX_COLUMNS, view.DEFAULT_COLUMNS, key=Keys.COLUMNS
    )
    return split, class_name, rows, columns


def grid_section(data, indices, current: view.DatasetView, rows: int, columns: int) -> None:
    """One page of pictures with their class names; a click inspects one."""
    page_size = rows * columns
    pages = grid_view.page_count(len(indices), page_size)
    state[Keys.PAGE] = grid_view.clamp_page(state[Keys.PAGE], pages)
    previous_column, page_column, next_column = st.columns(3, vertical_alignment="bottom")
    page = page_column.number_input(f"Page (of {pages:,})", 1, pages, key=Keys.PAGE)
    nav_button(previous_column, "Previous page", go_to_page, page - 1 if page > 1 else None)
    nav_button(next_column, "Next page", go_to_page, page + 1 if page < pages else None)
    shown = grid_view.page_items(indices, page, page_size)
    st.caption(view.page_caption(current, len(shown), (page - 1) * page_size, len(indices)))
    captions = [CLASS_NAMES[label] for label in data.labels[shown]]
    tile_px = min(110, view.GRID_WIDTH_PX // columns)
    grid = figures.image_mosaic_figure(
        data.images[shown], captions, shown, columns, highlight_index=current.image, tile_px=tile_px
    )
    key = view.grid_chart_key(current, page, rows, columns)
    widgets.chart(grid, key, lambda: select_from_grid(key), width="content")


def inspector_section(data, indices, split: str, page_size: int) -> None:
    """One picture up close: every pixel's value, raw or as the model sees it."""
    st.subheader("One picture up close")
    index = st.number_input(
        f"Image number (0-{len(data) - 1:,})",
        0,
        len(data) - 1,
        None,
        key=Keys.INDEX,
        placeholder="Click a picture or type a number",
    )
    if index is None:
        st.info("Click a picture in the grid, or type its number above, to see it large.")
        return
    label = int(data.labels[index])
    st.markdown(
        f"**Image {index:,}** of the {split} split: **{CLASS_NAMES[label]}** (class {label})"
    )
    pixel_view = st.radio("Pixel values", view.PIXEL_VIEWS, horizontal=True, key=Keys.PIXELS)
    scaled = pixel_view == view.PIXEL_VIEWS[1]
    heatmap = figures.pixel_heatmap_figure(data.images[index], scaled)
    widgets.chart(heatmap, width="content", key="dataset_inspector")
    for column, step in zip(st.columns(2), (-1, 1), strict=True):
        target = grid_view.neighbour(indices, index, step)
        text = "Previous image" if step < 0 else "Next image"
        # The grid follows to the page that shows the new picture.
        page = grid_view.page_of(indices, target, page_size)
        nav_button(column, text, show_image, target, page)
    st.caption(view.SCALING_NOTE)


def statistics_section(split: str) -> None:
    """How many photos per class, how bright they are, and the average photo of each class."""
    stats = cache.get_split_stats(split)
    st.header(f"Statistics of the {split} split")
    charts_column, means_column = widgets.side_by_side(2, width=470)
    with charts_column:
        st.subheader("Photos per class")
        counts = figures.class_counts_figure(stats.class_counts, CLASS_NAMES)
        widgets.chart(counts, key="dataset_counts")
        st.caption(view.counts_note(stats))
        st.subheader("How bright are the pixels?")
        histogram = figures.intensity_histogram_figure(stats.intensity_counts)
        widgets.chart(histogram, key="dataset_histogram")
        st.caption(view.intensity_note(stats))
    with means_column:
        st.subheader("The average photo of each class")
        means = figures.mean_images_figure(stats.mean_images, CLASS_NAMES)
        widgets.chart(means, width="content", key="dataset_means")
        st.caption(view.MEANS_NOTE)


# The page's first run in a session (and the first after another page, since Streamlit
# drops the widgets of a page we left) takes split, class and image from the URL.
if Keys.SPLIT not in state:
    linked = view.DatasetView.from_params(st.query_params.to_dict())
    state.update(view.linked_state(linked, dataset.split(linked.split).labels))

st.title("The Fashion-MNIST dataset")
st.markdown(view.INTRO)
split, class_name, rows, columns = choices_bar()
data = dataset.split(split)
indices = view.class_indices(data.labels, class_name)
current = view.DatasetView(split, class_name, state[Keys.INDEX])
if state.pop(Keys.CLICKED, False):  # on a projector the inspector is below the grid
    widgets.scroll_to("dataset_inspector_column")
grid_column, inspector_column = widgets.side_by_side(2, width=560)  # stacked when narrow
with grid_column:
    grid_section(data, indices, current, rows, columns)
with inspector_column.container(key="dataset_inspector_column"):
    inspector_section(data, indices, split, rows * columns)
statistics_section(split)
widgets.sync_query_params(current.to_params())
