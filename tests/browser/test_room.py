"""Let the room play, in Chromium: a presenter at 1280 x 720 starts a room, three phones at
390 x 844 join by the address shown beside the QR code and vote (one changes its mind), the
presenter sees "3 of 3 voted", reveals, and sees the bars and the scores. Before the reveal
no phone has the answer, neither in its page nor in what the server sent it. A server
restart mid-round keeps every vote and score."""

from __future__ import annotations

import re
import shutil

import pytest

from classifier.auth import ENV_PASSWORD_HASH, hash_password
from classifier.data import CLASS_NAMES
from classifier.store.rooms import RoomStore
from tests.support import server as server_module
from tests.support.browser import (
    assert_no_exception,
    new_context,
    save_screenshot,
    wait_for_app,
)
from tests.support.polling import wait_until
from tests.support.server import AppServer

pytestmark = pytest.mark.browser
PASSWORD = "a room full of phones"
PRESENTER = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}
# What only the reveal may bring to a phone (or the presenter's screen before it).
ANSWER_WORDS = ("It is a", "it is a", "It is an", "it is an", "The model said", "sure.")


@pytest.fixture
def runs_dir(trained_run, tmp_path):
    """A run store of this test's own with the session's quickly trained model (the rooms
    file is kept beside it)."""
    root = tmp_path / "runs"
    shutil.copytree(trained_run.root / trained_run.run_id, root / trained_run.run_id)
    return root


def start_server(runs_dir, log_dir, port: int | None = None) -> AppServer:
    env = {ENV_PASSWORD_HASH: hash_password(PASSWORD)}  # phones are viewers
    if port is None:
        return AppServer(runs_dir, log_dir / "streamlit.log", env=env).__enter__()
    original = server_module.free_port
    server_module.free_port = lambda: port  # the same address: phones reconnect by themselves
    try:
        return AppServer(runs_dir, log_dir / "streamlit-again.log", env=env).__enter__()
    finally:
        server_module.free_port = original


def open_room_as_presenter(page, url: str) -> str:
    """Log in as presenter, open Present, choose "Let the room play"; the play address."""
    page.goto(url)
    page.get_by_label("Presenter password").wait_for(timeout=60_000)
    page.get_by_label("Presenter password").fill(PASSWORD)
    page.get_by_role("button", name="Log in as presenter").click()
    page.get_by_text("You are the presenter").wait_for(timeout=30_000)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Present").click()
    page.get_by_text("Settings").wait_for(timeout=60_000)
    wait_for_app(page)
    page.get_by_text("Settings").click()
    page.get_by_text("Let the room play").click()
    wait_for_app(page)
    page.get_by_text("Settings").click()  # tucked away again
    start = page.get_by_role("button", name="Start a room")
    address = page.get_by_text(re.compile(r"^Address: "))
    wait_until(lambda: start.count() or address.count(), 60, "the room panel")
    if start.count():
        start.click()
    address.wait_for(timeout=30_000)
    wait_for_app(page)
    return re.search(r"Address: (\S+)", address.inner_text()).group(1)


