"""Let the room play in AppTest: the presenter starts a room on Present, reveals and moves
on; a phone on /play joins (its nickname shown as plain text), votes and changes its vote,
sees nothing of the answer before the reveal; wrong codes are forgotten and limited; a
viewer is offered no room."""

from __future__ import annotations

import shutil

import pytest

from classifier import auth
from classifier.data import CLASS_NAMES
from classifier.store.rooms import RoomStore
from classifier.views import room as view
from tests.support.apptest import open_app_page

ANSWER_WORDS = ("It is", "it is", "The model said", "sure", "Right!", "Not this time")


@pytest.fixture
def room_store_run(trained_run, tmp_path, monkeypatch):
    """The session's trained run in a store of this test's own (rooms are kept beside it)."""
    root = tmp_path / "runs"
    shutil.copytree(trained_run.root / trained_run.run_id, root / trained_run.run_id)
    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(root))
    monkeypatch.setattr(view, "CODE_LIMITER", auth.RateLimiter(global_backoff=0.0))
    return root, trained_run.run_id


def texts(app) -> str:
    """Every text the page shows (markdown, captions, headings, alerts, buttons)."""
    kinds = ("markdown", "caption", "header", "subheader", "title", "success", "error", "info")
    parts = [element.value for kind in kinds for element in getattr(app, kind)]
    parts += [button.label for button in app.button]
    return "\n".join(str(part) for part in parts)


def test_the_presenter_starts_a_room_reveals_and_moves_on(room_store_run):
    root, run_id = room_store_run
    app = open_app_page("pages/present.py")
    app.radio(key="present_mode").set_value("room").run()
    app.button(key="room_start").click().run()
    assert not app.exception
    rooms = RoomStore.beside(root)
    room = rooms.latest_room(run_id)
    first = rooms.current_round(room.code)
    assert first.number == 1 and not first.revealed
    shown = texts(app)
    assert f"/play?room={room.code}" in shown and room.code in shown
    assert "No phone has joined yet" in shown and "0 of 0 voted" in shown
    assert not any(word in shown for word in ANSWER_WORDS)  # the screen is the room's
    app.button(key="room_reveal").click().run()
    assert rooms.current_round(room.code).revealed
    assert "Nobody voted. The model said" in texts(app)
    app.button(key="room_next").click().run()
    assert rooms.current_round(room.code).number == 2
    assert "Picture 2: what is it?" in texts(app)


def test_a_phone_joins_votes_changes_its_vote_and_sees_the_answer_only_after(room_store_run):
    root, run_id = room_store_run
    rooms = RoomStore.beside(root)
    room = rooms.create_room(run_id, None)
    first = rooms.start_round(room.code, 0, 9, 9, 0.97)  # picture 0 is an Ankle boot
    app = open_app_page("pages/play.py", query={"room": room.code.lower()})
    assert app.query_params["room"] == room.code  # typed loosely, kept in one spelling
    app.text_input[0].input("<b>Ana</b> [x](http://e)")  # sent with the form; 24 characters
    app.button[0].click().run()
    assert not app.exception
    token = app.query_params["player"]
    player = rooms.player(room.code, token)
    assert player.nickname == "<b>Ana</b> [x](http://e)"
    caption = app.caption[0].value
    assert "\\<b\\>Ana\\</b\\>" in caption and "](http" not in caption  # escaped, no link
    assert "Picture 1" in texts(app)
    assert [button.label for button in app.button] == list(CLASS_NAMES)
    assert not any(word in texts(app) for word in ANSWER_WORDS)
    app.button(key="room_vote_3").click().run()
    assert "Vote received: Dress." in texts(app)
    app.button(key="room_vote_9").click().run()
    assert "Vote received: Ankle boot." in texts(app)
    assert rooms.tally(first.id)[9] == 1 and rooms.vote_count(first.id) == 1
    assert not any(word in texts(app) for word in ANSWER_WORDS)
    rooms.reveal(first.id)
    app.run()
    assert "Right! It is an Ankle boot." in texts(app)
    assert "Your score: 1 of 1" in texts(app)
    assert not app.exception


def test_a_wrong_code_is_forgotten_and_too_many_are_refused(room_store_run, monkeypatch):
    import ui.room

    monkeypatch.setattr(ui.room, "_client", lambda: "10.0.0.9")  # one phone, five tries
    root, run_id = room_store_run
    room = RoomStore.beside(root).create_room(run_id, None)
    for _ in range(5):
        app = open_app_page("pages/play.py", query={"room": "ZZZZZZ"})
        assert view.NO_SUCH_ROOM in texts(app)
        assert "room" not in app.query_params  # counted once, not at every rerun
    app = open_app_page("pages/play.py", query={"room": room.code})
    assert view.TOO_MANY_CODES in texts(app)  # even the right code must wait now


def test_a_viewer_is_offered_no_room(room_store_run, monkeypatch):
    monkeypatch.setenv(auth.ENV_PASSWORD_HASH, auth.hash_password("the presenter's"))
    app = open_app_page("pages/present.py")
    assert "room" not in app.radio(key="present_mode").options
    assert not any(button.key == "room_start" for button in app.button)


def test_a_presenter_who_logs_out_in_room_mode_sees_the_slideshow(room_store_run, monkeypatch):
    monkeypatch.setenv(auth.ENV_PASSWORD_HASH, auth.hash_password("the presenter's"))
    app = open_app_page("pages/present.py", session={"present_mode": "room"})
    assert not app.exception
    assert not any(button.key == "room_start" for button in app.button)
    assert "The model says" in texts(app)  # the slideshow, as for any viewer
