"""The presenter role in the page: who may Train, Stop and Delete (README, "Presenter and
viewers").

Security state lives outside Streamlit's caches: the password limiter is
``auth.login_limiter()`` (module-level, one per process), because Streamlit obeys a
"clear_cache" message from any client and empties every ``st.cache_*`` for everyone. The
role itself is per session (``st.session_state``) and checked again before every action.
"""

from __future__ import annotations

import hashlib
import os

import streamlit as st

from classifier import auth

# Session key: the presenter password was accepted, against which hash (its fingerprint), so
# a changed password_hash (Streamlit reloads an edited secrets.toml) ends the old logins.
PRESENTER_OK = "presenter_password_ok"


TOO_MANY = "Too many tries: wait a minute, then try again."


_CALLBACK_OPTIONS = ("on_click", "args", "kwargs")


def _secrets() -> object:
    """``st.secrets`` as a plain dict: {} when there is no secrets file at all; when one
    exists but cannot be read (a TOML syntax error), something that is not a mapping, so the
    settings fail closed instead of reading as absent."""
    try:
        return st.secrets.to_dict()
    except Exception:  # Streamlit raises the same error for "missing" and "does not parse"
        paths = st.get_option("secrets.files") or []
        if any(os.path.lexists(os.path.expanduser(str(path))) for path in paths):
            return object()  # not a mapping: auth reads it as unreadable
        return {}


def presenter_settings() -> auth.PresenterSettings:
    """The settings, read on every call (cheap); their mistakes are logged once per process."""
    settings = auth.load_settings(_secrets(), os.environ)
    auth.log_problems(settings)
    return settings


def _fingerprint(settings: auth.PresenterSettings) -> str | None:
    """Which password hash a login was checked against (None: no password configured)."""
    if settings.password_hash is None:
        return None
    return hashlib.sha256(settings.password_hash.encode("utf-8")).hexdigest()


def is_presenter() -> bool:
    """May this session train, stop and delete? Asked again right before every such action:
    a hidden button only changes what the browser draws."""
    settings = presenter_settings()
    accepted = _fingerprint(settings)
    user = st.user if st.user.get("is_logged_in") is True else {}
    return auth.grants_presenter(
        settings,
        password_ok=accepted is not None and st.session_state.get(PRESENTER_OK) == accepted,
        email=user.get("email"),
        email_verified=user.get("email_verified"),
    )


def presenter_button(label: str, key: str, **options) -> bool:
    """A button only the presenter sees; True when the presenter clicked it.

    The role is asked again after the click: hiding a button only changes what the browser
    draws, and a click message can be forged or outlive the role. No ``on_click``: Streamlit
    runs a callback before the page, outside this check; act on the return value instead.
    (A click on a disabled button is dropped by Streamlit itself, on the server.)
    """
    if any(name in options for name in _CALLBACK_OPTIONS):
        raise TypeError("presenter_button takes no on_click, args or kwargs: act on its result")
    if not is_presenter():
        return False
    return st.button(label, key=key, **options) and is_presenter()


def presenter_sidebar() -> None:
    """Log in and out as presenter, when a presenter is configured (else nothing shows); when
    the settings are invalid, say so to everyone (the owner is somewhere in the room)."""
    settings = presenter_settings()
    if not settings.enabled:
        return
    sidebar = st.sidebar.container(border=True)
    if settings.misconfigured:  # nobody is presenter: no login to offer
        sidebar.warning(settings.summary(), icon=":material/lock:")
        return
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
            result = auth.login_limiter().attempt(st.context.ip_address or "local", check)
            st.session_state[PRESENTER_OK] = _fingerprint(settings) if result == auth.OK else None
            if result == auth.OK:
                st.rerun()
            messages = {auth.WRONG: "That is not the password.", auth.LIMITED: TOO_MANY}
            sidebar.error(messages[result])
    if settings.login_enabled and sidebar.button("Log in", key="presenter_oidc_login"):
        st.login()
