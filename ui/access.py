"""The presenter role in the page: who may Train, Stop and Delete (README, "Presenter and
viewers")."""

from __future__ import annotations

import os

import streamlit as st

from classifier import auth

PRESENTER_OK = "presenter_password_ok"  # session key: the presenter password was accepted


TOO_MANY = "Too many tries: wait a minute, then try again."


@st.cache_resource
def _login_limiter() -> auth.RateLimiter:
    return auth.RateLimiter()  # one per server: failures count across sessions


def presenter_settings() -> auth.PresenterSettings:
    return auth.load_settings(st.secrets, os.environ)


def is_presenter() -> bool:
    """May this session train, stop and delete? Asked again right before every such action:
    a hidden button only changes what the browser draws."""
    user = st.user if st.user.get("is_logged_in") else {}
    return auth.is_presenter(
        presenter_settings(),
        password_ok=st.session_state.get(PRESENTER_OK) is True,
        email=user.get("email"),
        email_verified=user.get("email_verified"),
    )


def presenter_button(label: str, key: str, **options) -> bool:
    """A button only the presenter sees; True when the presenter clicked it."""
    if not is_presenter():
        return False
    return st.button(label, key=key, **options) and is_presenter()


def presenter_sidebar() -> None:
    """Log in and out as presenter, when a presenter is configured (else nothing shows)."""
    settings = presenter_settings()
    if not settings.enabled:
        return
    sidebar = st.sidebar.container(border=True)
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
            result = _login_limiter().attempt(st.context.ip_address or "local", check)
            st.session_state[PRESENTER_OK] = result == auth.OK
            if result == auth.OK:
                st.rerun()
            messages = {auth.WRONG: "That is not the password.", auth.LIMITED: TOO_MANY}
            sidebar.error(messages[result])
    if settings.login_enabled and sidebar.button("Log in", key="presenter_oidc_login"):
        st.login()
