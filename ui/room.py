"""Let the room play: the Streamlit glue of the presenter's room panel (Present) and of the
phone page (/play). The logic is in classifier/views/room.py, the state in SQLite
(classifier/store/rooms.py): sessions keep nothing a restart would lose but the presenter's
room code, which the store can give back (the newest open room of the model)."""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from urllib.parse import urlparse

import streamlit as st

from classifier.data import CLASS_NAMES
from classifier.figures import room as figures
from classifier.store.rooms import Player, Room, RoomError, RoomStore, Round
from classifier.store.runs import RunInfo, RunStore
from classifier.views import room as view
from classifier.views.text import escape_markdown
from ui import cache, widgets
from ui.access import is_presenter, presenter_button

PHONE = "room_phone"  # session key: this session is a phone (it came to /play)
ROOM = "room_code"  # session key: the presenter's room
# The picture on a phone is 224 px (28 x 8): with the buttons, within a 390 x 844 screen. It
# is drawn at its own size, so Streamlit sends the PNG as it is (a resize would re-encode it,
# as a JPEG, at every poll).
PHONE_SCALE = 8
PRESENTER_SCALE = 16
QR_WIDTH_PX = 240
BARS_HEIGHT_PX = 330  # with the sentence and the scores, within a 1280 x 720 screen

_stores: dict[str, RoomStore] = {}
_stores_lock = threading.Lock()


def room_store(runs_root: Path) -> RoomStore:
    """The room store beside this run store; opened (and its schema made) once a server."""
    key = str(Path(runs_root).resolve())
    with _stores_lock:
        if key not in _stores:
            _stores[key] = RoomStore.beside(key)
        return _stores[key]


_frozen = False


