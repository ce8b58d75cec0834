"""Turn a user's own picture into a 28x28 Fashion-MNIST-like input, with Pillow and numpy.

The steps follow how the dataset itself was made (Xiao et al. 2017, section 2): trim to the
object, fit its longest side to 28 pixels, centre it on a 28x28 canvas, and negate, so that
the garment is light on a black background; like every dataset image, the result spans the
full range from black to white. Every way an upload can go wrong ends in an
`ImageError` whose message tells a non-programmer what to do next.

No Streamlit here: the Verify page calls `preprocess_upload(file.getvalue())` and shows the
message of any `ImageError` it gets.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import ExifTags, Image, ImageCms, ImageFilter, ImageOps

from classifier.data import IMAGE_SIZE

# Must match `server.maxUploadSize = 5` in .streamlit/config.toml: the browser enforces that
# limit only on its side, so the server checks again.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# 40 megapixels is more than any phone camera gives; a larger picture in a file of at most
# 5 MB is almost certainly a decompression bomb (a tiny file that unpacks to gigabytes).
MAX_PIXELS = 40_000_000
# File extensions for the uploader widget (`st.file_uploader(type=ACCEPTED_TYPES)`).
ACCEPTED_TYPES = ("png", "jpg", "jpeg", "gif", "webp", "bmp")
# Pillow's decoders for the same formats: no other parser ever sees the uploaded bytes.
PILLOW_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
# Pillow reports many camera JPEGs as MPO (a JPEG with an embedded second picture, such as a
# preview); its JPEG decoder opens them, and they are accepted as JPEGs.
OPENED_FORMATS = (*PILLOW_FORMATS, "MPO")

# Big pictures are shrunk to this longest side before the precise steps. It keeps a garment
# that fills a tenth of a photo at about 50 pixels, well above 28, at a fraction of the cost.
WORK_SIZE = 512
# The dataset trims edges "within 5% of the corner colour"; a garment must differ from the
# background by about twice that (in 0-255 levels) to count as an object rather than noise.
MIN_CONTRAST = 24
# A pixel belongs to the object when it differs from the background by more than 5% of the
# range, the dataset's own trimming tolerance, or by more than 4 times the background's noise
# in a grainy photo. A threshold relative to the object's peak would cut off a pale garment
# with a dark print, keeping only the print.
OBJECT_LEVELS = 0.05 * 255
NOISE_FACTOR = 4.0
# A picture counts as grainy, and is smoothed, when more than this fraction of its border
# pixels stand out from their 3x3 neighbourhood.
GRAINY_FRACTION = 0.01

ACCEPTED_TEXT = "PNG, JPEG, GIF, WebP or BMP"


class ImageError(ValueError):
    """An upload that cannot be used, with a message a non-programmer can act on."""


@dataclass
class PreparedImage:
    """A picture ready for the classifier, plus what was done to it."""

    # float32, shape (28, 28), values in [0, 1], the object light on black like the dataset.
    pixels: np.ndarray
    # True when the background was light and the picture was negated, as the dataset was.
    inverted: bool
    # (width, height) of the full picture as seen upright, before any shrinking.
    original_size: tuple[int, int]
    # Pillow's name of the file format: "PNG", "JPEG", "MPO", "GIF", "WEBP" or "BMP".
    format: str
    # Short remarks for the user, such as "animated: used the first frame".
    notes: list[str] = field(default_factory=list)


def preprocess_upload(
    data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS
) -> PreparedImage:
    """Prepare the bytes of an uploaded picture for a Fashion-MNIST classifier.

    Raises ImageError for an empty, too large, unreadable, damaged or blank picture, or a file
    format other than ACCEPTED_TYPES.
    """
    _check_file_size(len(data), max_bytes)
    notes: list[str] = []
    image, file_format, original_size = _decode(data, max_pixels, notes)
    image = _to_working_mode(image, notes)
    # Shrinking early keeps every later step fast; the premultiplied-alpha resize of RGBA and
    # LA images keeps transparent edges from bleeding colour.
    image.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    gray = _to_grayscale(image)
    levels, mask, inverted = _separate_object(gray)
    pixels = _fit_to_canvas(_crop_to_object(levels, mask))
    return PreparedImage(pixels, inverted, original_size, file_format, notes)


# The canvas is 280 x 280 CSS pixels; on a high-density screen its PNG has up to 4 times as
# many pixels on each side. Anything larger, or any other format, was not drawn on it.
MAX_DRAWING_SIDE = 4 * 280
MAX_DRAWING_BYTES = 2 * 1024 * 1024


def decode_drawing(data: bytes) -> np.ndarray:
    """The canvas's PNG (the bytes of its data URL, which any browser can forge) as an RGBA
    array, under the same guards as an upload: size, pixel count, PNG only, fully decoded.
    Raises ImageError."""
    _check_file_size(len(data), MAX_DRAWING_BYTES)
    max_pixels = MAX_DRAWING_SIDE * MAX_DRAWING_SIDE
    image, file_format, size = _decode(data, max_pixels, [])
    if file_format != "PNG" or max(size) > MAX_DRAWING_SIDE:
        raise ImageError("The drawing could not be read. Please draw again.")
    return np.asarray(image.convert("RGBA"))


def displayable(image) -> np.ndarray:
    """A picture as 8-bit pixels `st.image` can always show: RGB, RGBA or grey. Pillow
    keeps 16-bit, 32-bit and float pictures (modes I;16, I;16B, I, F), CMYK, and palette or
    grey pictures with transparency in modes a browser image cannot hold as they are.
    `image` is the uploaded file's bytes or an array (a drawing)."""
    if isinstance(image, np.ndarray):
        array = np.asarray(image)
        if array.dtype != np.uint8:
            array = np.clip(np.nan_to_num(array.astype(np.float64)), 0, 255).astype(np.uint8)
        return array
    opened, _, _ = _decode(bytes(image), MAX_PIXELS, [])
    opened.thumbnail((WORK_SIZE, WORK_SIZE))  # shown small: no need to send megapixels
    if opened.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16- or 32-bit grey levels, or floats: the range actually used, scaled to 0-255.
        values = np.nan_to_num(np.asarray(opened, dtype=np.float64))
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else values * 0
        return np.rint(scaled).astype(np.uint8)
    has_alpha = opened.mode in ("RGBA", "LA", "PA") or "transparency" in opened.info
    return np.asarray(opened.convert("RGBA" if has_alpha else "RGB"))


