"""The room store: rooms, players, rounds and votes of "Let the room play", in SQLite.

One file beside the run store, `<runs root>/.rooms.sqlite3` (the run list ignores names
that start with a dot), in WAL mode: phones' votes and the presenter's polls read and write
it at once from many server threads, and a crash or restart of the server process loses
nothing that was committed (WAL with synchronous=NORMAL: only a power cut of the machine
could lose the last commits, and a commit costs no fsync). Every state a page shows comes
from here, never from a session: a server restart mid-round keeps every vote and score.

- A room has a random code (ROOM_CODE_LENGTH characters of CODE_ALPHABET, from `secrets`:
  31**6, about 887 million codes) and expires ROOM_TTL_S after it was created. Expired
  rooms read as missing and `cleanup` deletes them with their players, rounds and votes.
- A player joins a room and gets a random token (`secrets.token_urlsafe`), which the phone
  keeps in its address (`?room=CODE&player=TOKEN`): a reconnect keeps its identity.
- A round is one picture. It stores the true label and the model's answer, so scores need
  nothing but this file; the phone-facing readers return them only once the round is
  revealed (classifier.views.room).
- One vote per player per round: UNIQUE(round_id, player_id); a later tap replaces the
  earlier choice (INSERT ... ON CONFLICT DO UPDATE), so nothing counts twice. A vote is
  taken only for the room's latest round, before its reveal, from a player of that room.

Every method opens its own short connection: Streamlit runs each session in its own
thread, and sqlite3 connections must not be shared between threads.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOMS_FILE = ".rooms.sqlite3"
ROOM_TTL_S = 3 * 3600.0
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no I, L, O, 0, 1: nothing to mistake
ROOM_CODE_LENGTH = 6
CLASSES = 10
BUSY_TIMEOUT_S = 10.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    model_sha256 TEXT,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS players (
    id INTEGER PRIMARY KEY,
    room_code TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    token TEXT NOT NULL UNIQUE,
    number INTEGER NOT NULL,
    nickname TEXT NOT NULL,
    joined_at REAL NOT NULL,
    UNIQUE (room_code, number)
);
CREATE TABLE IF NOT EXISTS rounds (
    id INTEGER PRIMARY KEY,
    room_code TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    picture INTEGER NOT NULL,
    true_label INTEGER NOT NULL CHECK (true_label BETWEEN 0 AND 9),
    model_label INTEGER NOT NULL CHECK (model_label BETWEEN 0 AND 9),
    model_confidence REAL NOT NULL,
    started_at REAL NOT NULL,
    revealed_at REAL,
    UNIQUE (room_code, number)
);
CREATE TABLE IF NOT EXISTS votes (
    round_id INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    player_id INTEGER NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    choice INTEGER NOT NULL CHECK (choice BETWEEN 0 AND 9),
    voted_at REAL NOT NULL,
    UNIQUE (round_id, player_id)
);
CREATE INDEX IF NOT EXISTS rooms_expiry ON rooms(expires_at);
CREATE INDEX IF NOT EXISTS players_room ON players(room_code);
CREATE INDEX IF NOT EXISTS votes_player ON votes(player_id);
"""


class RoomError(RuntimeError):
    """A room, player or round is missing or expired; the message says which."""


@dataclass(frozen=True)
class Room:
    code: str
    run_id: str
    model_sha256: str | None
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class Player:
    id: int
    room_code: str
    token: str
    number: int  # 1, 2, 3, ... in the order they joined: "Player 17"
    nickname: str


@dataclass(frozen=True)
class Round:
    """One picture of a room. `true_label` and `model_label` are secret until `revealed`."""

    id: int
    room_code: str
    number: int
    picture: int
    true_label: int
    model_label: int
    model_confidence: float
    revealed: bool


@dataclass(frozen=True)
class PlayerScore:
    player_id: int
    nickname: str
    right: int


def rooms_path(runs_root: Path | str) -> Path:
    """The room store of a run store: a hidden file in its root."""
    return Path(runs_root) / ROOMS_FILE


