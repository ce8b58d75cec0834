"""Runs written into a store the way the app writes them (RunStore / RunWriter), without
training where the test does not need a model; and a photo-like picture to upload."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT


class TrainedRun:
    """A completed run in a scratch store: `root` is the store folder."""

    def __init__(self, root: Path, run_id: str):
        self.root = root
        self.run_id = run_id


def train_run(root: Path, name: str, **settings) -> TrainedRun:
    """A Tutorial MLP trained in this process (run_training, as the worker does it) with
    these settings (e.g. epochs=1, train_limit=3000: a few seconds)."""
    from classifier.ml.models import preset_config
    from classifier.ml.training import run_training
    from classifier.store.runs import RunStore

    config = preset_config("Tutorial MLP", **settings)
    writer = RunStore(root).create_run(config.to_dict(), name)
    run_training(writer)
    return TrainedRun(root, writer.run_id)


def completed_run(store, name: str, accuracy: float = 0.85, config: dict | None = None) -> str:
    """A finished run without a model (what a listing needs): its id."""
    from classifier.store.runs import COMPLETED

    writer = store.create_run(config or {"preset": "Tutorial MLP", "epochs": 1}, name)
    writer.write_status(status=COMPLETED, test_accuracy=accuracy, epochs_done=1)
    writer.release()
    return writer.run_id


def cli_train(root: Path, name: str, *arguments: str) -> str:
    """A run trained by the command line (`python -m classifier train`) in `root`: its id."""
    command = [sys.executable, "-m", "classifier", "--runs-dir", str(root), "train"]
    command += [*arguments, "--quiet", "--name", name]
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    match = re.search(r"^run id: (\S+)$", result.stdout, re.MULTILINE)
    assert result.returncode == 0 and match, result.stdout + result.stderr[-3000:]
    return match.group(1)


def copy_run(source_root: Path, source_id: str, store_root: Path, run_id: str, name: str):
    """A copy of a run under another id and name, to damage without touching the original."""
    from classifier.store.runs import CONFIG_FILE

    target = Path(shutil.copytree(source_root / source_id, store_root / run_id))
    config = json.loads((target / CONFIG_FILE).read_text())
    (target / CONFIG_FILE).write_text(json.dumps({**config, "name": name}))
    return target


_odd_ids = itertools.count()


def odd_run(root: Path, config: str | None, status: str | None, metrics=None, batches=None):
    """A fresh run folder in `root` holding these file contents (None: the file is absent):
    what another version or a hostile user of a shared runs folder might leave there."""
    from classifier.store.runs import BATCHES_FILE, CONFIG_FILE, METRICS_FILE, STATUS_FILE

    run_id = f"odd-{os.getpid()}-{next(_odd_ids)}"
    path = root / run_id
    path.mkdir(parents=True)
    for name, content in (
        (CONFIG_FILE, config),
        (STATUS_FILE, status),
        (METRICS_FILE, metrics),
        (BATCHES_FILE, batches),
    ):
        if content is not None:
            data = content if isinstance(content, bytes) else content.encode("utf-8", "replace")
            (path / name).write_bytes(data)
    return run_id


# The runs of `damage_store`.
GOOD, GARBAGE, BAD_STATUS, FLIPPED = "good", "garbage-metrics", "bad-status", "flipped-byte"


def damage_store(source: tuple[Path, str], root: Path):
    """A store (returned as a RunStore) with four copies of the run `source` (store, id):
    GOOD; GARBAGE, with garbage lines and a second epoch in its metrics; BAD_STATUS, whose
    status file is not JSON; FLIPPED, one byte of its model flipped and the best recorded
    accuracy (so the Verify page offers it first)."""
    from classifier.store.runs import METRICS_FILE, MODEL_FILE, STATUS_FILE, RunStore

    copy_run(*source, root, GOOD, "good run")
    garbage = copy_run(*source, root, GARBAGE, "garbage in its metrics")
    epoch_one = (garbage / METRICS_FILE).read_text().splitlines()[0]
    epoch_two = json.dumps({**json.loads(epoch_one), "epoch": 2})
    lines = [epoch_one, 'garbage \x00 {"epoch": 9, "loss"', "[1, 2]", epoch_two]
    (garbage / METRICS_FILE).write_text("\n".join(lines) + "\n")
    bad_status = copy_run(*source, root, BAD_STATUS, "status not json")
    (bad_status / STATUS_FILE).write_text("this is not JSON {")
    flipped = copy_run(*source, root, FLIPPED, "one byte flipped")
    data = bytearray((flipped / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01
    (flipped / MODEL_FILE).write_bytes(bytes(data))
    status = json.loads((flipped / STATUS_FILE).read_text())
    (flipped / STATUS_FILE).write_text(json.dumps({**status, "test_accuracy": 0.99}))
    return RunStore(root)


def shirt_png(background: int = 255, colour: int = 40, size: int = 300) -> bytes:
    """A dark T-shirt shape on a light background, as a user might photograph one."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (size, size), background)
    points = [(0.1, 0.2), (0.35, 0.1), (0.65, 0.1), (0.9, 0.2), (0.95, 0.4), (0.75, 0.35)]
    points += [(0.75, 0.9), (0.25, 0.9), (0.25, 0.35), (0.05, 0.4)]
    ImageDraw.Draw(image).polygon([(x * size, y * size) for x, y in points], fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def oversize_png() -> bytes:
    """A real, valid PNG just over the upload limit: noise does not compress."""
    import numpy as np
    from PIL import Image

    from classifier.ml.images import MAX_UPLOAD_BYTES

    side = 1400  # 1400 x 1400 x 3 random bytes: about 5.6 MB as a PNG
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    data = buffer.getvalue()
    assert MAX_UPLOAD_BYTES < len(data) < 2 * MAX_UPLOAD_BYTES
    return data
