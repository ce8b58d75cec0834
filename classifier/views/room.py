"""The logic of "Let the room play", in plain Python: what a phone may see, what the
presenter says, the scores, nicknames and room codes as user text, the play address.

What a phone sees before the reveal is only the picture and the class names: `phone_view`
builds a PhoneView that carries the true label and the model's answer only for a revealed
round. The pages draw nothing about a round but what these functions return.
"""

from __future__ import annotations

import re
import secrets
import socket
import unicodedata
from dataclasses import dataclass

from classifier import auth
from classifier.data import CLASS_NAMES
from classifier.store.rooms import (
    CODE_ALPHABET,
    ROOM_CODE_LENGTH,
    Room,
    RoomStore,
    Round,
)

MAX_NICKNAME_CHARS = 24
MAX_TYPED_CHARS = 200  # what is looked at of anything typed, before cleaning
TOP_PLAYERS = 3

# Wrong room codes, per client (its address): 5 a minute, and after any wrong code everyone
# waits a quarter of a second (at most 240 guesses a minute in all, against 887 million
# codes). In memory, one per server process: module level, shared by every session.
CODE_LIMITER = auth.RateLimiter(max_failures=5, window=60.0, global_backoff=0.25)
TOO_MANY_CODES = "Too many wrong codes: wait a minute, then try again."
NO_SUCH_ROOM = "There is no room with that code (or it has ended). Check the code on the screen."


# --- User text ---------------------------------------------------------------------------


def clean_nickname(text: object) -> str:
    """A nickname as typed, made plain: NFC, no control, format or unpaired characters,
    spaces collapsed, at most MAX_NICKNAME_CHARS characters; '' when nothing is left (the
    store then names the player "Player 17"). Still user text: escape it where it is shown."""
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFC", text[: MAX_TYPED_CHARS * 4])
    kept = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or not unicodedata.category(char).startswith("C")
    )
    return " ".join(kept.split())[:MAX_NICKNAME_CHARS].strip()


def normalize_code(text: object) -> str | None:
    """A typed room code in its one spelling ('abc 123' -> None, ' k7q-2mx ' -> 'K7Q2MX'),
    or None when it cannot be one: codes are ROOM_CODE_LENGTH characters of CODE_ALPHABET."""
    if not isinstance(text, str):
        return None
    text = unicodedata.normalize("NFKC", text[:MAX_TYPED_CHARS]).upper()
    code = re.sub(r"[\s\-_.]", "", text)
    if len(code) != ROOM_CODE_LENGTH or any(char not in CODE_ALPHABET for char in code):
        return None
    return code


def open_room(store: RoomStore, typed: object, client: str) -> tuple[Room | None, str]:
    """The room a phone asks for by code, or None and why not. Wrong codes are counted per
    client (CODE_LIMITER); a limited client is refused without looking the code up."""
    client = str(client or "unknown")
    if not CODE_LIMITER.allow(client):
        return None, TOO_MANY_CODES
    code = normalize_code(typed)
    room = store.get_room(code) if code else None
    if room is None:
        CODE_LIMITER.record_failure(client)
        return None, NO_SUCH_ROOM
    return room, ""


# --- The address phones open -------------------------------------------------------------

LOOPBACK_PREFIXES = ("127.", "::1", "localhost")


def is_loopback(host: str | None) -> bool:
    return not host or host.lower().startswith(LOOPBACK_PREFIXES)


def lan_ip() -> str | None:
    """This machine's address on the local network, or None: the address the system would
    send from to another network (a UDP socket's connect sends no packet), else the host
    name's address."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        if not is_loopback(address) and address != "0.0.0.0":
            return address
    except OSError:
        pass
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        return None
    return None if is_loopback(address) or address == "0.0.0.0" else address


def browser_host(host_header: str | None) -> str | None:
    """The host name of a Host header ('192.168.1.5:8501' -> '192.168.1.5'), or None."""
    if not host_header:
        return None
    host = str(host_header).strip()
    if host.startswith("["):  # [::1]:8501
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host or None


def room_host(server_address: str | None, host_header: str | None, lan: str | None) -> str:
    """The host phones should open. A server on loopback only is reachable by nobody else:
    then the browser's own host (as the presenter reached it). Otherwise the address it
    listens on, or for all interfaces the LAN address, else the browser's host."""
    seen = browser_host(host_header) or "127.0.0.1"
    if server_address and server_address not in ("0.0.0.0", "::"):
        return seen if is_loopback(server_address) else server_address
    return lan or seen


def reachable_by_phones(server_address: str | None) -> bool:
    return not (server_address and is_loopback(server_address))


def play_address(host: str, port: int, code: str) -> str:
    """What the QR code encodes: http://192.168.1.5:8501/play?room=K7Q2MX"""
    return f"http://{host}:{int(port)}/play?room={code}"


def short_address(host: str, port: int) -> str:
    """What the screen shows under the QR code, to type: 192.168.1.5:8501/play"""
    return f"{host}:{int(port)}/play"


# --- A round, on a phone -----------------------------------------------------------------


@dataclass(frozen=True)
class PhoneView:
    """Everything a phone is shown. `truth` and `right` are None until the reveal."""

    player_id: int
    player_name: str
    round_id: int | None  # None: no picture yet
    round_number: int
    picture: int | None
    vote: int | None
    revealed: bool
    truth: int | None
    right: bool | None
    score: int  # right answers so far (revealed rounds)
    answered: int  # revealed rounds this player voted on


