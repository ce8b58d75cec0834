"""The one Streamlit helper module shared by the pages: routing, cached resources, the
URL, and the widgets that several pages draw the same way.

Everything here is thin glue; the logic lives in the plain-Python package `classifier`.
Caches are keyed by names, run ids and checksums, never by an array (README, "Caching").
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from classifier import auth
from classifier.data import DatasetError, FashionMNIST, load_dataset
from classifier.jobs.process import JobBusyError
from classifier.store.runs import RUNNING, ModelLoadError, RunError, RunInfo, RunStore
from classifier.views.dataset import SplitStats, compute_split_stats
from classifier.views.text import escape_markdown, run_labels
from classifier.views.train import QUICK_NAME, quick_config, training_progress

ROUTED_ONCE = "ui_routed_once"  # session key: this session was sent through app.py once
PRESENTER_OK = "presenter_password_ok"  # session key: the presenter password was accepted
TOO_MANY = "Too many tries: wait a minute, then try again."
QUICK_RUN = "quick_training_run"  # session key: the quick training this session started
QUICK_ERROR = "quick_training_error"
QUICK_LIVE_SET = "quick_training_live_set"  # session key: the pictures the quick demo shows


def start_page() -> None:
    """What every page does first: go through the router, then offer the presenter login."""
    route_through_app()
    presenter_sidebar()


def route_through_app() -> None:
    """Make a deep link (e.g. /dataset) on a fresh server go through app.py's router.

    README, "Deep links on a fresh server skip app.py": until some run calls st.navigation,
    Streamlit runs a page file directly, without app.py. Every page calls this first: it
    switches that mode off and reruns once, and the rerun goes through st.navigation to the
    same page. Once per session only: AppTest turns the mode back on before every run, and a
    rerun there would swallow clicks.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if not st.session_state.get(ROUTED_ONCE):
            st.session_state[ROUTED_ONCE] = True
            st.rerun()


# --- Presenter and viewers (README, "Serving to others") ------------------------------------


@st.cache_resource
def _login_limiter() -> auth.RateLimiter:
    return auth.RateLimiter()  # one per server: failures count across sessions


def presenter_settings() -> auth.PresenterSettings:
    return auth.load_settings(st.secrets, os.environ)


def is_presenter() -> bool:
    """May this session train, stop and delete? Asked again right before every such action:
    a hidden button only changes what the browser draws."""
    user = st.user if st.user.get("is_logged_in") else {}
    return auth.is_presenter(
        presenter_settings(),
        password_ok=st.session_state.get(PRESENTER_OK) is True,
        email=user.get("email"),
        email_verified=user.get("email_verified"),
    )


def presenter_button(label: str, key: str, **options) -> bool:
    """A button only the presenter sees; True when the presenter clicked it."""
    if not is_presenter():
        return False
    return st.button(label, key=key, **options) and is_presenter()


def presenter_sidebar() -> None:
    """Log in and out as presenter, when a presenter is configured (else nothing shows)."""
    settings = presenter_settings()
    if not settings.enabled:
        return
    sidebar = st.sidebar.container(border=True)
    if is_presenter():
        sidebar.caption("You are the presenter: you can train, stop and delete models.")
        if sidebar.button("Log out", key="presenter_logout"):
            st.session_state.pop(PRESENTER_OK, None)
            if st.user.get("is_logged_in"):
                st.logout()
            st.rerun()
        return
    sidebar.caption("You are watching. The presenter can train, stop and delete models.")
    if settings.password_enabled:
        form = sidebar.form("presenter_login", border=False)
        typed = form.text_input("Presenter password", type="password", key="presenter_password")
        if form.form_submit_button("Log in as presenter"):
            check = lambda: auth.verify_password(typed, settings.password_hash)  # noqa: E731
            result = _login_limiter().attempt(st.context.ip_address or "local", check)
            st.session_state[PRESENTER_OK] = result == auth.OK
            if result == auth.OK:
                st.rerun()
            messages = {auth.WRONG: "That is not the password.", auth.LIMITED: TOO_MANY}
            sidebar.error(messages[result])
    if settings.login_enabled and sidebar.button("Log in", key="presenter_oidc_login"):
        st.login()


