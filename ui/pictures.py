"""Your own picture: upload, camera or drawing, classified by a run's model."""

from __future__ import annotations

import streamlit as st

from classifier.store.runs import RunInfo
from ui import widgets
from ui.cache import get_model
from ui.widgets import prediction_pair

PICTURE_SOURCES = {"upload": "Upload a photo", "camera": "Take a photo", "draw": "Draw a garment"}


def picture_input(key_prefix: str):
    """A picture of the user's: (its bytes, None) for a photo uploaded or taken, (None, the
    canvas's PNG bytes) for a drawing; None until there is one."""
    from classifier.ml.images import ACCEPTED_TYPES

    if source_of(key_prefix) == "draw":
        from streamlit_drawable_canvas import st_canvas

        st.space("small")  # the canvas's toolbar floats above it: keep it off the choice
        canvas = st_canvas(
            stroke_width=16,
            stroke_color="#000000",
            background_color="",
            height=280,
            width=280,
            return_image_data=True,
            key=f"{key_prefix}_canvas",
        )
        # Under the canvas and its toolbar, where nothing covers it.
        st.caption("Draw one garment with the mouse or a finger.")
        # The PNG's bytes, decoded below under the upload's limits (never the component's
        # own bare decoder: a browser can send any data URL).
        drawing = canvas.image_bytes
        return None if not drawing else (None, drawing)
    if source_of(key_prefix) == "camera":
        picture = st.camera_input("Take a photo of one garment", key=f"{key_prefix}_camera")
    else:
        upload_types = list(ACCEPTED_TYPES)
        picture = st.file_uploader("Upload a photo", type=upload_types, key=f"{key_prefix}_upload")
    return None if picture is None else (picture.getvalue(), None)


def source_of(key_prefix: str) -> str:
    """Where the picture comes from: "upload", "camera" or "draw" (the choice above it)."""
    return st.session_state.get(f"{key_prefix}_source") or "upload"


def own_picture(run: RunInfo, runs_root: str, key_prefix: str, photo_note: str) -> None:
    """A photo or a drawing of the user's, prepared like the dataset, and what the run's
    model says of it beside it: the original and the 28 x 28 picture the model sees. The
    answer sits next to the canvas, where the eye is while drawing. `photo_note` says how
    photos differ from the dataset."""
    from classifier.ml.images import ImageError, decode_drawing, displayable, prepare_drawing
    from classifier.ml.inference import classify_prepared, classify_upload

    st.segmented_control(
        "Your picture",
        list(PICTURE_SOURCES),
        format_func=PICTURE_SOURCES.get,
        default="upload",
        key=f"{key_prefix}_source",
    )
    # The canvas needs its 280 px; the answer takes the rest of the row (or the next line).
    input_column, answer_column = widgets.side_by_side(2, (290, 460))
    with input_column:
        picture = picture_input(key_prefix)
    if picture is None:
        return
    photo, drawing = picture
    try:
        model = get_model(runs_root, run.run_id, run.model_sha256)
        if photo is not None:
            result = classify_upload(model, photo)
            original = displayable(photo)
        else:
            pixels = decode_drawing(drawing)
            if not pixels[..., 3].any():
                return  # an empty canvas: nothing drawn yet
            result = classify_prepared(model, prepare_drawing(pixels))
            original = displayable(pixels)
    except ImageError as error:
        answer_column.error(str(error))
        return
    with answer_column:
        if photo is not None:
            st.image(original, caption="Your picture", width=160)
        sees, key = "What the model sees", f"{key_prefix}_upload"
        prediction_pair(result.image.pixels, result.probabilities, None, key, sees)
        notes = list(result.image.notes)
        if result.image.inverted:
            notes.append(INVERTED_NOTE)
        for remark in notes:
            st.caption(f"Note: {remark}.")
        st.caption(photo_note if photo is not None else DRAWING_NOTE)


# What the 28 x 28 picture shows after a light background was negated (the dataset stores
# the garment as bright numbers on 0; every picture here is drawn dark on white).
INVERTED_NOTE = (
    "your photo has a light background, so its brightness was turned around, as the "
    "dataset's pictures were made; it is drawn here dark on white like all the test pictures"
)
DRAWING_NOTE = (
    "The model answers after each stroke. It learned from product photos, so a clear "
    "outline of one garment works best."
)