def phone_view(store: RoomStore, code: str, token: str) -> PhoneView | None:
    """What one phone shows now, or None when its room or player is not there."""
    found = store.phone_snapshot(code, token)
    if found is None:
        return None
    player, current, vote, (score, answered) = found
    if current is None:
        return PhoneView(player.id, player.nickname, None, 0, None, None, False, None, None, 0, 0)
    truth = current.true_label if current.revealed else None
    right = (vote == truth) if truth is not None and vote is not None else None
    return PhoneView(
        player.id,
        player.nickname,
        current.id,
        current.number,
        current.picture,
        vote,
        current.revealed,
        truth,
        right,
        score,
        answered,
    )


def phone_result(view: PhoneView) -> tuple[str, bool | None]:
    """After the reveal: 'Right! It is a Shirt.', 'Not this time: it is a Shirt.' or, for a
    phone that did not vote, 'It is a Shirt.'; and whether it was right."""
    truth = f"{article(CLASS_NAMES[view.truth])} {CLASS_NAMES[view.truth]}"
    if view.right is None:
        return f"It is {truth}. You did not vote this time.", None
    if view.right:
        return f"Right! It is {truth}.", True
    return f"Not this time: it is {truth}.", False


def score_text(score: int, answered: int) -> str:
    return f"Your score: {score} of {answered}" if answered else "Your score: 0 so far"


def vote_received(choice: int) -> str:
    return f"Vote received: {CLASS_NAMES[choice]}. Tap another to change it."


# --- A round, on the presenter's screen ----------------------------------------------------


def article(name: str) -> str:
    return "an" if name[:1].lower() in "aeiou" else "a"


def joined_text(players: int) -> str:
    if players == 0:
        return "No phone has joined yet"
    return f"{players:,} phone{'s' if players != 1 else ''} joined"


def voted_text(votes: int, players: int) -> str:
    return f"{votes:,} of {players:,} voted"


def room_answer(counts) -> int | None:
    """The room's answer: the class with the most votes (a tie: the first of them in the
    dataset's order); None without votes."""
    counts = [int(count) for count in counts]
    if not any(counts):
        return None
    return max(range(len(counts)), key=lambda number: (counts[number], -number))


def reveal_sentences(counts, current: Round) -> str:
    """'The room said Shirt (48%). The model said T-shirt/top, 71% sure. It is a Shirt: the
    room wins this one.'"""
    total = sum(int(count) for count in counts)
    truth = CLASS_NAMES[current.true_label]
    model_name = CLASS_NAMES[current.model_label]
    model_right = current.model_label == current.true_label
    said = room_answer(counts)
    model = f"The model said {model_name}, {current.model_confidence:.0%} sure."
    it_is = f"It is {article(truth)} {truth}"
    if said is None:
        verdict = "the model is right" if model_right else "the model is wrong too"
        return f"Nobody voted. {model} {it_is}: {verdict}."
    room = f"The room said {CLASS_NAMES[said]} ({counts[said] / total:.0%})."
    room_right = said == current.true_label
    if room_right and not model_right:
        verdict = "the room wins this one"
    elif model_right and not room_right:
        verdict = "the model wins this one"
    elif room_right:
        verdict = "both are right"
    else:
        verdict = "both are wrong"
    return f"{room} {model} {it_is}: {verdict}."


@dataclass(frozen=True)
class Scores:
    rounds: int  # revealed rounds
    room: int  # rounds the room's majority got right
    machine: int  # rounds the model got right
    top: list[tuple[str, int]]  # the best players: (nickname, right answers)


def scores(store: RoomStore, code: str) -> Scores:
    """The room (its majority) against the machine over the revealed rounds, and the top
    players (only those with a right answer)."""
    revealed = [current for current in store.rounds(code) if current.revealed]
    tallies = store.tallies(code)
    room = sum(
        room_answer(tallies.get(current.id, [0] * len(CLASS_NAMES))) == current.true_label
        for current in revealed
    )
    machine = sum(current.model_label == current.true_label for current in revealed)
    players = store.player_scores(code)
    top = [(player.nickname, player.right) for player in players if player.right][:TOP_PLAYERS]
    return Scores(len(revealed), int(room), int(machine), top)


def scores_text(board: Scores) -> str:
    """'After 4 pictures: the room 3, the machine 2.'"""
    if not board.rounds:
        return "No picture revealed yet."
    pictures = f"{board.rounds} picture{'s' if board.rounds != 1 else ''}"
    return f"After {pictures}: the room {board.room}, the machine {board.machine}."


def next_picture(used: set[int], count: int) -> int:
    """A random test picture the room has not seen yet (any, once all were shown)."""
    if len(used) >= count:
        return secrets.randbelow(count)
    while True:
        picture = secrets.randbelow(count)
        if picture not in used:
            return picture


def start_round(store: RoomStore, code: str, probs, labels) -> Round:
    """The room's next round: a new random picture, its truth and the model's answer."""
    picture = next_picture(store.used_pictures(code), len(labels))
    probabilities = probs[picture]
    model_label = int(max(range(len(probabilities)), key=lambda k: probabilities[k]))
    return store.start_round(
        code, picture, int(labels[picture]), model_label, float(probabilities[model_label])
    )
