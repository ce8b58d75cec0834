"""Your own picture: upload, camera or drawing, classified by a run's model."""

from __future__ import annotations

import streamlit as st

from classifier.store.runs import RunInfo
from ui.cache import get_model
from ui.widgets import prediction_pair

PICTURE_SOURCES = {"upload": "Upload a photo", "camera": "Take a photo", "draw": "Draw a garment"}


def picture_input(key_prefix: str):
    """A picture of the user's: (its bytes, None) for a photo uploaded or taken, (None, the
    canvas's PNG bytes) for a drawing; None until there is one."""
    from classifier.ml.images import ACCEPTED_TYPES

    sources = list(PICTURE_SOURCES)
    source = st.segmented_control(
        "Your picture",
        sources,
        format_func=PICTURE_SOURCES.get,
        default="upload",
        key=f"{key_prefix}_source",
    )
    if source == "draw":
        from streamlit_drawable_canvas import st_canvas

        st.caption(
            "Draw one garment with the mouse or a finger; the model answers after each stroke."
        )
        canvas = st_canvas(
            stroke_width=16,
            stroke_color="#000000",
            background_color="",
            height=280,
            width=280,
            return_image_data=True,
            key=f"{key_prefix}_canvas",
        )
        # The PNG's bytes, decoded below under the upload's limits (never the component's
        # own bare decoder: a browser can send any data URL).
        drawing = canvas.image_bytes
        return None if not drawing else (None, drawing)
    if source == "camera":
        picture = st.camera_input("Take a photo of one garment", key=f"{key_prefix}_camera")
    else:
        upload_types = list(ACCEPTED_TYPES)
        picture = st.file_uploader("Upload a photo", type=upload_types, key=f"{key_prefix}_upload")
    return None if picture is None else (picture.getvalue(), None)


def own_picture(run: RunInfo, runs_root: str, key_prefix: str, note: str) -> None:
    """A photo or a drawing of the user's, prepared like the dataset, and what the run's
    model says of it: the original beside the 28 x 28 picture the model sees, with `note`."""
    from classifier.ml.images import ImageError, decode_drawing, displayable, prepare_drawing
    from classifier.ml.inference import classify_prepared, classify_upload

    if (picture := picture_input(key_prefix)) is None:
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
        st.error(str(error))
        return
    original_column, pair_column, note_column = st.columns([1, 3, 1])
    original_column.image(original, caption="Your picture")
    with pair_column:
        sees, key = "What the model sees", f"{key_prefix}_upload"
        prediction_pair(result.image.pixels, result.probabilities, None, key, sees)
    note_column.info(note)
    for remark in result.image.notes + ["inverted to light on dark"] * result.image.inverted:
        note_column.caption(f"Note: {remark}.")
