"""Benchmark of the upload preprocessing: `.venv/bin/python -m bench bench_images`.

Prints the median time to prepare a 4000x3000 JPEG photo, a 640x480 PNG and a 28x28 PNG,
and the big photo's ratio to the target of one second. Alongside, as a yardstick measured
in the same run (this machine's speed jumps between two levels), the time Pillow needs just
to decode the big photo at full size, which `Image.draft` lets the preprocessing skip.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from classifier.ml.images import MAX_UPLOAD_BYTES, preprocess_upload

TARGET_SECONDS = 1.0  # The Verify page should answer within a second for a phone photo.
REPETITIONS = {"big": 7, "small": 31}


def photo_like(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A dark shirt on a light, unevenly lit backdrop with sensor noise, in colour."""
    width, height = size
    rng = np.random.default_rng(seed)
    light = np.linspace(210, 245, width, dtype=np.float32)[None, :, None]
    values = np.broadcast_to(light, (height, width, 3)).copy()
    shirt = Image.new("L", size, 0)
    box_width, box_height = width * 0.4, height * 0.7
    left, top = (width - box_width) / 2, (height - box_height) / 2
    outline = [
        (0.0, 0.12), (0.3, 0.0), (0.7, 0.0), (1.0, 0.12), (1.0, 0.38), (0.8, 0.32),
        (0.8, 1.0), (0.2, 1.0), (0.2, 0.32), (0.0, 0.38),
    ]  # fmt: skip
    points = [(left + x * box_width, top + y * box_height) for x, y in outline]
    ImageDraw.Draw(shirt).polygon(points, fill=255)
    values[np.asarray(shirt) > 0] = (40, 60, 110)  # A denim-blue shirt.
    values += rng.normal(0.0, 5.0, values.shape).astype(np.float32)
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))


def encode(image: Image.Image, file_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, file_format, **options)
    return buffer.getvalue()


def median_seconds(work: Callable[[], object], repetitions: int) -> float:
    work()  # Warm up: first calls pay for imports and allocations.
    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def full_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def main() -> None:
    big_jpeg = encode(photo_like((4000, 3000)), "JPEG", quality=90)
    assert len(big_jpeg) <= MAX_UPLOAD_BYTES, "the benchmark photo must fit the upload limit"
    cases = [
        ("4000x3000 JPEG", big_jpeg, "big"),
        ("640x480 PNG", encode(photo_like((640, 480), seed=1), "PNG"), "small"),
        ("28x28 PNG", encode(photo_like((28, 28), seed=2).convert("L"), "PNG"), "small"),
    ]
    print(f"{'input':<40} {'size':>9} {'median':>10}")
    results = {}
    for name, data, kind in cases:
        seconds = median_seconds(lambda data=data: preprocess_upload(data), REPETITIONS[kind])
        results[name] = seconds
        print(f"{name:<40} {len(data) / 1e6:>7.2f}MB {seconds * 1000:>8.1f}ms")
    decode = median_seconds(lambda: full_decode(big_jpeg), REPETITIONS["big"])
    print(f"{'(yardstick) full decode of the big JPEG':<40} {'':>9} {decode * 1000:>8.1f}ms")
    big = results["4000x3000 JPEG"]
    print(
        f"\nBig JPEG: {big * 1000:.0f} ms = {big / TARGET_SECONDS:.2f} x the {TARGET_SECONDS:g} s "
        f"target ({'met' if big < TARGET_SECONDS else 'MISSED'}); "
        f"{big / decode:.2f} x a plain full-size decode."
    )


if __name__ == "__main__":
    main()