@st.cache_resource(show_spinner="Loading Fashion-MNIST...")
def _cached_dataset() -> FashionMNIST:
    # cache_resource, not cache_data: one shared read-only copy, no pickling per rerun.
    return load_dataset()


def get_dataset() -> FashionMNIST:
    """The dataset, loaded once per server; on failure, explain how to fix it and stop."""
    try:
        return _cached_dataset()
    except DatasetError as error:
        st.error(f"The Fashion-MNIST dataset could not be loaded. {error}")
        st.stop()
        raise  # unreachable: st.stop() ends the script run


@st.cache_resource(show_spinner="Computing statistics...")
def get_split_stats(split_name: str) -> SplitStats:
    """Statistics of one split, computed once per server. Keyed by the split's NAME: a big
    array as a cache argument would be hashed from a sample and could give a stale hit."""
    return compute_split_stats(get_dataset().split(split_name))


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


def scroll_to(key: str) -> None:
    """Scroll the page so that the container with this key is at the top of the screen."""
    st.iframe(
        f"<script>window.parent.document.querySelector('.st-key-{key}')"
        "?.scrollIntoView({behavior: 'smooth', block: 'start'});</script>",
        height=1,
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
        return st.selectbox(setting.label, options, options.index(default), key=key)
    if setting.widget == "checkbox":
        return st.checkbox(setting.label, default, key=key)
    return int(st.number_input(setting.label, *options, default, key=key))


PICTURE_SOURCES = {"upload": "Upload a photo", "camera": "Take a photo", "draw": "Draw a garment"}


def picture_input(key_prefix: str):
    """A picture of the user's: (its bytes, None) for a photo uploaded or taken, (None, the
    RGBA pixels) for a drawing on the canvas; None until there is one."""
    from classifier.ml.images import ACCEPTED_TYPES

    sources = list(PICTURE_SOURCES)
    source = st.segmented_control(
        "Your picture",
        sources,
        format_func=PICTURE_SOURCES.get,
        default="upload",
        key=f"{key_prefix}_source",
    )
    if source == "draw":
        from streamlit_drawable_canvas import st_canvas

        st.caption(
            "Draw one garment with the mouse or a finger; the model answers after each stroke."
        )
        canvas = st_canvas(
            stroke_width=16,
            stroke_color="#000000",
            background_color="",
            height=280,
            width=280,
            return_image_data=True,
            key=f"{key_prefix}_canvas",
        )
        drawing = canvas.image_data
        return None if drawing is None or not drawing[..., 3].any() else (None, drawing)
    if source == "camera":
        picture = st.camera_input("Take a photo of one garment", key=f"{key_prefix}_camera")
    else:
        upload_types = list(ACCEPTED_TYPES)
        picture = st.file_uploader("Upload a photo", type=upload_types, key=f"{key_prefix}_upload")
    return None if picture is None else (picture.getvalue(), None)


def own_picture(run: RunInfo, runs_root: str, key_prefix: str, note: str) -> None:
    """A photo or a drawing of the user's, prepared like the dataset, and what the run's
    model says of it: the original beside the 28 x 28 picture the model sees, with `note`."""
    from classifier.ml.images import ImageError, prepare_drawing
    from classifier.ml.inference import classify_prepared, classify_upload

    if (picture := picture_input(key_prefix)) is None:
        return
    photo, drawing = picture
    try:
        model = get_model(runs_root, run.run_id, run.model_sha256)
        if photo is not None:
            result = classify_upload(model, photo)
        else:
            result = classify_prepared(model, prepare_drawing(drawing))
    except ImageError as error:
        st.error(str(error))
        return
    original_column, pair_column, note_column = st.columns([1, 3, 1])
    original_column.image(photo if photo is not None else drawing, caption="Your picture")
    with pair_column:
        sees, key = "What the model sees", f"{key_prefix}_upload"
        prediction_pair(result.image.pixels, result.probabilities, None, key, sees)
    note_column.info(note)
    for remark in result.image.notes + ["inverted to light on dark"] * result.image.inverted:
        note_column.caption(f"Note: {remark}.")


def runs_overview(store: RunStore, runs: list[RunInfo]) -> None:
    """Every run: a table, curves to compare, and (for the presenter) deleting one."""
    from classifier.figures import train as train_figures
    from classifier.views import train as train_view

    st.subheader("Runs")
    if not runs:
        st.info("No runs yet. Choose settings above and press Train.")
        return
    st.dataframe(train_view.run_table(runs), hide_index=True)
    labels = run_labels(runs)
    compare = st.multiselect(
        "Compare runs", list(labels), format_func=labels.get, key=train_view.Keys.COMPARE
    )
    if compare:
        curves, names = train_view.COMPARE_CURVES, train_view.METRIC_NAMES
        metric = st.segmented_control(
            "Curve",
            curves,
            format_func=names.get,
            default="test_accuracy",
            key=train_view.Keys.COMPARE_METRIC,
        )
        metrics = {run: (labels[run], store.read_metrics(run)) for run in compare}
        figure = train_figures.compare_runs_figure(metrics, metric or "test_accuracy")
        st.plotly_chart(figure, key="train_compare_fig")
    if is_presenter():  # viewers cannot delete
        _delete_section(store, runs)


def _delete_section(store: RunStore, runs: list[RunInfo]) -> None:
    from classifier.views import train as train_view

    with st.expander("Delete a run"):
        doomed = run_picker("Run to delete", runs, key=train_view.Keys.DELETE_RUN).run_id
        sure = "Yes, delete this run and its model for good"
        confirm = st.checkbox(sure, key=train_view.Keys.DELETE_CONFIRM)
        if presenter_button("Delete", key="train_delete", disabled=not confirm, type="primary"):
            try:
                store.delete(doomed)
                st.session_state.pop(train_view.Keys.DELETE_CONFIRM, None)
                st.rerun()
            except RunError as error:
                st.error(escape_markdown(str(error)))


def run_downloads(store: RunStore, info: RunInfo, has_metrics: bool) -> None:
    """The downloads of a finished run: its model and its epoch table."""
    from classifier.store.files import read_run_file

    run_id = info.run_id
    left, right = st.columns(2)
    if info.has_model:
        model = lambda: read_run_file(store.model_path(run_id))  # noqa: E731
        with left:
            run_download("Model (.keras)", store, run_id, model, f"{run_id}.keras")
    if has_metrics:
        csv = lambda: store.metrics_csv(run_id)  # noqa: E731
        with right:
            run_download("Metrics (CSV)", store, run_id, csv, f"{run_id}-metrics.csv")


def run_download(label: str, store: RunStore, run_id: str, produce, file_name: str) -> None:
    """A download of one of a run's files. `produce` runs on the click, not on every rerun
    (no megabytes read for nothing); if the run was deleted meanwhile, a toast says so
    instead of a download that silently does nothing."""

    def check_run_still_exists() -> None:
        if not store.run_dir(run_id).is_dir():
            st.toast("This run was deleted meanwhile: there is nothing to download.")

    key = "download_" + file_name.replace(".", "_")
    mime = "text/csv" if file_name.endswith(".csv") else "application/octet-stream"
    st.download_button(
        label,
        produce,
        file_name=file_name,
        mime=mime,
        key=key,
        on_click=check_run_still_exists,
        icon=":material/download:",  # the icon says "download": the label fits a narrow column
    )


def progress_bar(info: RunInfo, batches: list[dict]) -> None:
    """Where a live run stands (or the step after its last epoch): the same bar on every
    page that watches a run."""
    progress = training_progress(info, batches)
    st.progress(progress.fraction, text=progress.text)


def live_predictions(info: RunInfo, metrics: list[dict], key: str) -> None:
    """What a live run's model gets right as it learns, on every page that watches one: in
    big type how many test pictures it got right after the last epoch, and the tutorial's
    grid of a fixed set of test pictures (the chooser's `key`), from the live sample."""
    from classifier.figures import train as train_figures
    from classifier.store.history import LIVE_FILE, LIVE_SETS, read_live
    from classifier.views import train as view

    if count := view.right_count(metrics):
        st.markdown(f"### {count.text}\n\n{count.change_text}", anchors=False)
    else:
        st.caption(view.RIGHT_COUNT_WAITING)
    live = read_live(info.path / LIVE_FILE)
    if live is None:
        st.caption(view.LIVE_WAITING)
        return
    test = get_dataset().test
    if not (rows := view.live_set_rows(live["indices"], test.labels)):
        return
    grid = st.container()  # right under the count; the chooser goes under the grid
    hint = "The hardest pictures come from the last run recorded before this one."
    options = {"format_func": LIVE_SETS.get, "default": next(iter(rows)), "help": hint}
    wanted = st.segmented_control("Pictures", list(rows), key=key, required=True, **options)
    chosen = view.chosen_live_set(rows, wanted)
    indices = [live["indices"][row] for row in rows[chosen]]
    probabilities = live["probabilities"][rows[chosen]]
    figure = train_figures.live_grid_figure(
        test.images[indices], probabilities, test.labels[indices], indices
    )
    with grid:
        chart(figure, f"{key}_grid", width="content")
        st.caption(view.live_caption(live, info))


@st.fragment(run_every=1)
def watch_run(store: RunStore, run_id: str) -> None:
    """The progress of a live run and what its model gets right, every second; reruns the
    whole page when it has ended."""
    try:
        info = store.get(run_id)
    except RunError:  # deleted meanwhile
        st.rerun()
    if info.status != RUNNING:
        st.rerun()
    progress_bar(info, store.read_batches(run_id))
    live_predictions(info, store.read_metrics(run_id), key=QUICK_LIVE_SET)


def start_quick_training() -> None:
    """Start the first-run demo's training in a worker (a button's callback)."""
    from classifier.jobs.training_job import get_job_manager

    if not is_presenter():
        return
    try:
        st.session_state[QUICK_RUN] = get_job_manager().start(quick_config(), QUICK_NAME)
        st.session_state.pop(QUICK_ERROR, None)
    except (JobBusyError, RunError) as error:
        st.session_state[QUICK_ERROR] = str(error)


def quick_training(store: RunStore, note: str) -> None:
    """The first-run demo: a button that trains the tutorial's model in the background,
    then its progress until it ends (the page then reruns and finds the model)."""
    st.info(note)
    st.page_link("pages/train.py", label="Open the Train page", icon=":material/model_training:")
    watched = st.session_state.get(QUICK_RUN)
    watched = watched or next((run.run_id for run in store.active_runs()), None)
    info = store.get(watched) if watched and store.run_dir(watched).is_dir() else None
    if info and info.status == RUNNING:
        watch_run(store, info.run_id)
        return
    if info and info.error:
        st.error(escape_markdown(f"The training of '{info.name}' did not finish: {info.error}"))
    if not is_presenter():
        st.caption("The presenter can start the training here.")
        return
    start = {"on_click": start_quick_training, "type": "primary"}
    st.button("Train a quick model", key="verify_quick_train", **start)
    if message := st.session_state.get(QUICK_ERROR):
        st.warning(escape_markdown(message))


def run_picker(label: str, runs: list[RunInfo], key: str) -> RunInfo:
    """A select box of runs: its values are run ids, shown by unique, human labels."""
    labels = run_labels(runs)
    chosen = st.selectbox(label, list(labels), format_func=labels.get, key=key)
    return next(run for run in runs if run.run_id == chosen)


def test_probabilities(store: RunStore, run: RunInfo):
    """The run's probabilities on the test set; if its model cannot be loaded, say why and
    stop the page."""
    try:
        return get_test_probabilities(str(store.root.resolve()), run.run_id, run.model_sha256)
    except ModelLoadError as error:
        st.error(escape_markdown(f"{error} Choose another model above."))
        st.stop()


# Models, predictions and saliency are keyed by the run store's folder, the run id and the
# model's sha256: a retrained or replaced model gets new entries, and nothing big is hashed.


_frozen = False  # whether get_model has frozen the garbage collector's long-lived objects


@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def get_model(runs_root: str, run_id: str, model_sha256: str | None):
    """A run's Keras model, loaded once per server (raises ModelLoadError, never cached)."""
    import gc

    model = RunStore(runs_root).load_model(run_id)
    # README, "Streamlit calls keras.backend.clear_session() after every script run": its
    # gc.collect() over TensorFlow's objects costs 0.1-1 s a rerun. Freezing what exists
    # after the first load (modules, TensorFlow: long-lived) makes later collections
    # milliseconds. Only once: frozen objects are never freed, and later models come and go
    # with the cache.
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True
    return model


@st.cache_resource(show_spinner="Predicting the 10,000 test images...", max_entries=4)
def get_test_probabilities(runs_root: str, run_id: str, model_sha256: str | None):
    """Softmax probabilities (10000, 10) of a run's model on the test set, read-only.

    A completed run recorded them at its last epoch (history.py), from the very weights it
    saved: those are used (float16, as float32) when every epoch is there and the model file
    is intact, so the grid opens without loading TensorFlow; otherwise the model predicts.
    """
    from classifier.data import scale_images
    from classifier.ml.inference import probabilities
    from classifier.store.files import sha256_file
    from classifier.store.history import HISTORY_FILE, epoch_count, file_size
    from classifier.store.runs import COMPLETED

    store = RunStore(runs_root)
    try:
        info, history = store.get(run_id), store.run_dir(run_id) / HISTORY_FILE
        if (
            info.status == COMPLETED
            and info.epochs_done > 0
            and epoch_count(history) == info.epochs_done
            and info.model_sha256
            and sha256_file(store.model_path(run_id)) == info.model_sha256
        ):
            size = file_size(history)
            return get_epoch_probabilities(runs_root, run_id, size, info.epochs_done)
    except (RunError, OSError):
        pass  # loading the model says what is wrong
    model = get_model(runs_root, run_id, model_sha256)
    probs = probabilities(model, scale_images(get_dataset().test.images))
    probs.setflags(write=False)
    return probs


# A run's recorded history (history.py) is keyed by the store, the run id and the file's
# size, which grows with each epoch: never by an array.


@st.cache_resource(show_spinner="Reading the recorded predictions...", max_entries=3)
def get_replay(runs_root: str, run_id: str, size: int):
    """A run's history with what it says (verify_view.Replay), read once; None without one."""
    from classifier.store.history import HISTORY_FILE, read_history
    from classifier.views.verify import Replay

    history = read_history(RunStore(runs_root).run_dir(run_id) / HISTORY_FILE)
    return Replay(history, get_dataset().test.labels) if len(history) else None


@st.cache_resource(show_spinner=False, max_entries=8)
def get_epoch_probabilities(runs_root: str, run_id: str, size: int, epoch: int):
    """The recorded probabilities (10000, 10) of one 1-based epoch as float32, read-only:
    only the epochs shown are converted, the last few kept."""
    return get_replay(runs_root, run_id, size).probabilities(epoch)


def run_replay(store: RunStore, run: RunInfo):
    """The chosen run's Replay (cached), or None when it recorded no history."""
    from classifier.store.history import HISTORY_FILE, file_size, record_bytes

    size = file_size(store.run_dir(run.run_id) / HISTORY_FILE)
    if size < record_bytes():
        return None
    return get_replay(str(store.root.resolve()), run.run_id, size)


def epoch_probabilities(store: RunStore, run: RunInfo, replay, epoch: int | None):
    """The test probabilities the page shows: the run's model's (at the last epoch, or
    without a history), or those recorded at an earlier `epoch`."""
    if replay is None or epoch is None or epoch >= replay.epochs:
        return test_probabilities(store, run)
    from classifier.store.history import HISTORY_FILE, file_size

    size = file_size(store.run_dir(run.run_id) / HISTORY_FILE)
    return get_epoch_probabilities(str(store.root.resolve()), run.run_id, size, epoch)


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
        state[f"{key}_due"] = time.monotonic() + PLAY_SECONDS / 2

    def stop() -> None:
        state[playing] = False

    if state.get(playing):
        _play_timer(key, epochs)  # before the slider: it may set the slider's value
    else:
        st.empty()  # the timer's place, so that Play and Stop do not move the row below
    row = st.container(horizontal=True, vertical_alignment="bottom", wrap=False)
    # One button (one key) that turns from Play into Stop: two would both show for a moment.
    text, action = ("Stop", stop) if state.get(playing) else ("Play", play)
    row.button(text, key=f"{key}_button", on_click=action, icon=PLAYER_ICONS[text])
    return row.slider(label, 1, epochs, key=key, on_change=stop, help=help)


@st.fragment(run_every=PLAY_SECONDS)
def _play_timer(key: str, epochs: int) -> None:
    """While playing: every PLAY_SECONDS, the next epoch and a rerun of the page. The full
    run that draws this fragment does nothing here (its step is not due yet)."""
    state, playing, due = st.session_state, f"{key}_playing", f"{key}_due"
    now = time.monotonic()
    if not state.get(playing) or now < state.get(due, 0.0):
        return
    state[key] = min(state.get(key, 1) + 1, epochs)
    state[playing] = state[key] < epochs
    state[due] = now + PLAY_SECONDS / 2
    st.rerun()


@st.cache_data(show_spinner=False, max_entries=256)
def get_saliency(runs_root: str, run_id: str, model_sha256: str | None, index: int, method: str):
    """The saliency map of one test image for its predicted class (small: cache_data)."""
    from classifier.data import scale_images
    from classifier.ml.inference import saliency

    model = get_model(runs_root, run_id, model_sha256)
    return saliency(model, scale_images(get_dataset().test.images[index]), method=method)


# --- The Explore page: what a model sees (features), maps, nearest pictures, suspects ---------
# Keyed by the run store, the run id and the model's sha256 (or a job's key and the size of its
# result): never by an array.


@st.cache_resource(show_spinner="Looking at the pictures through the model...", max_entries=4)
def get_features(runs_root: str, run_id: str, model_sha256: str | None, split: str):
    """The model's second-to-last layer for every picture of a split, (N, d), read-only."""
    from classifier.data import scale_images
    from classifier.ml.features import feature_model, features

    model = get_model(runs_root, run_id, model_sha256)
    values = features(feature_model(model), scale_images(get_dataset().split(split).images))
    values.setflags(write=False)
    return values


@st.cache_resource(show_spinner="Indexing the 60,000 training pictures...", max_entries=4)
def get_neighbour_index(runs_root: str, run_id: str, model_sha256: str | None):
    """The nearest-picture index over the training pictures' features, built once per run."""
    from classifier.ml.features import NeighbourIndex

    return NeighbourIndex(get_features(runs_root, run_id, model_sha256, "train"))


@st.cache_resource(show_spinner=False, max_entries=4)
def get_pca_map(runs_root: str, run_id: str, model_sha256: str | None):
    from classifier.ml.features import principal_components

    points = principal_components(get_features(runs_root, run_id, model_sha256, "test"))
    points.setflags(write=False)
    return points


@st.cache_resource(show_spinner=False, max_entries=8)
def get_test_suspects(runs_root: str, run_id: str, model_sha256: str | None):
    """Confident learning on the test set with a run's model (suspects.Ranking)."""
    from classifier.ml.label_ranking import rank_suspects

    probs = get_test_probabilities(runs_root, run_id, model_sha256)
    return rank_suspects(probs, get_dataset().test.labels)


@st.cache_resource(show_spinner=False, max_entries=4)
def get_train_suspects(runs_root: str, key: str, stamp: int, preset: str, folds: int):
    """The cross-validated probabilities of a complete job (the preset's epochs, all
    training pictures) and their suspects, or None. `stamp`: the result file's mtime."""
    from pathlib import Path

    from classifier.jobs.label_check import CrossValidation, read_result
    from classifier.ml.label_ranking import rank_suspects

    probs = read_result(Path(runs_root), CrossValidation(preset, folds))
    if probs is None:
        return None
    probs.setflags(write=False)
    return rank_suspects(probs, get_dataset().train.labels[: len(probs)]), probs


def explore_features(store: RunStore, run: RunInfo, split: str):
    """A run's features of a split (cached); if its model cannot be loaded, say why and stop."""
    try:
        return get_features(str(store.root.resolve()), run.run_id, run.model_sha256, split)
    except ModelLoadError as error:
        st.error(escape_markdown(f"{error} Choose another model above."))
        st.stop()


def test_suspects(store: RunStore, run: RunInfo):
    """Confident learning on the test set with the run's model (cached)."""
    test_probabilities(store, run)  # says why, if the model cannot be loaded
    return get_test_suspects(str(store.root.resolve()), run.run_id, run.model_sha256)


def nearest_training_pictures(store: RunStore, run: RunInfo, query, exclude=None, k: int = 8):
    """The k training pictures nearest to a feature vector (features.NeighbourIndex)."""
    explore_features(store, run, "train")  # says why, if the model cannot be loaded
    index = get_neighbour_index(str(store.root.resolve()), run.run_id, run.model_sha256)
    return index.search(query, k, exclude)[0]


def explore_map(store: RunStore, run: RunInfo, method: str):
    """The map's points (N, 2), and a job (features.EmbeddingJob) while the t-SNE map is not
    ready (the PCA map meanwhile). The t-SNE map starts in the background the first time."""
    from classifier.data import SPLIT_SIZES
    from classifier.ml.features import EMBEDDINGS, read_map

    root = str(store.root.resolve())
    pca = get_pca_map(root, run.run_id, run.model_sha256) if method == "pca" else None
    explore_features(store, run, "test")
    path = store.run_dir(run.run_id)
    if method == "pca":
        return pca, None
    points = read_map(path, SPLIT_SIZES["test"])
    if points is not None:
        return points, None
    job = EMBEDDINGS.get(path)
    if job is None or not job.running:
        values = get_features(root, run.run_id, run.model_sha256, "test")
        job = EMBEDDINGS.start(path, values)
        if not job.running and (points := read_map(path, SPLIT_SIZES["test"])) is not None:
            return points, None
    return get_pca_map(root, run.run_id, run.model_sha256), job


def train_suspects(store: RunStore, job):
    """(suspects.Ranking, probabilities) of a complete cross-validation job, or None."""
    from classifier.jobs.label_check import RESULT_FILE, job_dir

    result = job_dir(store.root, job) / RESULT_FILE
    try:
        stamp = result.lstat().st_mtime_ns
    except OSError:
        return None
    root = str(store.root.resolve())
    return get_train_suspects(root, job.key, stamp, job.preset, job.folds)


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
) -> None:
    """The tutorial's grid of the pictures `ordered` of a split (data.Split), a page at a
    time (its number in `page_key`); a click on a picture calls `on_pick(selection)`."""
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
        grid = prediction_grid_figure(images, probs[shown], labels, shown, columns, highlight)
        pick = (lambda: on_pick(state[key].selection)) if on_pick else None
        chart(grid, key, pick, width="content")


