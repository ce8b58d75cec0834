"""Every picture Verify shows beside the 28 x 28 one is 8-bit pixels st.image can encode,
whatever the upload's mode; and the drawing canvas's PNG passes the upload's guards."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from classifier.ml import images


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def with_garment(mode: str, background, garment) -> Image.Image:
    """A plain background with a darker block in the middle: one garment to find."""
    image = Image.new(mode, (64, 64), background)
    image.paste(garment, (20, 12, 44, 52))
    return image


def sixteen_bit() -> Image.Image:
    values = np.full((64, 64), 60000, dtype=np.uint16)
    values[12:52, 20:44] = 3000
    return Image.fromarray(values)  # mode I;16


def palette_with_transparency() -> bytes:
    image = with_garment("P", 1, 2)
    image.putpalette([0, 0, 0, 255, 255, 255, 20, 20, 20] + [0] * 759)
    return encoded(image, transparency=0)


CASES = {
    "16-bit grey": encoded(sixteen_bit()),
    "CMYK JPEG": encoded(with_garment("CMYK", (0, 0, 0, 0), (0, 0, 0, 230)), "JPEG"),
    "palette with transparency": palette_with_transparency(),
    "grey with alpha": encoded(with_garment("LA", (250, 255), (30, 255))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_an_odd_upload_becomes_8_bit_pixels_a_browser_shows(name):
    pixels = images.displayable(CASES[name])
    assert pixels.dtype == np.uint8
    assert pixels.ndim == 2 or pixels.shape[2] in (3, 4)
    assert Image.fromarray(pixels).mode in ("L", "RGB", "RGBA")
    assert encoded(Image.fromarray(pixels))  # what st.image does with an array
    assert images.preprocess_upload(CASES[name]).pixels.shape == (28, 28)  # and an answer


def test_the_16_bit_picture_keeps_its_contrast():
    pixels = images.displayable(CASES["16-bit grey"])
    assert pixels.min() == 0 and pixels.max() == 255


def test_a_32_bit_float_picture_array_is_clipped_to_8_bits():
    # No accepted file format holds 32-bit floats (PNG stops at 16 bits): they arrive as
    # arrays, like the drawing.
    pixels = images.displayable(np.array([[np.nan, -5.0], [300.0, 128.4]]))
    assert pixels.dtype == np.uint8 and pixels.tolist() == [[0, 0], [255, 128]]


def test_a_drawing_is_decoded_under_the_uploads_guards():
    stroke = np.zeros((280, 280, 4), dtype=np.uint8)
    stroke[100:180, 120:160, 3] = 255
    rgba = images.decode_drawing(encoded(Image.fromarray(stroke, "RGBA")))
    assert rgba.shape == (280, 280, 4) and rgba[..., 3].any()


@pytest.mark.parametrize(
    "forged",
    [
        encoded(Image.new("L", (6000, 6000))),  # a small file that decodes to 36 megapixels
        encoded(Image.new("RGB", (280, 280)), "JPEG"),  # not what the canvas sends
        b"\x89PNG\r\n\x1a\n" + b"\0" * 100,  # damaged
        b"",
    ],
)
def test_a_forged_drawing_is_refused_with_a_message(forged):
    with pytest.raises(images.ImageError):
        images.decode_drawing(forged)
