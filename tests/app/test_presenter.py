"""The presenter role in Streamlit's AppTest: with a presenter password set, a viewer cannot
train, stop or delete, and the server refuses a forged Train; the presenter can."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from classifier.auth import ENV_PASSWORD_HASH, hash_password
from classifier.store.runs import COMPLETED, RunStore
from ui import access

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORD = "a long presenter password"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def served(runs_root, monkeypatch, password_hash):
    """A run store with one finished run, served with a presenter password."""
    monkeypatch.setenv(ENV_PASSWORD_HASH, password_hash)
    access._login_limiter.clear()  # failures of earlier tests count for the whole server
    writer = RunStore(runs_root).create_run({"preset": "Tutorial MLP", "epochs": 1}, "kept")
    writer.write_status(status=COMPLETED, test_accuracy=0.8, epochs_done=1)
    writer.release()
    return RunStore(runs_root)


def train_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/train.py").run()
    assert not app.exception, app.exception
    return app


def button_keys(app: AppTest) -> set[str]:
    return {button.key for button in app.button}


def log_in(app: AppTest, password: str) -> None:
    app.text_input(key="presenter_password").input(password)
    next(b for b in app.get("button") if b.label == "Log in as presenter").click().run()


def test_a_viewer_has_no_train_stop_or_delete(served):
    app = train_page()
    assert not {"train_start", "train_stop", "train_delete"} & button_keys(app)
    assert any("You are watching" in caption.value for caption in app.sidebar.caption)


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
