"""Home: what the studio does, and a link to each page."""

import streamlit as st

import ui

ui.route_through_app()

st.title("Fashion-MNIST Studio")
st.markdown(
    "Teach a computer to recognise clothes from small pictures, and check what it learned. "
    "This studio follows TensorFlow's classic *basic classification* tutorial, step by step, "
    "but you click instead of typing code."
)

left, middle, right = st.columns(3)
with left, st.container(border=True):
    st.subheader("1. Look at the data")
    st.write(
        "70,000 grayscale pictures of 28 x 28 pixels, in ten kinds of clothing. "
        "Browse them, inspect single pixels, see statistics."
    )
    st.page_link("pages/dataset.py", label="Open the Dataset page", icon=":material/grid_view:")
with middle, st.container(border=True):
    st.subheader("2. Train a model")
    st.write(
        "Pick a model, set epochs and other settings with sliders, press Train, and watch "
        "the loss fall and the accuracy rise, batch by batch."
    )
    st.page_link("pages/train.py", label="Open the Train page", icon=":material/model_training:")
with right, st.container(border=True):
    st.subheader("3. Verify its predictions")
    st.write(
        "See what the model thinks of each test picture, how sure it is, where it goes "
        "wrong, and try it on a photo of your own."
    )
    st.page_link("pages/verify.py", label="Open the Verify page", icon=":material/fact_check:")
