"""The room store (classifier/store/rooms.py) and the room's logic (classifier/views/room.py):
one vote per phone per round, a later tap replaces it, expiry and clean-up, the wrong-code
limit, a restart (the file opened again) keeps everything, and what a phone may see."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from classifier import auth
from classifier.store.rooms import (
    CODE_ALPHABET,
    ROOM_CODE_LENGTH,
    ROOM_TTL_S,
    RoomError,
    RoomStore,
    rooms_path,
)
from classifier.views import room as view


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    return RoomStore.beside(tmp_path, clock=clock)


def a_round(store, code, picture=7, truth=6, model=0, confidence=0.71):
    return store.start_round(code, picture, truth, model, confidence)


def test_the_file_is_beside_the_run_store_in_wal_mode(tmp_path, store):
    assert store.path == rooms_path(tmp_path) == tmp_path / ".rooms.sqlite3"
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_room_codes_are_random_from_the_unambiguous_alphabet(store):
    codes = {store.create_room("run", None).code for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert len(code) == ROOM_CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert not set("ILO01") & set(CODE_ALPHABET)


def test_one_vote_per_phone_per_round_and_a_later_tap_replaces_it(store):
    room = store.create_room("run", "sha")
    ana, bo = store.join(room.code, "Ana"), store.join(room.code, "")
    assert bo.nickname == "Player 2"
    current = a_round(store, room.code)
    assert store.vote(current.id, ana.id, 3)
    assert store.vote(current.id, ana.id, 6)  # a second tap: replaces, never adds
    assert store.vote(current.id, bo.id, 6)
    assert store.tally(current.id) == [0, 0, 0, 0, 0, 0, 2, 0, 0, 0]
    assert store.vote_count(current.id) == 2
    assert store.player_vote(current.id, ana.id) == 6
    with sqlite3.connect(store.path) as db:  # the constraint itself, not only the code
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO votes VALUES (?, ?, 1, 0)", (current.id, ana.id))


def test_votes_from_many_threads_count_exactly_once(store):
    room = store.create_room("run", None)
    players = [store.join(room.code, f"p{n}") for n in range(20)]
    current = a_round(store, room.code)

    def tap(player, choice):
        for extra in range(5):  # five taps each: only the last counts
            store.vote(current.id, player.id, (choice + extra) % 10)

    threads = [threading.Thread(target=tap, args=(p, n)) for n, p in enumerate(players)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.vote_count(current.id) == 20
    expected = np.bincount([(n + 4) % 10 for n in range(20)], minlength=10).tolist()
    assert store.tally(current.id) == expected


def test_no_vote_after_the_reveal_on_an_old_round_or_from_another_room(store):
    room, other = store.create_room("run", None), store.create_room("run", None)
    ana, stranger = store.join(room.code, "Ana"), store.join(other.code, "X")
    first = a_round(store, room.code)
    assert not store.vote(first.id, stranger.id, 1)  # not a player of this room
    assert not store.vote(first.id, ana.id, 10) and not store.vote(first.id, ana.id, -1)
    assert store.vote(first.id, ana.id, 1)
    assert store.reveal(first.id) and not store.reveal(first.id)
    assert not store.vote(first.id, ana.id, 2)  # too late: the answer is out
    assert store.player_vote(first.id, ana.id) == 1
    second = a_round(store, room.code, picture=8)
    assert second.number == 2
    assert not store.vote(first.id, ana.id, 3)  # only the latest round takes votes


def test_rooms_expire_after_three_hours_and_are_cleaned_up(store, clock):
    old = store.create_room("run", None)
    player = store.join(old.code, "Ana")
    current = a_round(store, old.code)
    store.vote(current.id, player.id, 2)
    clock.now += ROOM_TTL_S - 1
    assert store.get_room(old.code) is not None
    clock.now += 2
    assert store.get_room(old.code) is None  # expired: reads as missing at once
    assert store.player(old.code, player.token) is None
    assert not store.vote(current.id, player.id, 3)
    with pytest.raises(RoomError):
        store.join(old.code, "late")
    new = store.create_room("run", None)  # creating a room cleans up the old ones
    with sqlite3.connect(store.path) as db:
        for table in ("rooms", "players", "rounds", "votes"):
            (left,) = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()  # noqa: S608
            assert left == (1 if table == "rooms" else 0), table
    assert store.latest_room("run") == new


def test_a_restart_keeps_every_vote_and_score(tmp_path, clock):
    first = RoomStore.beside(tmp_path, clock=clock)
    room = first.create_room("run", "sha")
    ana, bo = first.join(room.code, "Ana"), first.join(room.code, "Bo")
    done = a_round(first, room.code, truth=6)
    first.vote(done.id, ana.id, 6)
    first.vote(done.id, bo.id, 2)
    first.reveal(done.id)
    open_round = a_round(first, room.code, picture=9, truth=1, model=1)
    first.vote(open_round.id, ana.id, 1)
    del first  # the server stops; a new one opens the same file
    again = RoomStore.beside(tmp_path, clock=clock)
    assert again.latest_room("run") == room
    assert again.player(room.code, ana.token) == ana
    assert again.current_round(room.code) == open_round
    assert again.tally(open_round.id)[1] == 1
    assert again.vote(open_round.id, bo.id, 1)  # voting goes on
    assert [(s.nickname, s.right) for s in again.player_scores(room.code)] == [
        ("Ana", 1),
        ("Bo", 0),
    ]


def test_scores_the_room_majority_against_the_machine(store):
    room = store.create_room("run", None)
    players = [store.join(room.code, name) for name in ("Ana", "Bo", "Cy", "Di")]
    # Round 1: truth 6 (Shirt), the model says 0; the room says 6 by 3 to 1.
    first = a_round(store, room.code, truth=6, model=0)
    for player, choice in zip(players, (6, 6, 6, 0), strict=True):
        store.vote(first.id, player.id, choice)
    store.reveal(first.id)
    # Round 2: truth 1, the model says 1; the room says 3.
    second = a_round(store, room.code, picture=8, truth=1, model=1, confidence=0.9)
    for player, choice in zip(players, (3, 3, 1, 3), strict=True):
        store.vote(second.id, player.id, choice)
    store.reveal(second.id)
    board = view.scores(store, room.code)
    assert (board.rounds, board.room, board.machine) == (2, 1, 1)
    assert board.top == [("Cy", 2), ("Ana", 1), ("Bo", 1)]
    assert view.scores_text(board) == "After 2 pictures: the room 1, the machine 1."


def test_the_reveal_sentences():
    current = RoundLike(true_label=6, model_label=0, model_confidence=0.71)
    counts = [1, 0, 0, 0, 0, 0, 12, 0, 0, 12]  # a tie: the first in the dataset's order
    assert view.reveal_sentences([0, 0, 0, 0, 0, 0, 12, 0, 0, 13], current) == (
        "The room said Ankle boot (52%). The model said T-shirt/top, 71% sure. "
        "It is a Shirt: both are wrong."
    )
    assert view.reveal_sentences(counts, current).startswith("The room said Shirt (48%).")
    assert view.reveal_sentences(counts, current).endswith("It is a Shirt: the room wins this one.")
    assert view.reveal_sentences([0] * 10, current).startswith("Nobody voted.")


class RoundLike:
    def __init__(self, **values):
        self.__dict__.update(values)


def test_a_phone_sees_no_answer_before_the_reveal(store):
    room = store.create_room("run", None)
    ana = store.join(room.code, "Ana")
    waiting = view.phone_view(store, room.code, ana.token)
    assert waiting.round_id is None
    current = a_round(store, room.code, truth=6, model=0)
    store.vote(current.id, ana.id, 6)
    before = view.phone_view(store, room.code, ana.token)
    assert before.picture == 7 and before.vote == 6
    assert before.truth is None and before.right is None and not before.revealed
    assert "Shirt" not in repr(before).replace("Ana", "")  # no class name at all
    store.reveal(current.id)
    after = view.phone_view(store, room.code, ana.token)
    assert (after.truth, after.right, after.score, after.answered) == (6, True, 1, 1)
    assert view.phone_result(after) == ("Right! It is a Shirt.", True)
    assert view.phone_view(store, room.code, "not-a-token") is None
    assert view.phone_view(store, "AAAAAA", ana.token) is None


def test_wrong_codes_are_rate_limited_per_client(store, monkeypatch):
    limiter = auth.RateLimiter(max_failures=5, window=60.0, global_backoff=0.0)
    monkeypatch.setattr(view, "CODE_LIMITER", limiter)
    room = store.create_room("run", None)
    for _ in range(5):
        assert view.open_room(store, "ZZZZZZ", "10.0.0.9") == (None, view.NO_SUCH_ROOM)
    # The sixth try is refused without looking, even with the right code.
    assert view.open_room(store, room.code, "10.0.0.9") == (None, view.TOO_MANY_CODES)
    found, _ = view.open_room(store, room.code.lower(), "10.0.0.10")  # another phone
    assert found == room


def test_the_module_limiter_counts_across_sessions_and_waits_globally():
    assert isinstance(view.CODE_LIMITER, auth.RateLimiter)
    assert view.CODE_LIMITER.max_failures == 5 and view.CODE_LIMITER.global_backoff > 0


def test_the_play_address_uses_the_lan_address_unless_the_server_is_on_loopback():
    assert view.room_host("0.0.0.0", "localhost:8501", "192.168.1.5") == "192.168.1.5"
    assert view.room_host("", "localhost:8501", "192.168.1.5") == "192.168.1.5"
    assert view.room_host("0.0.0.0", "10.1.2.3:8501", None) == "10.1.2.3"
    assert view.room_host("127.0.0.1", "127.0.0.1:8765", "192.168.1.5") == "127.0.0.1"
    assert view.room_host("192.168.1.7", "x:1", "192.168.1.5") == "192.168.1.7"
    assert not view.reachable_by_phones("127.0.0.1") and view.reachable_by_phones("0.0.0.0")
    assert view.play_address("192.168.1.5", 8501, "K7Q2MX") == (
        "http://192.168.1.5:8501/play?room=K7Q2MX"
    )
    assert view.short_address("192.168.1.5", 8501) == "192.168.1.5:8501/play"
    lan = view.lan_ip()
    assert lan is None or not view.is_loopback(lan)


def test_the_qr_code_encodes_the_address():
    from classifier.figures.room import qr_png, qr_svg

    png = qr_png("http://192.168.1.5:8501/play?room=K7Q2MX")
    assert png.startswith(b"\x89PNG")
    assert qr_svg("http://x/play?room=K7Q2MX").lstrip().startswith("<?xml")


def test_next_picture_is_new_until_all_were_shown():
    assert view.next_picture({0, 1, 2}, 4) == 3
    assert 0 <= view.next_picture({0, 1, 2, 3}, 4) < 4
