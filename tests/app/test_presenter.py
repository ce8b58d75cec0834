"""The presenter role in Streamlit's AppTest: with a presenter password set, a viewer cannot
train, stop or delete, and the server refuses a forged Train; the presenter can."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from classifier import auth
from classifier.auth import ENV_PASSWORD_HASH, hash_password
from classifier.store.runs import COMPLETED, RunStore
from tests.support.apptest import open_app_page

PASSWORD = "a long presenter password"
PRESENTER_BUTTONS = {"train_start", "train_stop", "train_delete"}
DELETE_SECTION = "Delete a run"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def served(runs_root, monkeypatch, password_hash):
    """A run store with one finished run, served with a presenter password."""
    monkeypatch.setenv(ENV_PASSWORD_HASH, password_hash)
    auth.login_limiter().clear()  # failures of earlier tests count for the whole process
    writer = RunStore(runs_root).create_run({"preset": "Tutorial MLP", "epochs": 1}, "kept")
    writer.write_status(status=COMPLETED, test_accuracy=0.8, epochs_done=1)
    writer.release()
    return RunStore(runs_root)


def train_page() -> AppTest:
    return open_app_page("pages/train.py")


def button_keys(app: AppTest) -> set[str]:
    return {button.key for button in app.button}


def expander_labels(app: AppTest) -> set[str]:
    return {expander.label for expander in app.expander}


def log_in(app: AppTest, password: str) -> None:
    app.text_input(key="presenter_password").input(password)
    next(b for b in app.get("button") if b.label == "Log in as presenter").click().run()


def test_a_viewer_has_no_train_stop_or_delete_and_the_presenter_has_all_three(served):
    """A finished run (which Delete needs) and a live one (which Stop needs) are in the
    store, so each button has something to act on: the viewer sees none of them, the same
    page after logging in shows all three."""
    live = served.create_run({"preset": "Tutorial MLP", "epochs": 3}, "live")  # lock held
    try:
        assert [run.run_id for run in served.active_runs()] == [live.run_id]
        app = train_page()
        assert any("You are watching" in caption.value for caption in app.sidebar.caption)
        assert not PRESENTER_BUTTONS & button_keys(app)
        assert DELETE_SECTION not in expander_labels(app)
        log_in(app, PASSWORD)
        assert not app.exception, app.exception
        assert PRESENTER_BUTTONS <= button_keys(app)
        assert DELETE_SECTION in expander_labels(app)
    finally:
        live.release()


def test_a_wrong_password_is_refused_and_the_right_one_makes_a_presenter(served):
    app = train_page()
    log_in(app, "guess")
    assert "train_start" not in button_keys(app)
    assert any("not the password" in error.value for error in app.sidebar.error)
    time.sleep(1.1)  # after any failure, every client waits a second
    log_in(app, PASSWORD)
    assert "train_start" in button_keys(app) and "train_delete" in button_keys(app)


def test_the_server_refuses_a_forged_train(served, runs_root):
    app = train_page()
    log_in(app, PASSWORD)
    button = app.button(key="train_start")
    app.session_state["presenter_password_ok"] = False  # the role is gone (e.g. logged out)
    button.click().run()  # a click message for the stale button
    assert not app.exception
    assert [run.name for run in served.list_runs()] == ["kept"]  # nothing was started


def test_without_a_presenter_configured_everyone_is_presenter(runs_root, monkeypatch):
    monkeypatch.delenv(ENV_PASSWORD_HASH, raising=False)
    app = train_page()
    assert "train_start" in button_keys(app)
    assert not any("presenter" in caption.value for caption in app.sidebar.caption)