def prepare_drawing(rgba: np.ndarray) -> PreparedImage:
    """Prepare a drawing from the canvas: strokes on a transparent background.

    The strokes' opacity is the garment's brightness, so a drawing becomes what the dataset
    holds: a light garment on black, trimmed, fitted to 28 pixels and centred, as an upload.
    Raises ImageError for an empty canvas.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.size == 0:
        raise ImageError("The drawing could not be read. Please draw again.")
    opacity = np.clip(rgba[:, :, 3], 0, 255).astype(np.uint8)
    if int(opacity.max()) < MIN_CONTRAST:
        raise ImageError("Draw a garment first: the canvas is empty.")
    height, width = opacity.shape
    image = Image.fromarray(opacity)
    image.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    levels, mask, inverted = _separate_object(np.asarray(image))
    pixels = _fit_to_canvas(_crop_to_object(levels, mask))
    return PreparedImage(pixels, inverted, (width, height), "drawing")


def _check_file_size(size: int, max_bytes: int) -> None:
    """Refuse empty and oversized files before Pillow sees them."""
    if size == 0:
        raise ImageError("The file is empty (0 bytes). Please choose a picture file.")
    if size > max_bytes:
        raise ImageError(
            f"The file is {size / 2**20:.1f} MB, but the limit is {_megabytes(max_bytes)} MB. "
            "Please upload a smaller picture, for example a screenshot of it."
        )


def _megabytes(size: int) -> str:
    """A limit in MB for a message: "5" for 5 MiB, "0.5" for 512 KiB."""
    return f"{size / 2**20:.3g}"


def _decode(
    data: bytes, max_pixels: int, notes: list[str]
) -> tuple[Image.Image, str, tuple[int, int]]:
    """Open and fully decode the first frame, upright, guarding against bombs and damage."""
    # Pillow only warns between 89 and 179 megapixels; make that an error too. The filter is
    # process-wide while this block runs (catch_warnings is not thread-safe before Python
    # 3.14), so the explicit size check below is what really protects us.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data, max_pixels)
        file_format = image.format or "unknown"
        _check_pixel_count(image.size, max_pixels)
        original_size = image.size
        if file_format in ("GIF", "WEBP", "PNG") and _is_animated(image):
            notes.append("animated: used the first frame")
        if file_format in ("JPEG", "MPO"):
            # Let libjpeg decode straight to gray at 1/2, 1/4 or 1/8 scale: a 12-megapixel
            # photo then costs a few tens of milliseconds instead of a few hundred.
            image.draft("L", (WORK_SIZE, WORK_SIZE))
        try:
            # Image.open reads only the header: a truncated file opens fine and fails here.
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _bomb_error(image.size, max_pixels) from error
        except Exception as error:  # Pillow's decoders raise many types on damaged data.
            raise ImageError(
                "The picture is damaged or incomplete and could not be decoded (perhaps the "
                "upload or an earlier download was cut off). Please try the original file."
            ) from error
    upright = _exif_transpose(image, notes)
    if upright.size != image.size:
        original_size = (original_size[1], original_size[0])
    return upright, file_format, original_size


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Image.open restricted to the accepted formats, so no other parser touches the data."""
    try:
        image = Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow refuses before we see the size; its own limit is above ours.
        raise ImageError(
            f"The picture is too large: more than {Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels, "
            f"but the limit is {max_pixels / 1e6:g} megapixels. Please resize it to at most a "
            "few thousand pixels on each side."
        ) from error
    except Exception as error:  # UnidentifiedImageError, or a plugin choking on the header.
        raise ImageError(_unreadable_message(data)) from error
    if image.format not in OPENED_FORMATS:  # Defensive: a plugin may report another name.
        raise ImageError(f"{image.format} pictures are not accepted. Please use {ACCEPTED_TEXT}.")
    return image