@st.fragment(run_every=2)
def background_status(job, waiting: str, failed: str) -> None:
    """While a background job (features.EmbeddingJob) runs: `waiting` and the seconds so far;
    `failed` and why when it failed; the page reruns when it is done."""
    if job.running:
        st.info(f"{waiting} ({job.seconds:.0f} s so far)")
    elif job.error:
        st.error(escape_markdown(f"{failed}: {job.error}"))
    else:
        st.rerun()


@st.fragment(run_every=1)
def cross_validation_job(store: RunStore, job) -> None:
    """A cross-validation job (label_check.CrossValidation): Start for the presenter, then its
    progress and Stop; the page reruns when it is done."""
    from classifier.jobs import label_check

    progress = label_check.job_state(store.root, job)
    if progress.status == label_check.COMPLETED:
        st.rerun()
    if progress.status == label_check.RUNNING:
        st.progress(progress.fraction, text=progress.text)
        if presenter_button("Stop", key="cross_validation_stop"):
            label_check.request_stop(store.root, job)
        return
    st.caption(escape_markdown(progress.text))
    if presenter_button("Check the training labels", key="cross_validation_start", type="primary"):
        try:
            label_check.start_job(store.root, job)
            st.rerun()
        except (JobBusyError, OSError, ValueError) as error:
            st.warning(escape_markdown(str(error)))


def side_by_side(count: int, width: int | tuple[int, ...] = 445) -> list:
    """`count` containers of `width` px (or one width each) side by side where the screen
    has room for them, wrapping to the next line where it has not (a picture grid needs
    440 px)."""
    widths = width if isinstance(width, tuple) else (width,) * count
    row = st.container(horizontal=True, gap="medium")
    return [row.container(width=each) for each in widths]