def new_room_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(ROOM_CODE_LENGTH))


class RoomStore:
    """Rooms in one SQLite file. Safe to use from many threads and processes."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self._clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file
            db.executescript(f"BEGIN IMMEDIATE; {SCHEMA} COMMIT;")
        finally:
            db.close()

    @classmethod
    def beside(cls, runs_root: Path | str, **options) -> RoomStore:
        return cls(rooms_path(runs_root), **options)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction: committed on leaving, rolled back on an error."""
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a server crash
            db.execute("BEGIN IMMEDIATE")  # writers queue here, not halfway through
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection for a consistent read (one snapshot), taking no write lock."""
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            db.execute("BEGIN")
            try:
                yield db
            finally:
                db.execute("COMMIT")
        finally:
            db.close()

    # Rooms ----------------------------------------------------------------------------------

    def create_room(self, run_id: str, model_sha256: str | None, ttl_s: float = ROOM_TTL_S) -> Room:
        """A new room with a fresh random code; expired rooms are cleaned up first."""
        self.cleanup()
        now = self._clock()
        for _ in range(20):
            code = new_room_code()
            try:
                with self._connect() as db:
                    db.execute(
                        "INSERT INTO rooms (code, run_id, model_sha256, created_at, expires_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (code, str(run_id), model_sha256, now, now + ttl_s),
                    )
            except sqlite3.IntegrityError:
                continue  # that code is taken: draw another
            return Room(code, str(run_id), model_sha256, now, now + ttl_s)
        raise RoomError("Could not find a free room code.")

    def get_room(self, code: str) -> Room | None:
        """The room with this code, or None when there is none or it expired."""
        with self._read() as db:
            return self._room(db, code)

    def _room(self, db: sqlite3.Connection, code: str) -> Room | None:
        row = db.execute(
            "SELECT code, run_id, model_sha256, created_at, expires_at FROM rooms "
            "WHERE code = ? AND expires_at > ?",
            (str(code), self._clock()),
        ).fetchone()
        return Room(*row) if row else None

    def latest_room(self, run_id: str | None = None) -> Room | None:
        """The newest room that has not expired (of this run's model, if given)."""
        query = "SELECT code, run_id, model_sha256, created_at, expires_at FROM rooms "
        query += "WHERE expires_at > ? " + ("AND run_id = ? " if run_id is not None else "")
        query += "ORDER BY created_at DESC, rowid DESC LIMIT 1"
        arguments = (self._clock(),) + ((str(run_id),) if run_id is not None else ())
        with self._read() as db:
            row = db.execute(query, arguments).fetchone()
        return Room(*row) if row else None

    def cleanup(self) -> int:
        """Delete expired rooms with their players, rounds and votes; how many rooms."""
        with self._connect() as db:
            return db.execute("DELETE FROM rooms WHERE expires_at <= ?", (self._clock(),)).rowcount

    # Players --------------------------------------------------------------------------------

    def join(self, code: str, nickname: str | None) -> Player:
        """A new player in the room; `nickname` (already cleaned) or "Player <number>"."""
        token = secrets.token_urlsafe(16)
        with self._connect() as db:
            number = self._next_number(db, "players", code)
            name = nickname or f"Player {number}"
            cursor = db.execute(
                "INSERT INTO players (room_code, token, number, nickname, joined_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (code, token, number, name, self._clock()),
            )
            return Player(cursor.lastrowid, code, token, number, name)

    def _next_number(self, db, table: str, code: str) -> int:
        """The room's next player or round number (1, 2, ...); RoomError when the room has
        ended. `table` is one of ours, never user text."""
        assert table in ("players", "rounds")
        if self._room(db, code) is None:
            raise RoomError("There is no such room, or it has ended.")
        query = f"SELECT COALESCE(MAX(number), 0) + 1 FROM {table} WHERE room_code = ?"
        return db.execute(query, (code,)).fetchone()[0]

    def player(self, code: str, token: str) -> Player | None:
        """The player with this token in this (unexpired) room, or None."""
        with self._read() as db:
            return self._player(db, code, token)

    def _player(self, db, code: str, token: str) -> Player | None:
        if self._room(db, code) is None:
            return None
        row = db.execute(
            "SELECT id, room_code, token, number, nickname FROM players "
            "WHERE room_code = ? AND token = ?",
            (str(code), str(token)),
        ).fetchone()
        return Player(*row) if row else None

    def player_count(self, code: str) -> int:
        with self._read() as db:
            query = "SELECT COUNT(*) FROM players WHERE room_code = ?"
            return db.execute(query, (str(code),)).fetchone()[0]

    # Rounds ---------------------------------------------------------------------------------

    def start_round(
        self, code: str, picture: int, true_label: int, model_label: int, model_confidence: float
    ) -> Round:
        """The room's next picture (the previous round stays as it is, for the scores)."""
        with self._connect() as db:
            number = self._next_number(db, "rounds", code)
            values = (int(picture), int(true_label), int(model_label), float(model_confidence))
            cursor = db.execute(
                "INSERT INTO rounds (room_code, number, picture, true_label, model_label, "
                "model_confidence, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (code, number, *values, self._clock()),
            )
            return Round(cursor.lastrowid, code, number, *values, False)

    _ROUND_COLUMNS = (
        "id, room_code, number, picture, true_label, model_label, model_confidence, "
        "revealed_at IS NOT NULL"
    )

    def current_round(self, code: str) -> Round | None:
        """The room's latest round, or None before the first one (or for no such room)."""
        with self._read() as db:
            return self._current_round(db, code)

    def _current_round(self, db: sqlite3.Connection, code: str) -> Round | None:
        if self._room(db, code) is None:
            return None
        row = db.execute(
            f"SELECT {self._ROUND_COLUMNS} FROM rounds WHERE room_code = ? "
            "ORDER BY number DESC LIMIT 1",
            (str(code),),
        ).fetchone()
        return _round(row)

    def rounds(self, code: str) -> list[Round]:
        with self._read() as db:
            rows = db.execute(
                f"SELECT {self._ROUND_COLUMNS} FROM rounds WHERE room_code = ? ORDER BY number",
                (str(code),),
            ).fetchall()
        return [_round(row) for row in rows]

    def used_pictures(self, code: str) -> set[int]:
        with self._read() as db:
            rows = db.execute("SELECT picture FROM rounds WHERE room_code = ?", (str(code),))
            return {picture for (picture,) in rows}

    def reveal(self, round_id: int) -> bool:
        """Close the round's voting and let its answer be shown; False if it already was."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE rounds SET revealed_at = ? WHERE id = ? AND revealed_at IS NULL",
                (self._clock(), int(round_id)),
            )
            return cursor.rowcount == 1

    # Votes ----------------------------------------------------------------------------------

    def vote(self, round_id: int, player_id: int, choice: int) -> bool:
        """Record (or replace) the player's vote; False when the round is not open to it
        (revealed, not the room's latest, expired, or the player is not in that room)."""
        choice = int(choice)
        if not 0 <= choice < CLASSES:
            return False
        now = self._clock()
        try:
            return self._vote(int(round_id), int(player_id), choice, now)
        except sqlite3.OperationalError as error:  # locked for BUSY_TIMEOUT_S: say so
            raise RoomError("The room is busy: tap again.") from error

    def _vote(self, round_id: int, player_id: int, choice: int, now: float) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO votes (round_id, player_id, choice, voted_at) "
                "SELECT r.id, p.id, ?, ? FROM rounds r "
                "JOIN players p ON p.room_code = r.room_code "
                "JOIN rooms m ON m.code = r.room_code "
                "WHERE r.id = ? AND p.id = ? AND r.revealed_at IS NULL AND m.expires_at > ? "
                "AND r.number = (SELECT MAX(number) FROM rounds WHERE room_code = r.room_code) "
                "ON CONFLICT (round_id, player_id) DO UPDATE "
                "SET choice = excluded.choice, voted_at = excluded.voted_at",
                (choice, now, round_id, player_id, now),
            )
            return cursor.rowcount == 1

    def player_vote(self, round_id: int, player_id: int) -> int | None:
        with self._read() as db:
            row = db.execute(
                "SELECT choice FROM votes WHERE round_id = ? AND player_id = ?",
                (int(round_id), int(player_id)),
            ).fetchone()
        return row[0] if row else None

    def tally(self, round_id: int) -> list[int]:
        """Votes per class (ten counts) of one round."""
        counts = [0] * CLASSES
        with self._read() as db:
            rows = db.execute(
                "SELECT choice, COUNT(*) FROM votes WHERE round_id = ? GROUP BY choice",
                (int(round_id),),
            )
            for choice, count in rows:
                counts[choice] = count
        return counts

    def vote_count(self, round_id: int) -> int:
        with self._read() as db:
            query = "SELECT COUNT(*) FROM votes WHERE round_id = ?"
            return db.execute(query, (int(round_id),)).fetchone()[0]

    def tallies(self, code: str) -> dict[int, list[int]]:
        """Votes per class of every revealed round of the room, by round id."""
        result: dict[int, list[int]] = {}
        with self._read() as db:
            rows = db.execute(
                "SELECT v.round_id, v.choice, COUNT(*) FROM votes v "
                "JOIN rounds r ON r.id = v.round_id "
                "WHERE r.room_code = ? AND r.revealed_at IS NOT NULL "
                "GROUP BY v.round_id, v.choice",
                (str(code),),
            )
            for round_id, choice, count in rows:
                result.setdefault(round_id, [0] * CLASSES)[choice] = count
        return result

    def player_scores(self, code: str) -> list[PlayerScore]:
        """Every player of the room with their right answers in revealed rounds, best
        first (ties: who joined first)."""
        with self._read() as db:
            rows = db.execute(
                "SELECT p.id, p.nickname, COUNT(r.id) FROM players p "
                "LEFT JOIN votes v ON v.player_id = p.id "
                "LEFT JOIN rounds r ON r.id = v.round_id AND r.revealed_at IS NOT NULL "
                "AND r.true_label = v.choice "
                "WHERE p.room_code = ? GROUP BY p.id ORDER BY COUNT(r.id) DESC, p.number",
                (str(code),),
            ).fetchall()
        return [PlayerScore(*row) for row in rows]

    def phone_snapshot(self, code: str, token: str):
        """What one phone's poll needs, read in one snapshot: (player, current round, the
        player's vote in it, (right answers, revealed rounds voted on)); None for no such
        player or room. The round still holds its secrets: the caller drops them."""
        with self._read() as db:
            player = self._player(db, code, token)
            if player is None:
                return None
            current = self._current_round(db, code)
            vote = None
            if current is not None:
                found = db.execute(
                    "SELECT choice FROM votes WHERE round_id = ? AND player_id = ?",
                    (current.id, player.id),
                ).fetchone()
                vote = found[0] if found else None
            score = self._player_right(db, player.id)
        return player, current, vote, score

    def player_right(self, player_id: int) -> tuple[int, int]:
        """(right answers, revealed rounds voted on) of one player."""
        with self._read() as db:
            return self._player_right(db, player_id)

    def _player_right(self, db: sqlite3.Connection, player_id: int) -> tuple[int, int]:
        row = db.execute(
            "SELECT COALESCE(SUM(v.choice = r.true_label), 0), COUNT(*) FROM votes v "
            "JOIN rounds r ON r.id = v.round_id "
            "WHERE v.player_id = ? AND r.revealed_at IS NOT NULL",
            (int(player_id),),
        ).fetchone()
        return int(row[0]), int(row[1])


def _round(row) -> Round | None:
    if row is None:
        return None
    *values, revealed = row
    return Round(*values, revealed=bool(revealed))
