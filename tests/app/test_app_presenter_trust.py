"""The presenter role in AppTest (issue 19): a settings mistake locks the page and says why in
the sidebar, an unverified login is a viewer, a client's "Clear cache" does not reset the
password limit, and presenter_button never acts on a disabled button or a callback."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.runtime.app_session import AppSession
from streamlit.testing.v1 import AppTest

from classifier import auth
from classifier.auth import ENV_PASSWORD_HASH, hash_password
from tests.support import APP

PASSWORD = "a long presenter password"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a long random string",
    "client_id": "id",
    "client_secret": "the client secret",
    "server_metadata_url": "https://accounts.example/.well-known/openid-configuration",
}
INVALID = "Presenter settings are invalid"


@pytest.fixture(scope="module")
def good_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture(autouse=True)
def clean(runs_root, monkeypatch):
    monkeypatch.delenv(ENV_PASSWORD_HASH, raising=False)
    auth.login_limiter().clear()  # failures count for the whole process
    yield
    auth.login_limiter().clear()


def train_page(secrets: dict | None = None, user: dict | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets.update(secrets or {})
    if user is not None:
        app.user = user
    app.run()
    app.switch_page("pages/train.py").run()
    assert not app.exception, app.exception
    return app


def can_train(app: AppTest) -> bool:
    return "train_start" in {button.key for button in app.button}


def sidebar_warnings(app: AppTest) -> str:
    return " ".join(warning.value for warning in app.sidebar.warning)


@pytest.mark.parametrize(
    "presenter",
    [
        {"password_hash": 123456},  # a PIN without quotes
        {"password_hash": ""},
        {"password-hash": "GOOD"},  # a typo, next to nothing else
        {"password_hash": "GOOD", "pasword_hash": "GOOD"},  # a typo next to the right key
    ],
    ids=["number", "empty", "typo", "typo-beside-a-good-hash"],
)
def test_a_settings_mistake_makes_everyone_a_viewer_and_the_sidebar_says_why(presenter, good_hash):
    presenter = {key: good_hash if value == "GOOD" else value for key, value in presenter.items()}
    app = train_page({"presenter": presenter})
    assert not can_train(app)
    text = sidebar_warnings(app)
    assert INVALID in text and "everyone is a viewer until it is fixed" in text
    assert good_hash not in text and "123456" not in text
    assert not [widget for widget in app.text_input if widget.key == "presenter_password"]


def test_a_bad_email_under_auth_makes_everyone_a_viewer():
    app = train_page({"auth": {**AUTH, "emails": ["teacher"]}})
    assert not can_train(app)
    assert INVALID in sidebar_warnings(app) and "teacher" not in sidebar_warnings(app)


def test_nothing_configured_still_leaves_everyone_presenter_without_a_warning():
    app = train_page()
    assert can_train(app) and not app.sidebar.warning


LOGIN = {"auth": AUTH, "presenter": {"emails": ["ada@example.org"]}}


@pytest.mark.parametrize(
    ("user", "presenter"),
    [
        ({"is_logged_in": True, "email": "ada@example.org", "email_verified": True}, True),
        ({"is_logged_in": True, "email": "ada@example.org", "email_verified": "false"}, False),
        ({"is_logged_in": True, "email": "ada@example.org"}, False),  # no claim: not verified
        ({"is_logged_in": "yes", "email": "ada@example.org", "email_verified": True}, False),
        ({"is_logged_in": True, "email": "eve@example.org", "email_verified": True}, False),
    ],
    ids=["verified", "string-false", "no-claim", "string-logged-in", "other-address"],
)
def test_only_a_verified_listed_login_is_presenter(user, presenter):
    assert can_train(train_page(LOGIN, user)) is presenter


def log_in(app: AppTest, password: str) -> None:
    app.text_input(key="presenter_password").input(password)
    next(b for b in app.get("button") if b.label == "Log in as presenter").click().run()


def test_a_clients_clear_cache_does_not_reset_the_password_limit(good_hash, monkeypatch):
    # Every client waits this long after any failure (AppTest gives each run another client
    # key, so the global wait is the limit seen here); long, so the test does not race it.
    monkeypatch.setattr(auth.login_limiter(), "global_backoff", 600.0)
    app = train_page({"presenter": {"password_hash": good_hash}})
    log_in(app, "a guess")
    assert any("not the password" in error.value for error in app.sidebar.error)
    # What Streamlit does with a "clear_cache" message, which any viewer can send.
    AppSession._handle_clear_cache_request(SimpleNamespace(_session_state={}))
    log_in(app, PASSWORD)
    assert not can_train(app)
    assert any("Too many tries" in error.value for error in app.sidebar.error)


def _button_script() -> None:
    import streamlit as st

    from ui import access

    disabled = st.session_state.get("disabled", False)
    if access.presenter_button("Act", key="act", disabled=disabled):
        st.session_state["acted"] = True


def test_a_forged_click_on_a_disabled_presenter_button_does_nothing():
    """The browser sends a click for a button the server now draws disabled (a forged message,
    or a click that raced the run which disabled it), e.g. Delete before its confirmation box
    is ticked. Streamlit 1.67 drops such a click on the server; this guards that it still does."""
    app = AppTest.from_function(_button_script, default_timeout=30)
    app.run()
    button = app.button(key="act")
    app.session_state["disabled"] = True
    button.click().run()
    assert not app.exception
    assert "acted" not in app.session_state


def _callback_script() -> None:
    import streamlit as st

    from ui import access

    try:
        access.presenter_button("Act", key="act", on_click=lambda: None)
    except TypeError as error:
        st.session_state["refused"] = str(error)


def test_presenter_button_refuses_a_callback_which_would_run_before_the_role_check():
    app = AppTest.from_function(_callback_script, default_timeout=30)
    app.run()
    assert "on_click" in app.session_state["refused"]


def test_a_new_password_hash_ends_the_sessions_of_the_old_password(good_hash):
    """Streamlit reloads an edited secrets.toml while serving: after the owner changes the
    password (say, because it leaked), a session that logged in with the old one is a viewer."""
    app = train_page({"presenter": {"password_hash": good_hash}})
    log_in(app, PASSWORD)
    assert can_train(app)
    app.secrets["presenter"] = {"password_hash": hash_password("the new password")}
    app.run()
    assert not can_train(app)
    assert any("You are watching" in caption.value for caption in app.sidebar.caption)
