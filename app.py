"""Fashion-MNIST Studio: the router. Each page lives in pages/, the logic in classifier/."""

import streamlit as st

st.set_page_config(
    page_title="Fashion-MNIST Studio", page_icon=":material/checkroom:", layout="wide"
)

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/grid_view:", url_path="dataset"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("pages/verify.py", title="Verify", icon=":material/fact_check:", url_path="verify"),
    st.Page("pages/explore.py", title="Explore", icon=":material/hub:", url_path="explore"),
    st.Page("pages/present.py", title="Present", icon=":material/slideshow:", url_path="present"),
]

st.navigation(PAGES).run()
