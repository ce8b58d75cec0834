"""Routing: every page starts here, so a deep link on a fresh server still goes through
app.py (README, "Deep links on a fresh server skip app.py")."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from ui.access import presenter_sidebar

ROUTED_ONCE = "ui_routed_once"  # session key: this session was sent through app.py once


def start_page() -> None:
    """What every page does first: go through the router, then offer the presenter login."""
    route_through_app()
    presenter_sidebar()


def route_through_app() -> None:
    """Make a deep link (e.g. /dataset) on a fresh server go through app.py's router.

    README, "Deep links on a fresh server skip app.py": until some run calls st.navigation,
    Streamlit runs a page file directly, without app.py. Every page calls this first: it
    switches that mode off and reruns once, and the rerun goes through st.navigation to the
    same page. Once per session only: AppTest turns the mode back on before every run, and a
    rerun there would swallow clicks.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if not st.session_state.get(ROUTED_ONCE):
            st.session_state[ROUTED_ONCE] = True
            st.rerun()
