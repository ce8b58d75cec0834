"""Golden tests of the upload preprocessing: real files made in memory with Pillow and numpy.

Every good picture must come out as a (28, 28) float32 array in [0, 1], the object light on
black, centred and fitted like a Fashion-MNIST image; every bad one as an ImageError whose
message says what is wrong.
"""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from classifier.ml.images import (
    ACCEPTED_TYPES,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    ImageError,
    PreparedImage,
    preprocess_upload,
)

CENTRE = 13.5
WHITE, BLACK, DARK_GREY = 255, 0, 40

# A T-shirt in unit coordinates of its bounding box (x right, y down): sleeves, a neckline
# and a body. Symmetric left to right, so its centre of mass is near the box centre.
SHIRT = [
    (0.0, 0.12), (0.3, 0.0), (0.42, 0.0), (0.5, 0.08), (0.58, 0.0), (0.7, 0.0), (1.0, 0.12),
    (1.0, 0.38), (0.8, 0.32), (0.8, 1.0), (0.2, 1.0), (0.2, 0.32), (0.0, 0.38),
]  # fmt: skip
SHIRT_ASPECT = 0.75  # width / height, so the fitted shirt is 21 x 28 pixels.


# Building pictures --------------------------------------------------------------------------


def draw_shirt(
    size: tuple[int, int] = (400, 400),
    box: tuple[int, int, int, int] = (50, 0, 350, 400),
    background: int | tuple = WHITE,
    colour: int | tuple = DARK_GREY,
    mode: str = "L",
) -> Image.Image:
    """A shirt filling `box` (left, top, right, bottom) on a plain background."""
    image = Image.new(mode, size, background)
    left, top, right, bottom = box
    points = [(left + x * (right - left), top + y * (bottom - top)) for x, y in SHIRT]
    ImageDraw.Draw(image).polygon(points, fill=colour)
    return image


def shirt_box(size: tuple[int, int], height: int, centre: tuple[int, int]) -> tuple:
    """The box of a shirt `height` pixels tall centred at `centre`."""
    width = round(height * SHIRT_ASPECT)
    x, y = centre
    return (x - width // 2, y - height // 2, x - width // 2 + width, y - height // 2 + height)


def reference_shirt() -> np.ndarray:
    """The shirt as Fashion-MNIST would store it: fitted to 28 tall, centred, white on black."""
    scale = 10  # Drawn 10x larger and shrunk with a box filter, for anti-aliased edges.
    width = round(28 * SHIRT_ASPECT)
    left = (28 - width) // 2
    image = draw_shirt(
        (28 * scale, 28 * scale),
        (left * scale, 0, (left + width) * scale, 28 * scale),
        background=BLACK,
        colour=WHITE,
    )
    return np.asarray(image.resize((28, 28), Image.Resampling.BOX), np.float32) / 255.0


def encode(image: Image.Image, file_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, file_format, **options)
    return buffer.getvalue()


def noisy(image: Image.Image, sigma: float, seed: int = 0) -> Image.Image:
    """Add Gaussian noise, like a camera sensor (also makes files too big to compress away)."""
    values = np.asarray(image, np.float32)
    values = values + np.random.default_rng(seed).normal(0.0, sigma, values.shape)
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))


def bar(size, box, background=WHITE, colour=DARK_GREY, mode="L") -> Image.Image:
    image = Image.new(mode, size, background)
    ImageDraw.Draw(image).rectangle(box, fill=colour)
    return image


