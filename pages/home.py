"""Home: what the studio does, the fastest way to a demo, and a picture of each page."""

from pathlib import Path

import streamlit as st

from classifier.store.runs import RunStore
from ui import access, routing, watch

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
STEPS = [
    (
        "1. Look at the data",
        "70,000 grayscale pictures of 28 x 28 pixels, in ten kinds of clothing. "
        "Browse them, inspect single pixels, see statistics.",
        "pages/dataset.py",
        "dataset.png",
    ),
    (
        "2. Train a model",
        "Pick a model, set epochs and other settings with sliders, press Train, and watch "
        "it learn: the curves, and test pictures whose answers turn from red to blue.",
        "pages/train.py",
        "train-live.png",
    ),
    (
        "3. Verify its predictions",
        "See what the model thinks of each test picture, how sure it is, where it goes "
        "wrong, and try it on a photo of your own.",
        "pages/verify.py",
        "verify-grid.png",
    ),
    (
        "4. Present it",
        "One big picture at a time for a room, with the arrow keys or a clicker, and a quiz: "
        "can the audience beat the machine?",
        "pages/present.py",
        "present.png",
    ),
]

routing.start_page()
store = RunStore()


def start_the_demo() -> None:
    """With a model: the Present page. Without: train the quick one and watch it on Verify."""
    if store.usable_runs():
        st.switch_page("pages/present.py")
    if not access.is_presenter():
        st.warning("There is no model yet, and only the presenter can train one.")
        return
    watch.start_quick_training()
    st.switch_page("pages/verify.py")


st.title("Fashion-MNIST Studio")
st.markdown(
    "Teach a computer to recognise clothes from small pictures, and check what it learned. "
    "This studio follows TensorFlow's classic *basic classification* tutorial, step by step, "
    "but you click instead of typing code."
)
has_model = bool(store.usable_runs())
hint = "Opens the Present page." if has_model else "Trains a first model: about 20 seconds here."
if st.button("Start the demo", key="home_start", type="primary", icon=":material/play_arrow:"):
    start_the_demo()
st.caption(hint)
columns = [column for _ in range(2) for column in st.columns(2)]  # two rows of two
for column, (title, text, page, picture) in zip(columns, STEPS, strict=True):
    with column, st.container(border=True):
        st.subheader(title, anchor=False)
        if (SCREENSHOTS / picture).is_file():
            st.image(str(SCREENSHOTS / picture), width="stretch")
        st.write(text)
        st.page_link(page, label=f"Open the {Path(page).stem.capitalize()} page")
