"""Home: what the studio does, and a link to each page."""

import streamlit as st

import ui

ui.start_page()

STEPS = [
    (
        "1. Look at the data",
        "70,000 grayscale pictures of 28 x 28 pixels, in ten kinds of clothing. "
        "Browse them, inspect single pixels, see statistics.",
        "pages/dataset.py",
        "Open the Dataset page",
        ":material/grid_view:",
    ),
    (
        "2. Train a model",
        "Pick a model, set epochs and other settings with sliders, press Train, and watch "
        "the loss fall and the accuracy rise, batch by batch.",
        "pages/train.py",
        "Open the Train page",
        ":material/model_training:",
    ),
    (
        "3. Verify its predictions",
        "See what the model thinks of each test picture, how sure it is, where it goes "
        "wrong, and try it on a photo of your own.",
        "pages/verify.py",
        "Open the Verify page",
        ":material/fact_check:",
    ),
]

st.title("Fashion-MNIST Studio")
st.markdown(
    "Teach a computer to recognise clothes from small pictures, and check what it learned. "
    "This studio follows TensorFlow's classic *basic classification* tutorial, step by step, "
    "but you click instead of typing code."
)
for column, (title, text, page, link, icon) in zip(st.columns(3), STEPS, strict=True):
    with column, st.container(border=True):
        st.subheader(title)
        st.write(text)
        st.page_link(page, label=link, icon=icon)