def phone_joins(browser, address: str, nickname: str):
    """A phone context that opened the address and joined; it records what it receives."""
    context = new_context(browser, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.frames_seen = []

    def listen(socket):
        socket.on("framereceived", lambda payload: page.frames_seen.append(payload))

    page.on("websocket", listen)
    page.goto(address)
    page.get_by_label("Your nickname (optional)").fill(nickname)
    page.get_by_role("button", name="Join").click()
    page.get_by_text("What is it? Tap one.").wait_for(timeout=60_000)
    wait_for_app(page)
    return page


def where_named(html: str, counts: dict[str, int]) -> list[str]:
    """What surrounds each class name that the page holds more often than the others (a
    failure's message: this check failed rarely, and the page is gone by then)."""
    fewest = min(counts.values())
    return [
        html[max(0, at - 160) : at + 40]
        for name, count in counts.items()
        if count > fewest
        for at in [m.start() for m in re.finditer(re.escape(name), html)]
    ]


def received_text(page) -> str:
    """Everything the server sent this phone so far, as text (protobuf strings are UTF-8)."""
    return "\n".join(
        frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        for frame in page.frames_seen
    )


def vote(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).tap()
    page.get_by_text(f"Vote received: {name}.").wait_for(timeout=30_000)


def test_a_room_plays_against_the_model(runs_dir, browser, tmp_path):
    server = start_server(runs_dir, tmp_path)
    phones = []
    try:
        presenter = new_context(browser, viewport=PRESENTER).new_page()
        address = open_room_as_presenter(presenter, server.url)
        assert re.fullmatch(rf"http://127\.0\.0\.1:{server.port}/play\?room=[A-Z2-9]{{6}}", address)
        code = address.rsplit("=", 1)[1]
        assert presenter.get_by_text(f"127.0.0.1:{server.port}/play", exact=True).count()
        rooms = RoomStore.beside(runs_dir)
        first = rooms.current_round(code)
        truth, wrong = CLASS_NAMES[first.true_label], CLASS_NAMES[(first.true_label + 1) % 10]

        phones = [phone_joins(browser, address, name) for name in ("Ana", "Bo", "")]
        presenter.get_by_text("3 phones joined").wait_for(timeout=30_000)
        for phone in phones:
            assert phone.get_by_test_id("stSidebarNav").count() == 0  # no page menu
            assert phone.get_by_text("Presenter password").count() == 0
            assert phone.get_by_role("link", name="Train").count() == 0
            html = phone.content()
            # The ten class names are on the ten buttons; the answer is nowhere else.
            counts = {name: html.count(name) for name in CLASS_NAMES}
            assert len(set(counts.values())) == 1, (counts, where_named(html, counts))
            assert not any(word in html for word in ANSWER_WORDS)
        assert phones[2].get_by_text("you are Player 3").count() == 1
        for name in CLASS_NAMES:  # big enough for a thumb (the phone page's own style)
            box = phones[0].get_by_role("button", name=name, exact=True).bounding_box()
            assert box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"]

        vote(phones[0], truth)
        vote(phones[1], wrong)
        vote(phones[2], wrong)
        vote(phones[2], truth)  # a second tap replaces the first
        save_screenshot(phones[2], "room-phone.png")
        presenter.get_by_text("3 of 3 voted").wait_for(timeout=30_000)
        assert rooms.vote_count(first.id) == 3
        assert rooms.tally(first.id)[first.true_label] == 2
        assert not any(word in presenter.inner_text("body") for word in ANSWER_WORDS)
        for phone in phones:
            assert not any(word in phone.content() for word in ANSWER_WORDS)
            received = received_text(phone)
            assert "Vote received" in received  # the frames are readable text
            assert not any(word in received for word in ANSWER_WORDS), received[-2000:]
            assert f"{first.model_confidence:.0%} sure" not in received

        presenter.get_by_role("button", name="Reveal").click()
        presenter.get_by_text("The model said").wait_for(timeout=30_000)
        sentence = presenter.get_by_text(re.compile("^The room said")).inner_text()
        assert sentence.startswith(f"The room said {truth} (67%).")
        assert f"It is {'an' if truth[0] in 'AEIOU' else 'a'} {truth}" in sentence
        presenter.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        assert presenter.get_by_text("The room (3 votes)").count() == 1
        presenter.get_by_text(
            re.compile(r"After 1 picture: the room 1, the machine [01]\.")
        ).wait_for()
        assert "1. Ana (1)" in presenter.inner_text("body")
        assert "Player 3 (1)" in presenter.inner_text("body")
        assert_no_exception(presenter)
        save_screenshot(presenter, "room-presenter.png")
        phones[0].get_by_text("Right! It is").wait_for(timeout=30_000)
        phones[0].get_by_text("Your score: 1 of 1").wait_for(timeout=30_000)
        phones[1].get_by_text("Not this time").wait_for(timeout=30_000)
        phones[1].get_by_text("Your score: 0 of 1").wait_for(timeout=30_000)
        assert "it is" in received_text(phones[1]).lower()  # the reveal did arrive, after

        # The next picture reaches the phones without a reload.
        presenter.get_by_role("button", name="Next picture").click()
        for phone in phones:
            phone.get_by_text("Picture 2").wait_for(timeout=30_000)
        second = rooms.current_round(code)
        vote(phones[0], CLASS_NAMES[second.true_label])
        presenter.get_by_text("1 of 3 voted").wait_for(timeout=30_000)
        for phone in phones:
            assert_no_exception(phone)

        # A restart mid-round: the votes and scores are still there.
        port = server.port
        server.stop()
        server = start_server(runs_dir, tmp_path, port=port)
        phones[0].get_by_text(f"Vote received: {CLASS_NAMES[second.true_label]}.").wait_for(
            timeout=60_000
        )
        assert "player=" in phones[0].url  # the same identity, kept in the address
        presenter.close()
        presenter = new_context(browser, viewport=PRESENTER).new_page()
        assert open_room_as_presenter(presenter, server.url) == address
        presenter.get_by_text("1 of 3 voted").wait_for(timeout=30_000)
        presenter.get_by_text("3 phones joined").wait_for(timeout=30_000)
        assert presenter.get_by_text(re.compile("After 1 picture: the room 1")).count() == 1
        vote(phones[1], CLASS_NAMES[second.true_label])
        presenter.get_by_text("2 of 3 voted").wait_for(timeout=30_000)
        assert rooms.vote_count(second.id) == 2
        assert_no_exception(presenter)
    finally:
        for phone in phones:
            phone.context.close()
        server.stop()