def freeze_long_lived_objects() -> None:
    """Once a server: move what is loaded by now (Streamlit, plotly, numpy: 100,000+
    objects) out of the garbage collector's sight. Streamlit runs a full collection after
    every script run, and every phone polls once a second: 40 phones made that 40 scans of
    everything a second, more than two cores could give (docs/benchmarks.md, bench_room).
    The same remedy as ui.cache.get_model's for TensorFlow; what is frozen stays."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


# --- Phones only see /play ---------------------------------------------------------------


def is_phone_session() -> bool:
    """A phone: it came to /play (by the QR code's address); it sees no other page."""
    if st.session_state.get(PHONE) or "room" in st.query_params:
        return True
    try:
        return urlparse(st.context.url or "").path.rstrip("/").endswith("/play")
    except (TypeError, ValueError):
        return False


def navigation_position() -> str:
    """For app.py's st.navigation: no page menu for a phone."""
    return "hidden" if is_phone_session() else "sidebar"


def show_picture(place, index: int, scale: int, **options) -> None:
    place.image(cache.test_picture_uri(index, scale), **options)


# --- The phone page ----------------------------------------------------------------------

# The phone page's layout (it starts high as every page: ui.widgets.PAGE_CSS): big touch
# targets in two columns. Our own constant CSS, put on the page by a style-only component
# (not isolated, so its rules reach the page): no raw HTML.
PHONE_CSS = """
[data-testid="stMainBlockContainer"] { padding-bottom: 1rem; }
.st-key-room_choices { display: grid !important; grid-template-columns: 1fr 1fr; gap: 0.5rem; }
.st-key-room_choices > div { width: 100% !important; }
.st-key-room_choices button { min-height: 48px; width: 100%; font-size: 1.05rem; }
.st-key-room_join button, .st-key-room_code_form button { min-height: 48px; }
[data-testid="stElementToolbar"] { display: none; }
"""
_phone_style = st.components.v2.component("studio_phone_style", css=PHONE_CSS, isolate_styles=False)


def phone_page() -> None:
    """/play: join with the room code (from the QR code's address, or typed) and a
    nickname, then follow the presenter's rounds."""
    st.session_state[PHONE] = True
    freeze_long_lived_objects()
    _phone_style(key="room_phone_style", height=0)
    rooms = room_store(RunStore().root)
    room, player = _phone_identity(rooms)
    if room is None:
        _code_form(rooms)
    elif player is None:
        _join_form(rooms, room)
    else:
        _phone_round(rooms, room.code, player.token)


def _client() -> str:
    return st.context.ip_address or "local"


def _phone_identity(rooms: RoomStore) -> tuple[Room | None, Player | None]:
    """The room and player of this phone's address (?room=CODE&player=TOKEN)."""
    typed = st.query_params.get("room")
    if not typed:
        return None, None
    room, why = view.open_room(rooms, typed, _client())
    if room is None:  # a wrong code is counted once, not at every rerun: forget it
        widgets.sync_query_params({"room": None, "player": None})
        st.session_state["room_error"] = why
        return None, None
    if st.query_params.get("room") != room.code:
        st.query_params["room"] = room.code
    token = st.query_params.get("player")
    return room, rooms.player(room.code, token) if token else None


def _code_form(rooms: RoomStore) -> None:
    st.title("Play along", anchor=False)
    error = st.session_state.pop("room_error", None)
    if error:
        st.error(error)
    with st.form("room_code_form", border=False):
        typed = st.text_input("Room code", max_chars=12, placeholder="the code on the screen")
        if st.form_submit_button("Find the room", type="primary", width="stretch"):
            room, why = view.open_room(rooms, typed, _client())
            if room is None:
                st.error(why)
                return
            widgets.sync_query_params({"room": room.code, "player": None})
            st.rerun()


def _join_form(rooms: RoomStore, room: Room) -> None:
    st.title("Play along", anchor=False)
    st.markdown(f"Room **{room.code}**: guess what each picture shows, against the model.")
    with st.form("room_join", border=False):
        typed = st.text_input(
            "Your nickname (optional)",
            max_chars=view.MAX_NICKNAME_CHARS,
            placeholder="Player 17",
        )
        if st.form_submit_button("Join", type="primary", width="stretch"):
            try:
                player = rooms.join(room.code, view.clean_nickname(typed))
            except RoomError:
                st.error(view.NO_SUCH_ROOM)
                return
            st.query_params["player"] = player.token
            st.rerun()


@st.fragment(run_every=1)
def _phone_round(rooms: RoomStore, code: str, token: str) -> None:
    """The picture, ten buttons, and after the reveal the result, drawn again every second
    (the presenter's next picture arrives by itself). Nothing about the answer is drawn
    (or sent) before the reveal. One fragment for the poll and the taps: their reruns are
    merged, never lost (a full-page tap could be cut short by a poll's fragment rerun)."""
    shown = view.phone_view(rooms, code, token)
    if shown is None:
        st.info("This room has ended. Thank you for playing!")
        return
    st.caption(f"Room {code} · you are {escape_markdown(shown.player_name)}")
    if shown.round_id is None:
        st.subheader("Waiting for the first picture...", anchor=False)
        return
    st.markdown(f"**Picture {shown.round_number}**")
    with st.container(horizontal_alignment="center"):
        show_picture(st, shown.picture, PHONE_SCALE, width="content")
    if shown.revealed:
        text, right = view.phone_result(shown)
        {True: st.success, False: st.error, None: st.info}[right](text)
        st.markdown(f"**{view.score_text(shown.score, shown.answered)}**")
        st.caption("The next picture comes by itself.")
        return
    if shown.vote is None:
        st.markdown("What is it? Tap one.")
    else:
        st.success(view.vote_received(shown.vote))
    with st.container(key="room_choices"):
        for number, name in enumerate(CLASS_NAMES):
            st.button(
                name,
                key=f"room_vote_{number}",
                type="primary" if shown.vote == number else "secondary",
                width="stretch",
                on_click=_vote,
                args=(rooms, shown.round_id, shown.player_id, number),
            )


def _vote(rooms: RoomStore, round_id: int, player_id: int, choice: int) -> None:
    try:
        if not rooms.vote(round_id, player_id, choice):
            st.toast("Too late: voting on this picture has closed.")
    except RoomError as error:
        st.toast(str(error))


# --- The presenter's panel ------------------------------------------------------------------


def room_panel(run_store: RunStore, run: RunInfo, probs, labels) -> None:
    """Present's "Let the room play": the QR code, the joined count, the round (votes,
    reveal, next picture) and the scores. Presenter only."""
    if not is_presenter():
        st.info("Only the presenter can start a room.")
        return
    freeze_long_lived_objects()
    rooms = room_store(run_store.root)
    room = _presenter_room(rooms, run)
    if room is None:
        st.header("Let the room play", anchor=False)
        st.markdown(
            "Phones in the room scan a QR code, vote on each picture, and the room takes on "
            "this model."
        )
        if presenter_button("Start a room", key="room_start", type="primary"):
            room = rooms.create_room(run.run_id, run.model_sha256)
            view.start_round(rooms, room.code, probs, labels)
            st.session_state[ROOM] = room.code
            st.rerun()
        return
    current = rooms.current_round(room.code) or view.start_round(rooms, room.code, probs, labels)
    join_column, round_column = st.columns([2, 5], gap="large")
    with join_column:
        _join_card(rooms, room)
        if presenter_button("New room", key="room_new", type="tertiary"):
            st.session_state.pop(ROOM, None)
            new = rooms.create_room(run.run_id, run.model_sha256)
            view.start_round(rooms, new.code, probs, labels)
            st.session_state[ROOM] = new.code
            st.rerun()
    with round_column:
        _presenter_round(rooms, current, probs, labels)
        _scoreboard(rooms, room.code)


def _presenter_room(rooms: RoomStore, run: RunInfo) -> Room | None:
    """This session's room, or after a restart (or in a new tab) the model's newest one."""
    code = st.session_state.get(ROOM)
    room = rooms.get_room(code) if code else None
    if room is None or room.run_id != run.run_id:
        room = rooms.latest_room(run.run_id)
        if room is not None:
            st.session_state[ROOM] = room.code
    return room


def _join_card(rooms: RoomStore, room: Room) -> None:
    port = int(st.get_option("server.port") or 8501)
    server_address = st.get_option("server.address")
    host = view.room_host(server_address, st.context.headers.get("Host"), view.lan_ip())
    address = view.play_address(host, port, room.code)
    st.image(figures.qr_png(address, QR_WIDTH_PX), output_format="PNG")
    st.markdown(f"### {view.short_address(host, port)}")
    st.markdown(f"Room code **:blue[{room.code}]**")
    _joined_count(rooms, room.code)
    st.caption(f"Address: {address}")
    if not view.reachable_by_phones(server_address):
        st.caption(
            "This server listens on this machine only: phones cannot reach it. "
            "Serve the room with `make room`."
        )


@st.fragment(run_every=1)
def _joined_count(rooms: RoomStore, code: str) -> None:
    st.markdown(f"**{view.joined_text(rooms.player_count(code))}**")


def _scoreboard(rooms: RoomStore, code: str) -> None:
    board = view.scores(rooms, code)
    text = f"**{view.scores_text(board)}**"
    if board.top:
        best = [
            f"{place}. {escape_markdown(name)} ({right})"
            for place, (name, right) in enumerate(board.top, start=1)
        ]
        text += " Top players: " + " · ".join(best)
    st.markdown(text)


def _presenter_round(rooms: RoomStore, current: Round, probs, labels) -> None:
    if not current.revealed:
        st.subheader(f"Picture {current.number}: what is it?", anchor=False)
        picture_column, count_column = st.columns([3, 2], vertical_alignment="center")
        show_picture(picture_column, current.picture, PRESENTER_SCALE, width="stretch")
        with count_column:
            _voted_count(rooms, current.room_code, current.id)
            if presenter_button("Reveal", key="room_reveal", type="primary", shortcut="PageDown"):
                rooms.reveal(current.id)
                st.rerun()
        return
    counts = rooms.tally(current.id)
    title_column, next_column = st.columns([3, 1], vertical_alignment="center")
    title_column.subheader(f"Picture {current.number}", anchor=False)
    with next_column:
        if presenter_button(
            "Next picture", key="room_next", type="primary", shortcut="PageDown", width="stretch"
        ):
            view.start_round(rooms, current.room_code, probs, labels)
            st.rerun()
    st.markdown(f"#### {view.reveal_sentences(counts, current)}")
    picture_column, bars_column = st.columns([1, 4], vertical_alignment="center")
    show_picture(picture_column, current.picture, PRESENTER_SCALE, width="stretch")
    with bars_column:
        figure = figures.room_bars_figure(
            counts, probs[current.picture], current.true_label, height=BARS_HEIGHT_PX
        )
        widgets.chart(figure, "room_bars")


@st.fragment(run_every=1)
def _voted_count(rooms: RoomStore, code: str, round_id: int) -> None:
    """'23 of 31 voted', live; the choices stay hidden until the reveal."""
    latest = rooms.current_round(code)
    if latest is None or latest.id != round_id or latest.revealed:
        st.rerun()  # another tab moved the room on: draw the whole panel again
    votes, players = rooms.vote_count(round_id), rooms.player_count(code)
    st.markdown(f"## {view.voted_text(votes, players)}")
