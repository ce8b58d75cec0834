"""Play: the phone's page of "Let the room play". A phone joins the presenter's room by the
QR code's address (/play?room=CODE), votes on each picture, and sees how it did."""

import streamlit as st

from ui import room, routing

st.set_page_config(layout="centered", initial_sidebar_state="collapsed")
routing.route_through_app()  # no presenter login here: a phone is a player, nothing else
room.phone_page()
