"""Widgets that several pages draw the same way: charts, the URL, pickers, the epoch
player, a paged picture grid.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from classifier.store.runs import RunInfo
from classifier.views.text import run_labels


def sync_query_params(values: Mapping[str, str | None]) -> None:
    """Set these URL query parameters (None removes one), leaving any others alone.

    Writes only what changed: each write is a message to the browser, which then updates
    its address bar, so a copied link reopens the same view.
    """
    for name, value in values.items():
        if value is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != value:
            st.query_params[name] = value


# Where the page's own content starts: just below Streamlit's header bar (3.75rem, 60 px),
# which covers the top of the page. Pages start there (PAGE_CSS) and scroll_to stops there.
HEADER_CLEARANCE_PX = 64


def scroll_to(key: str) -> None:
    """Scroll the page so that the container with this key is at the top of the screen,
    unless its top is already in the upper part of the screen (beside what was clicked).
    Call it where it is drawn on the screen: Chromium did not run its frame below the first
    screen (Explore's map, 420 px high, pushed it there once)."""
    st.iframe(scroll_script(key), height=1)


def scroll_script(key: str) -> str:
    """scroll_to's frame. Streamlit may run it before it has drawn the container (on a busy
    machine), so it looks again every 50 ms, for up to 10 s, until the container is there."""
    return (
        "<script>const deadline = Date.now() + 10000;"
        "function scrollWhenDrawn() {"
        f"  const box = window.parent.document.querySelector('.st-key-{key}');"
        "  if (!box) { if (Date.now() < deadline) setTimeout(scrollWhenDrawn, 50); return; }"
        "  const boxTop = box.getBoundingClientRect().top;"
        f"  if (boxTop < {HEADER_CLEARANCE_PX} || boxTop > 0.6 * window.parent.innerHeight)"
        "    box.scrollIntoView({behavior: 'smooth', block: 'start'});"
        "}"
        "scrollWhenDrawn();</script>"
    )


def announce(key: str, text: str) -> None:
    """A note that the page scrolls to: after a click far below changed what is here."""
    st.container(key=key).info(text, icon=":material/arrow_downward:")
    scroll_to(key)


def chart(figure, key: str, on_select=None, **options) -> None:
    """A plotly chart without its mode bar; clicks on points call `on_select`."""
    if on_select is not None:
        options.update(on_select=on_select, selection_mode="points")
    st.plotly_chart(figure, key=key, config={"displayModeBar": False}, **options)


def prediction_pair(image, probabilities, true_label: int | None, key: str, title="") -> None:
    """The tutorial's pair: the picture with its blue/red label, and its ten bars."""
    from classifier.figures import verify as figures

    image_column, bars_column = st.columns([figures.IMAGE_FIGURE_PX, 230], gap="small")
    with image_column:
        picture = figures.prediction_image_figure(image, probabilities, true_label, title)
        chart(picture, f"{key}_image", width="content")
    with bars_column:
        chart(figures.value_bars_figure(probabilities, true_label), f"{key}_bars")


def setting_widget(setting, default):
    """The widget of one declarative setting (train_view.Setting), starting at `default`;
    returns the value it shows."""
    key, options = setting.key, setting.options
    if setting.widget == "slider":
        low, high, *step = options
        return st.slider(setting.label, low, high, default, step=step[0] if step else None, key=key)
    if setting.widget == "select_slider":
        return st.select_slider(setting.label, options, default, key=key)
    if setting.widget == "selectbox":
        return st.selectbox(
            setting.label, options, options.index(default), format_func=setting.shown, key=key
        )
    if setting.widget == "checkbox":
        return st.checkbox(setting.label, default, key=key)
    return int(st.number_input(setting.label, *options, default, key=key))


def run_picker(label: str, runs: list[RunInfo], key: str, width: int | str = "stretch") -> RunInfo:
    """A select box of runs: its values are run ids, shown by unique, human labels. In a
    row, give it a `width` in pixels that holds a label whole: the row wraps instead."""
    labels = run_labels(runs)
    chosen = st.selectbox(label, list(labels), format_func=labels.get, key=key, width=width)
    return next(run for run in runs if run.run_id == chosen)


PLAY_SECONDS = 1.0  # one epoch a second while playing


PLAYER_ICONS = {"Play": ":material/play_arrow:", "Stop": ":material/stop:"}


def epoch_player(label: str, epochs: int, key: str, help: str | None = None) -> int:
    """A slider of epochs 1..`epochs` (at least 2) with Play and Stop: playing moves the
    slider one epoch a second up to the last, rerunning the page at each step. Moving the
    slider by hand stops it."""
    state, playing = st.session_state, f"{key}_playing"

    def play() -> None:
        if state.get(key, epochs) >= epochs:
            state[key] = 1  # from the start
        state[playing] = True

    def stop() -> None:
        state[playing] = False

    def next_epoch() -> None:
        if state.get(playing):
            state[key] = min(state.get(key, 1) + 1, epochs)
            state[playing] = state[key] < epochs

    if state.get(playing):
        # Before the slider: the tick's callback sets the slider's value. A new key at
        # each epoch mounts a new one-shot timer in the browser.
        tick_after(f"{key}_tick_{state.get(key, 1)}", PLAY_SECONDS, next_epoch)
    else:
        st.empty()  # the timer's place, so that Play and Stop do not move the row below
    row = st.container(horizontal=True, vertical_alignment="bottom", wrap=False)
    # One button (one key) that turns from Play into Stop: two would both show for a moment.
    text, action = ("Stop", stop) if state.get(playing) else ("Play", play)
    row.button(text, key=f"{key}_button", on_click=action, icon=PLAYER_ICONS[text])
    return row.slider(label, 1, epochs, key=key, on_change=stop, help=help)


def tick_after(key: str, seconds: float, on_tick) -> None:
    """A one-shot timer in the browser: `seconds` after the page shows it, `on_tick` runs
    and the page reruns. The same key across reruns keeps the same timer; a new key starts
    a new one (so draw each step's timer with its own key). The clock runs in the browser,
    so each step is seen that long however slow the rerun: a `run_every` fragment that
    called st.rerun() stopped ticking now and then on a busy machine."""
    _ticker(key=key, data={"ms": int(seconds * 1000)}, height=0, on_tick_change=on_tick)


_TICKER_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  const timer = setTimeout(() => setTriggerValue("tick", true), (data && data.ms) || 1000);
  return () => clearTimeout(timer);
}
"""
_ticker = st.components.v2.component("studio_ticker", js=_TICKER_JS)


# Every page starts higher than Streamlit's 6rem (96 px): on a 720-pixel projector, 32 more
# pixels of the page on the first screen, and not under the header bar, which would hide the
# top of a first box (Present's Settings); a scrolled-to container stops there too. Our own
# constant CSS, put on the page by a style-only component (no raw HTML). More than one line:
# Streamlit takes a one-line string with brackets for a file name.
PAGE_CSS = f"""
[data-testid="stMainBlockContainer"] {{
  padding-top: {HEADER_CLEARANCE_PX}px;
}}
[class*="st-key-"] {{ scroll-margin-top: {HEADER_CLEARANCE_PX}px; }}
.st-key-studio_page_style {{ display: none; }}
"""
_page_style = st.components.v2.component("studio_page_style", css=PAGE_CSS, isolate_styles=False)


def page_style() -> None:
    """The studio's page layout (PAGE_CSS), drawn by the router on every page. Its own
    element is hidden: it takes no room, not even the gap between elements."""
    _page_style(key="studio_page_style", height=0)


def choice(label: str, options: Mapping[str, str], key: str, help: str | None = None) -> str:
    """One of a few options (keys of `options`, shown by their words) as a row of buttons."""
    shown = options.get
    return st.segmented_control(
        label, list(options), format_func=shown, key=key, required=True, help=help
    )


def region_chart(figure, key: str, on_select) -> None:
    """A plotly chart on which a click, a box or a lasso selects points (`on_select`)."""
    selection_mode = ("points", "box", "lasso")
    config = {"displayModeBar": False}  # the page has its own buttons; double-click zooms out
    st.plotly_chart(
        figure, key=key, on_select=on_select, selection_mode=selection_mode, config=config
    )


def paged_picture_grid(
    ordered,
    probs,
    split,
    page_key: str,
    key: str,
    on_pick=None,
    highlight: int | None = None,
    columns: int = 3,
    rows: int = 4,
    doubtful_labels: bool = False,
) -> None:
    """The tutorial's grid of the pictures `ordered` of a split (data.Split), a page at a
    time (its number in `page_key`); a click on a picture calls `on_pick(selection)`.
    `doubtful_labels`: pictures whose label may be wrong, drawn neither right nor wrong."""
    from classifier.figures.verify import prediction_grid_figure
    from classifier.views import grid as grid_view

    state, size = st.session_state, columns * rows
    pages = grid_view.page_count(len(ordered), size)
    state[page_key] = grid_view.clamp_page(state.get(page_key, 1), pages)
    if pages > 1:
        st.number_input(f"Page (of {pages:,})", 1, pages, key=page_key)
    shown = grid_view.page_items(ordered, state[page_key], size)
    if len(shown):
        images, labels = split.images[shown], split.labels[shown]
        grid = prediction_grid_figure(
            images, probs[shown], labels, shown, columns, highlight, doubtful_labels=doubtful_labels
        )
        pick = (lambda: on_pick(state[key].selection)) if on_pick else None
        chart(grid, key, pick, width="content")


# A picture grid (3 columns of tiles) and one picture beside it (its bars narrowed): 791 px,
# side by side in a 1280 px wide window, so a click's picture is beside the grid clicked.
GRID_AND_PICTURE = (445, 330)


def side_by_side(count: int, width: int | str | tuple[int | str, ...] = 445) -> list:
    """`count` containers of `width` px (or one width each; "stretch": the room left) side
    by side where the screen has room for them, wrapping to the next line where it has not
    (a picture grid needs 440 px)."""
    widths = width if isinstance(width, tuple) else (width,) * count
    row = st.container(horizontal=True, gap="medium")
    return [row.container(width=each) for each in widths]