def _unreadable_message(data: bytes) -> str:
    """Say what a file that is not an accepted picture seems to be, so the user can fix it."""
    head = data[:1024].lstrip().lower()
    if head.startswith(b"%pdf"):
        kind = "a PDF document, not a picture"
    elif head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        kind = "an SVG drawing; only pixel pictures are accepted (export it as PNG)"
    elif data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1", b"ftyphevc"):
        kind = "a HEIC photo, which is not supported (export or share it as JPEG)"
    else:
        kind = _identify_other_format(data)
    return f"This file is {kind}. Please upload a {ACCEPTED_TEXT} picture."


def _identify_other_format(data: bytes) -> str:
    """Name a picture format Pillow knows but we refuse (TIFF, ICO, ...), header only."""
    try:
        # Only the header is parsed here: nothing is decoded, so any plugin is safe to try.
        with Image.open(io.BytesIO(data)) as image:
            return f"a {image.format} picture, which is not accepted"
    except Exception:  # Not a picture at all, or one too damaged to recognise.
        return "not a picture that can be read, or it is damaged"


def _check_pixel_count(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse decompression bombs before any pixel is decoded."""
    if size[0] * size[1] > max_pixels:
        raise _bomb_error(size, max_pixels)


def _bomb_error(size: tuple[int, int], max_pixels: int) -> ImageError:
    width, height = size
    return ImageError(
        f"The picture is too large: {width} x {height} pixels "
        f"({width * height / 1e6:.1f} megapixels), but the limit is {max_pixels / 1e6:g} "
        "megapixels. Please resize it to at most a few thousand pixels on each side."
    )


def _is_animated(image: Image.Image) -> bool:
    """True for a picture with several frames; checks for a second frame only, not all."""
    try:
        animated = bool(getattr(image, "is_animated", False))
        image.seek(0)  # is_animated may have moved to frame 1.
    except Exception:  # A damaged later frame does not matter: only the first is used.
        return False
    return animated


def _exif_transpose(image: Image.Image, notes: list[str]) -> Image.Image:
    """Turn the picture upright as the camera's orientation tag says."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
        upright = ImageOps.exif_transpose(image)
    except Exception:  # A broken EXIF block should not cost the user the picture.
        notes.append("the rotation tag could not be read: used the picture as stored")
        return image
    if orientation in range(2, 9):
        notes.append("turned upright as the camera's orientation tag says")
    return upright


def _to_working_mode(image: Image.Image, notes: list[str]) -> Image.Image:
    """Bring any Pillow mode to "L", "LA", "RGB" or "RGBA" without losing the object."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # Pillow's own convert("L") clips 16-bit values at 255 (a white picture); scale them.
        values = np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
        notes.append("16-bit picture: scaled to 8 bits")
        return Image.fromarray((values >> 8).astype(np.uint8))
    if mode == "F":
        return Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8))
    if mode == "CMYK":
        return _cmyk_to_rgb(image, notes)
    if mode in ("P", "PA", "La", "RGBa") or "transparency" in image.info:
        # Palette pictures may mark a colour as transparent; RGBA makes that an alpha channel.
        return image.convert("LA" if mode in ("L", "La") else "RGBA")
    if mode in ("L", "LA", "RGB", "RGBA"):
        return image
    return image.convert("RGB")  # "1", "YCbCr", "LAB", "HSV" and anything rarer.


def _cmyk_to_rgb(image: Image.Image, notes: list[str]) -> Image.Image:
    """Convert CMYK with its embedded colour profile when it has one, as print software does."""
    profile = image.info.get("icc_profile")
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                notes.append("CMYK picture: converted with its colour profile")
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # A broken profile: the plain formula below is still close.
    notes.append("CMYK picture: converted to RGB")
    return image.convert("RGB")


def _to_grayscale(image: Image.Image) -> np.ndarray:
    """uint8 gray levels, with any transparency placed on white (a product photo's backdrop)."""
    if image.mode in ("LA", "RGBA"):
        luminance_alpha = np.asarray(image.convert("LA"), dtype=np.float32)
        alpha = luminance_alpha[..., 1] / 255.0
        composite = luminance_alpha[..., 0] * alpha + 255.0 * (1.0 - alpha)
        return np.clip(np.rint(composite), 0, 255).astype(np.uint8)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _border(array: np.ndarray) -> np.ndarray:
    """The outer frame of a picture, 2% of its shorter side wide (at least one pixel)."""
    width = max(1, round(0.02 * min(array.shape)))
    return np.concatenate(
        [
            array[:width].ravel(),
            array[-width:].ravel(),
            array[:, :width].ravel(),
            array[:, -width:].ravel(),
        ]
    )


def _separate_object(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Negate if the background is light, then stretch background to 0 and object to 255.

    Returns the float32 levels in [0, 255] (the object light on black), the object's mask,
    and whether the picture was negated.
    """
    smooth = _denoise(gray)
    background = float(np.median(_border(smooth)))
    lighter = float(smooth.max()) - background
    darker = background - float(smooth.min())
    # As in the dataset, a light background means a dark object to negate. On a mid-grey
    # background the object may still lie on the other side: follow the contrast then.
    inverted = background > 127
    if max(darker if inverted else lighter, 0.0) < MIN_CONTRAST:
        inverted = not inverted
    contrast = darker if inverted else lighter
    if contrast < MIN_CONTRAST:
        raise ImageError(
            "No object found: the picture looks blank or has too little contrast. Please use "
            "a photo of one garment on a plain background that differs clearly from it."
        )
    if inverted:
        gray_levels, smooth, background = 255.0 - gray, 255.0 - smooth, 255.0 - background
    else:
        gray_levels = gray.astype(np.float32)
    # Stretch the background to 0 and the object's peak to 255: every Fashion-MNIST image has
    # a black background and a maximum of 254 or 255, even a pale garment.
    levels = np.clip((gray_levels - background) * (255.0 / contrast), 0.0, 255.0)
    mask = smooth - background > _object_threshold(smooth, contrast)
    return levels.astype(np.float32), mask, inverted


def _denoise(gray: np.ndarray) -> np.ndarray:
    """The picture as float32, through a 3x3 median filter if its background is grainy.

    The median removes sensor noise and JPEG specks, which would otherwise count as objects
    or stretch the bounding box. It would also erase one-pixel lines, so a clean drawing
    (a flat background) is left as it is. Only the mask and the contrast use this picture;
    the levels come from the raw pixels.
    """
    smooth = np.asarray(Image.fromarray(gray).filter(ImageFilter.MedianFilter(3)), np.float32)
    # Grainy: many border pixels stand out from their neighbourhood (a line of the object
    # crossing the border is a few pixels at most; noise and dithering are everywhere).
    speckled = _border(np.abs(gray - smooth)) > OBJECT_LEVELS / 2
    return smooth if speckled.mean() > GRAINY_FRACTION else gray.astype(np.float32)


def _noise(values: np.ndarray) -> float:
    """A standard deviation robust to outliers, such as the object covering part of a border:
    the median absolute deviation, scaled to agree with the standard deviation of a normal."""
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def _object_threshold(smooth: np.ndarray, contrast: float) -> float:
    """How far above the background a smoothed pixel must be to count as the object."""
    noise = _noise(_border(smooth))
    # Never above half the contrast, so that a faint object in grainy light is still found.
    return min(max(OBJECT_LEVELS, NOISE_FACTOR * noise), contrast / 2)


def _crop_to_object(levels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The object's bounding box, without a margin.

    The dataset trimmed every edge within 5% of the background colour and then filled all
    28 pixels with the longest side; the mask uses the same 5% (OBJECT_LEVELS), so a margin
    would only make objects smaller than the dataset's. A small object would shrink most: two
    pixels of margin on a 48-pixel garment move it by a whole pixel at 28x28.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    columns = np.flatnonzero(mask.any(axis=0))
    return levels[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def _fit_to_canvas(crop: np.ndarray) -> np.ndarray:
    """Fit the longest side to 28 and centre the result on a black 28x28 canvas."""
    height, width = crop.shape
    factor = IMAGE_SIZE / max(height, width)
    new_width = min(IMAGE_SIZE, max(1, round(width * factor)))
    new_height = min(IMAGE_SIZE, max(1, round(height * factor)))
    # Resizing in float ("F") keeps the precision of the levels. Lanczos rings slightly below 0
    # and above 255 at sharp edges (much as the dataset's sharpening step did), hence the clip.
    resized = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32)).resize(
        (new_width, new_height), Image.Resampling.LANCZOS
    )
    canvas = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    top, left = (IMAGE_SIZE - new_height) // 2, (IMAGE_SIZE - new_width) // 2
    canvas[top : top + new_height, left : left + new_width] = np.asarray(resized)
    return np.clip(canvas / 255.0, 0.0, 1.0).astype(np.float32)
