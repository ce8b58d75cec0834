"""Fashion-MNIST Studio: the router. Each page lives in pages/, the logic in classifier/."""

import streamlit as st

from ui import room, widgets

st.set_page_config(page_title="Fashion-MNIST Studio", page_icon="👕", layout="wide")
widgets.page_style()

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/grid_view:", url_path="dataset"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("pages/verify.py", title="Verify", icon=":material/fact_check:", url_path="verify"),
    st.Page("pages/explore.py", title="Explore", icon=":material/hub:", url_path="explore"),
    st.Page("pages/present.py", title="Present", icon=":material/slideshow:", url_path="present"),
    # The phones' page of "Let the room play", reached by its QR code: in no menu.
    st.Page("pages/play.py", title="Play", url_path="play", visibility="hidden"),
]

st.navigation(PAGES, position=room.navigation_position()).run()
