"""Dataset: browse the pictures, inspect one of them, and see statistics of a split."""

import streamlit as st

import ui
from classifier import dataset_view, figures
from classifier.data import CLASS_NAMES, SPLITS

ui.route_through_app()

PIXEL_VIEWS = ("Raw 0-255", "Scaled 0-1")
GRID_WIDTH_PX = 560  # tiles shrink as columns are added, so the grid stays about this wide

dataset = ui.get_dataset()

# The first run of this page in a session (and the first after another page, since
# Streamlit drops the widgets of a page we left) takes split, class and image from the URL.
if "dataset_split" not in st.session_state:
    view = dataset_view.parse_view_params(st.query_params.to_dict())
    first_page_size = dataset_view.DEFAULT_ROWS * dataset_view.DEFAULT_COLUMNS
    st.session_state.update(
        dataset_split=view.split,
        dataset_class=view.class_name,
        dataset_index=view.image,
        dataset_page=dataset_view.linked_page(
            view, dataset.split(view.split).labels, first_page_size
        ),
    )


# Callbacks run before the next script run: the only moment a widget's value may be set.
def go_to_page(page: int) -> None:
    st.session_state.dataset_page = page


def show_image(index: int | None, page: int | None = None) -> None:
    st.session_state.dataset_index = index
    if page is not None:
        go_to_page(page)


def nav_button(column, text: str, callback, target: int | None, *more_args) -> None:
    """A full-width button that calls `callback(target, *more_args)`; disabled without target."""
    key, arguments = "dataset_" + text.lower().replace(" ", "_"), (target, *more_args)
    column.button(text, key=key, disabled=target is None, on_click=callback, args=arguments)


def select_from_grid(chart_key: str) -> None:
    index = dataset_view.index_from_selection(st.session_state[chart_key].selection)
    if index is not None:
        show_image(index)


st.title("The Fashion-MNIST dataset")
st.markdown(dataset_view.INTRO)

split_column, class_column, rows_column, columns_column = st.columns([3, 3, 1, 1])
split = split_column.radio(
    "Split",
    SPLITS,
    format_func=dataset_view.SPLIT_LABELS.get,
    horizontal=True,
    key="dataset_split",
    on_change=show_image,
    args=(None, 1),
)
class_name = class_column.selectbox(
    "Class",
    dataset_view.CLASS_FILTER_OPTIONS,
    key="dataset_class",
    on_change=go_to_page,
    args=(1,),
)
rows = rows_column.number_input(
    "Rows", 1, dataset_view.MAX_ROWS, dataset_view.DEFAULT_ROWS, key="dataset_rows"
)
columns = columns_column.number_input(
    "Columns", 1, dataset_view.MAX_COLUMNS, dataset_view.DEFAULT_COLUMNS, key="dataset_columns"
)

data = dataset.split(split)
indices = dataset_view.filter_indices(data.labels, class_name)
page_size = rows * columns
pages = dataset_view.page_count(len(indices), page_size)
st.session_state.dataset_page = dataset_view.clamp_page(st.session_state.dataset_page, pages)
view = dataset_view.DatasetView(split, class_name, st.session_state.dataset_index)

grid_column, inspector_column = st.columns([3, 2], gap="large")
with grid_column:
    previous_column, page_column, next_column = st.columns(3, vertical_alignment="bottom")
    page = page_column.number_input(f"Page (of {pages:,})", 1, pages, key="dataset_page")
    nav_button(previous_column, "Previous page", go_to_page, page - 1 if page > 1 else None)
    nav_button(next_column, "Next page", go_to_page, page + 1 if page < pages else None)
    shown = dataset_view.page_items(indices, page, page_size)
    st.caption(dataset_view.grid_caption(view, len(shown), (page - 1) * page_size, len(indices)))
    grid = figures.image_mosaic_figure(
        data.images[shown],
        [CLASS_NAMES[label] for label in data.labels[shown]],
        shown,
        columns,
        highlight_index=view.image,
        tile_px=min(110, GRID_WIDTH_PX // columns),
    )
    # One key per view drawn: any change gives a new chart without the old selection, so a
    # tile stays clickable again after the image was changed by a button or the number box
    # (plotly would take a second click on a still-selected point as "deselect").
    view_id = (split, dataset_view.CLASS_FILTER_OPTIONS.index(class_name), page, rows, columns)
    chart_key = "dataset_grid_" + "_".join(str(part) for part in (*view_id, view.image))
    st.plotly_chart(
        grid,
        key=chart_key,
        on_select=lambda: select_from_grid(chart_key),
        selection_mode="points",
        width="content",
        config={"displayModeBar": False},
    )

with inspector_column:
    st.subheader("One picture up close")
    index = st.number_input(
        f"Image number (0-{len(data) - 1:,})",
        0,
        len(data) - 1,
        None,
        key="dataset_index",
        placeholder="Click a picture or type a number",
    )
    if index is None:
        st.info("Click a picture in the grid, or type its number above, to see it large.")
    else:
        label = int(data.labels[index])
        st.markdown(
            f"**Image {index:,}** of the {split} split: **{CLASS_NAMES[label]}** (class {label})"
        )
        pixel_view = st.radio("Pixel values", PIXEL_VIEWS, horizontal=True, key="dataset_pixels")
        heatmap = figures.pixel_heatmap_figure(data.images[index], pixel_view == PIXEL_VIEWS[1])
        st.plotly_chart(heatmap, width="content", key="dataset_inspector")
        for column, step in zip(st.columns(2), (-1, 1), strict=True):
            target = dataset_view.neighbour(indices, index, step)
            text = "Previous image" if step < 0 else "Next image"
            # The grid follows to the page that shows the new image.
            nav_button(
                column, text, show_image, target, dataset_view.page_of(indices, target, page_size)
            )
        st.caption(dataset_view.SCALING_NOTE)

stats = ui.get_split_stats(split)
st.header(f"Statistics of the {split} split")
charts_column, means_column = st.columns(2, gap="large")
with charts_column:
    st.subheader("Photos per class")
    counts = figures.class_counts_figure(stats.class_counts, CLASS_NAMES)
    st.plotly_chart(counts, key="dataset_counts")
    st.caption(dataset_view.counts_note(stats))
    st.subheader("How bright are the pixels?")
    histogram = figures.intensity_histogram_figure(stats.intensity_counts)
    st.plotly_chart(histogram, key="dataset_histogram")
    st.caption(dataset_view.intensity_note(stats))
with means_column:
    st.subheader("The average photo of each class")
    means = figures.mean_images_figure(stats.mean_images, CLASS_NAMES)
    st.plotly_chart(means, width="content", key="dataset_means")
    st.caption(dataset_view.MEANS_NOTE)

ui.sync_query_params(dataset_view.view_to_params(view))