def png_header_bomb(width: int, height: int) -> bytes:
    """A real, valid 1-bit PNG of width x height black pixels in a few kilobytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, grey
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed pixels
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


# Checking results ---------------------------------------------------------------------------


def centre_of_mass(pixels: np.ndarray) -> tuple[float, float]:
    rows, columns = np.indices(pixels.shape)
    total = pixels.sum()
    return float((rows * pixels).sum() / total), float((columns * pixels).sum() / total)


def object_box(pixels: np.ndarray, level: float = 0.3) -> tuple[int, int]:
    """(height, width) of the box around pixels brighter than `level`."""
    rows = np.flatnonzero((pixels > level).any(axis=1))
    columns = np.flatnonzero((pixels > level).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(columns[-1] - columns[0] + 1)


def assert_dataset_like(prepared: PreparedImage) -> np.ndarray:
    """The contract of every good picture; returns the pixels for further checks."""
    pixels = prepared.pixels
    assert isinstance(prepared, PreparedImage)
    assert pixels.shape == (28, 28)
    assert pixels.dtype == np.float32
    assert 0.0 <= pixels.min() and pixels.max() <= 1.0
    assert pixels.max() > 0.6, "the object should be bright"
    # Light on black: at least a fifth of the canvas is background, and it is black.
    assert np.percentile(pixels, 20) < 0.02
    row, column = centre_of_mass(pixels)
    assert abs(row - CENTRE) < 3 and abs(column - CENTRE) < 3, (row, column)
    assert max(object_box(pixels)) >= 26, "the longest side should be fitted to 28"
    return pixels


def assert_is_shirt(prepared: PreparedImage, tolerance: float = 0.1) -> None:
    """Golden check: the result has the shape of the shirt drawn directly in the dataset's form.

    Brightness is compared up to a factor (a dark grey shirt is not pure white once negated);
    the tests of levels check it separately.
    """
    pixels = assert_dataset_like(prepared)
    error = float(np.abs(pixels / pixels.max() - reference_shirt()).mean())
    assert error < tolerance, f"mean absolute difference {error:.3f}"


def assert_error(data: bytes, *words: str, **options) -> str:
    with pytest.raises(ImageError) as caught:
        preprocess_upload(data, **options)
    message = str(caught.value)
    for word in words:
        assert word.lower() in message.lower(), message
    return message


# Good pictures ------------------------------------------------------------------------------


def test_constants_match_the_server_settings():
    assert MAX_UPLOAD_BYTES == 5 * 1024 * 1024
    assert 10_000_000 <= MAX_PIXELS <= 100_000_000
    assert set(ACCEPTED_TYPES) == {"png", "jpg", "jpeg", "gif", "webp", "bmp"}
    assert issubclass(ImageError, ValueError)


def test_dark_shirt_on_white_png_is_inverted():
    prepared = preprocess_upload(encode(draw_shirt(), "PNG"))
    assert prepared.inverted is True
    assert prepared.format == "PNG"
    assert prepared.original_size == (400, 400)
    assert_is_shirt(prepared)
    # Negated and stretched: the shirt is white, as the object's peak is in every dataset image.
    assert np.median(prepared.pixels[prepared.pixels > 0.5]) == pytest.approx(1.0, abs=0.02)


def test_bright_shirt_on_black_png_is_not_inverted():
    image = draw_shirt(background=BLACK, colour=230)
    prepared = preprocess_upload(encode(image, "PNG"))
    assert prepared.inverted is False
    assert_is_shirt(prepared)


def test_rgba_png_with_transparent_background_is_placed_on_white():
    # Transparent pixels are black with alpha 0: read without compositing they would make a
    # dark shirt on a black background, with no object to find.
    image = draw_shirt(background=(0, 0, 0, 0), colour=(30, 60, 90, 255), mode="RGBA")
    prepared = preprocess_upload(encode(image, "PNG"))
    assert prepared.inverted is True
    assert_is_shirt(prepared)


def test_palette_png_is_read_through_its_palette():
    image = draw_shirt(background=(250, 250, 250), colour=(120, 20, 20), mode="RGB")
    prepared = preprocess_upload(encode(image.convert("P"), "PNG"))
    assert prepared.inverted is True
    assert_is_shirt(prepared)


def test_palette_png_with_transparent_index_is_placed_on_white():
    image = draw_shirt(background=0, colour=1, mode="P")
    image.putpalette([0, 0, 0, 40, 40, 40])  # index 0 black but transparent, 1 dark grey
    prepared = preprocess_upload(encode(image, "PNG", transparency=0))
    assert prepared.inverted is True
    assert_is_shirt(prepared)


def test_gif():
    image = draw_shirt(background=WHITE, colour=DARK_GREY, mode="RGB").convert("P")
    prepared = preprocess_upload(encode(image, "GIF"))
    assert prepared.format == "GIF"
    assert prepared.notes == []
    assert_is_shirt(prepared)


@pytest.mark.parametrize("file_format", ["GIF", "WEBP", "PNG"])
def test_animation_uses_its_first_frame(file_format):
    # A tall bar first, then a wide one: the result must be tall.
    tall = bar((300, 300), (120, 20, 180, 280), mode="RGB")
    wide = bar((300, 300), (20, 120, 280, 180), mode="RGB")
    options = {"lossless": True} if file_format == "WEBP" else {}
    data = encode(tall, file_format, save_all=True, append_images=[wide], duration=100, **options)
    prepared = preprocess_upload(data)
    assert prepared.format == file_format
    assert "animated: used the first frame" in prepared.notes
    height, width = object_box(assert_dataset_like(prepared))
    assert height >= 26 and width <= 8, (height, width)


def test_sixteen_bit_grey_png_is_scaled_not_clipped():
    # Pillow's own convert("L") clips 16-bit values at 255, which would make this all white.
    values = np.full((300, 300), 62_000, np.uint16)
    shirt = np.asarray(draw_shirt((300, 300), (38, 0, 263, 300), BLACK, WHITE)) > 127
    values[shirt] = 3_000
    data = encode(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    prepared = preprocess_upload(data)
    assert prepared.inverted is True
    assert "16-bit picture: scaled to 8 bits" in prepared.notes
    assert_is_shirt(prepared)


def test_sixteen_bit_bright_on_dark_png():
    values = np.full((300, 300), 1_000, np.uint16)
    shirt = np.asarray(draw_shirt((300, 300), (38, 0, 263, 300), BLACK, WHITE)) > 127
    values[shirt] = 60_000
    prepared = preprocess_upload(encode(Image.fromarray(values), "PNG"))
    assert prepared.inverted is False
    assert_is_shirt(prepared)


def test_cmyk_jpeg():
    # White paper is no ink (0, 0, 0, 0); the shirt is full black ink. A wrong conversion
    # (such as reading the channels as RGB) would give a black background.
    image = draw_shirt(background=(0, 0, 0, 0), colour=(0, 0, 0, 230), mode="CMYK")
    data = encode(image, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    prepared = preprocess_upload(data)
    assert prepared.format == "JPEG"
    assert prepared.inverted is True
    assert any("CMYK" in note for note in prepared.notes)
    assert_is_shirt(prepared)


def test_bmp():
    prepared = preprocess_upload(encode(draw_shirt(mode="RGB"), "BMP"))
    assert prepared.format == "BMP"
    assert_is_shirt(prepared)


def test_jpeg_with_noise():
    image = noisy(draw_shirt((600, 600), (75, 0, 525, 600)), sigma=6).convert("RGB")
    prepared = preprocess_upload(encode(image, "JPEG", quality=85))
    assert prepared.format == "JPEG"
    assert_is_shirt(prepared)


def test_camera_jpeg_with_a_second_picture_is_a_jpeg():
    # Pillow calls a JPEG with an embedded second picture (a preview, a stereo view) MPO.
    first = draw_shirt(mode="RGB")
    data = encode(first, "MPO", save_all=True, append_images=[Image.new("RGB", (400, 400))])
    prepared = preprocess_upload(data)
    assert prepared.format == "MPO"
    assert prepared.notes == []
    assert_is_shirt(prepared)


def test_exif_orientation_6_turns_the_picture_upright():
    # Stored: a wide bar with a knob at its left end. Orientation 6 means "rotate 90 degrees
    # clockwise to display", which puts the left end at the top: a tall bar, knob on top.
    stored = bar((600, 400), (100, 170, 500, 230))
    ImageDraw.Draw(stored).rectangle((100, 130, 160, 270), fill=DARK_GREY)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    prepared = preprocess_upload(encode(stored.convert("RGB"), "JPEG", exif=exif))
    assert prepared.original_size == (400, 600)
    assert "turned upright as the camera's orientation tag says" in prepared.notes
    pixels = prepared.pixels
    height, width = object_box(pixels)
    assert height >= 26 and width < 14, (height, width)
    widths = (pixels > 0.3).sum(axis=1)
    assert widths[:5].mean() > 1.5 * widths[-10:].mean(), "the knob should be at the top"


def test_big_jpeg_photo_is_fast():
    # A 4000 x 3000 photo: uneven light, sensor noise, a shirt in the middle.
    size = (4000, 3000)
    image = draw_shirt(size, shirt_box(size, 2000, (2000, 1500)), background=WHITE, colour=60)
    light = np.linspace(215, 245, size[0], dtype=np.float32)[None, :]
    values = np.where(np.asarray(image) == WHITE, light, np.asarray(image, np.float32))
    photo = noisy(Image.fromarray(values.astype(np.uint8)), sigma=4).convert("RGB")
    data = encode(photo, "JPEG", quality=90)
    assert len(data) <= MAX_UPLOAD_BYTES
    started = time.perf_counter()
    prepared = preprocess_upload(data)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"{elapsed:.2f} s (a sanity guard; see bench/bench_images.py)"
    assert prepared.original_size == size
    assert prepared.inverted is True
    assert_is_shirt(prepared)


def test_small_object_off_centre_ends_centred_and_fitted():
    size = (640, 480)
    image = draw_shirt(size, shirt_box(size, 48, (60, 420)))
    prepared = preprocess_upload(encode(image, "PNG"))
    assert_is_shirt(prepared, tolerance=0.12)
    assert max(object_box(prepared.pixels)) >= 27


def test_drawing_with_one_pixel_lines():
    # A shirt outlined with a one-pixel pen, as in a paint program: no filter may erase it.
    image = Image.new("L", (300, 300), WHITE)
    points = [(38 + x * 225, y * 299) for x, y in SHIRT]
    ImageDraw.Draw(image).line([*points, points[0]], fill=BLACK, width=1)
    prepared = preprocess_upload(encode(image, "PNG"))
    assert prepared.inverted is True
    pixels = prepared.pixels
    height, width = object_box(pixels, level=0.1)
    assert height >= 27 and 20 <= width <= 22, (height, width)
    row, column = centre_of_mass(pixels)
    assert abs(row - CENTRE) < 3 and abs(column - CENTRE) < 3, (row, column)


def test_light_grey_shirt_on_white_has_enough_contrast():
    prepared = preprocess_upload(encode(draw_shirt(colour=200), "PNG"))
    assert prepared.inverted is True
    pixels = prepared.pixels
    # Stretched to full range, like every dataset image (all reach 254 or 255).
    assert np.median(pixels[pixels > 0.5]) == pytest.approx(1.0, abs=0.02)
    assert_is_shirt(prepared)


def test_grey_background_is_mapped_to_black():
    prepared = preprocess_upload(encode(draw_shirt(background=180, colour=20), "PNG"))
    assert prepared.inverted is True
    assert_is_shirt(prepared)


def test_dark_shirt_on_mid_grey_is_still_inverted():
    # The background median (110) is dark, but the shirt is darker still: follow the contrast.
    prepared = preprocess_upload(encode(draw_shirt(background=110, colour=10), "PNG"))
    assert prepared.inverted is True
    assert_is_shirt(prepared)


def test_dataset_like_28x28_input_comes_back_unchanged():
    reference = reference_shirt()
    image = Image.fromarray(np.rint(reference * 255).astype(np.uint8))
    prepared = preprocess_upload(encode(image, "PNG"))
    assert prepared.inverted is False
    assert float(np.abs(prepared.pixels - reference).mean()) < 0.05


def test_real_fashion_mnist_images_survive_a_round_trip(dataset):
    # Undo what the dataset did (negate, enlarge 10x, save as a JPEG photo), then prepare it.
    errors = []
    for index in range(20):
        original = dataset.test.images[index]
        photo = Image.fromarray(255 - original).resize((280, 280), Image.Resampling.BICUBIC)
        prepared = preprocess_upload(encode(photo, "JPEG", quality=92))
        assert prepared.inverted is True
        errors.append(float(np.abs(prepared.pixels - original / 255.0).mean()))
    assert np.median(errors) < 0.06 and np.percentile(errors, 90) < 0.1, errors


# Bad inputs ---------------------------------------------------------------------------------


def test_empty_file():
    assert_error(b"", "file is empty")


def test_over_the_size_limit_names_the_limit_in_mb():
    noise = np.random.default_rng(0).integers(0, 256, (1200, 1200), dtype=np.uint8)
    data = encode(Image.fromarray(noise), "PNG")  # about 1.4 MB: noise does not compress
    assert_error(data, "file is 1.4 MB", "limit is 1 MB", max_bytes=2**20)
    message = assert_error(b"x" * (MAX_UPLOAD_BYTES + 1), "limit is 5 MB")
    assert "5.0 MB" in message


def test_exactly_at_the_limit_is_accepted():
    data = encode(draw_shirt(), "PNG")
    assert_dataset_like(preprocess_upload(data, max_bytes=len(data)))


def test_text_is_not_a_picture():
    assert_error(b"Hello, this is a shopping list.\nshirt, trousers\n", "not a picture")


def test_svg_is_refused_with_a_hint():
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="28"></svg>'
    assert_error(svg, "SVG", "PNG")


def test_pdf_is_refused():
    assert_error(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "PDF")


def test_heic_photo_is_refused_with_a_hint():
    # The start of an iPhone photo: a box size, then "ftyp" and the brand "heic".
    assert_error(b"\x00\x00\x00\x18ftypheic" + bytes(200), "HEIC", "JPEG")


def test_other_picture_formats_are_named_and_refused():
    assert_error(encode(draw_shirt(), "TIFF"), "TIFF", "not accepted")


@pytest.mark.parametrize("file_format", ["PNG", "JPEG"])
def test_truncated_file_is_damaged(file_format):
    data = encode(noisy(draw_shirt(), sigma=20).convert("RGB"), file_format)
    assert_error(data[: len(data) // 2], "damaged")


def test_decompression_bomb_over_our_limit():
    data = png_header_bomb(8_000, 8_000)  # 64 megapixels in about 10 kB
    assert len(data) < 20_000
    assert_error(data, "too large", "8000 x 8000", "40 megapixels")


@pytest.mark.parametrize("side", [10_000, 20_000])
def test_decompression_bomb_over_pillows_limits(side):
    # 100 megapixels only makes Pillow warn; 400 makes it refuse. Both must be our error.
    assert_error(png_header_bomb(side, side), "too large", "megapixels")


def test_pixel_limit_is_a_parameter():
    assert_error(encode(draw_shirt(), "PNG"), "400 x 400", max_pixels=100_000)


def test_uniform_picture_has_no_object():
    assert_error(encode(Image.new("RGB", (200, 150), (240, 240, 240)), "PNG"), "no object")
    assert_error(encode(noisy(Image.new("L", (200, 150), 128), sigma=3), "JPEG"), "no object")
    assert_error(encode(Image.new("L", (1, 1), 0), "PNG"), "no object")
