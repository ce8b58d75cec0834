"""Unit tests of the loader on the real Fashion-MNIST files, and on damaged copies of them."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from classifier import data
from classifier.data import CLASS_NAMES, DatasetError, load_dataset, scale_images

TRAIN_IMAGES, TRAIN_LABELS = data.FILES["train"]


def test_shapes_and_dtypes(dataset):
    assert dataset.train.images.shape == (60_000, 28, 28)
    assert dataset.train.labels.shape == (60_000,)
    assert dataset.test.images.shape == (10_000, 28, 28)
    assert dataset.test.labels.shape == (10_000,)
    for split in (dataset.train, dataset.test):
        assert split.images.dtype == np.uint8
        assert split.labels.dtype == np.uint8


def test_arrays_are_read_only(dataset):
    for array in (dataset.train.images, dataset.train.labels, dataset.test.images):
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0] = 1


@pytest.mark.parametrize(("name", "per_class"), [("train", 6_000), ("test", 1_000)])
def test_every_class_is_balanced(dataset, name, per_class):
    counts = np.bincount(dataset.split(name).labels, minlength=10)
    assert counts.tolist() == [per_class] * 10


def test_pixels_span_0_to_255(dataset):
    for split in (dataset.train, dataset.test):
        assert int(split.images.min()) == 0
        assert int(split.images.max()) == 255


def test_class_names_and_known_images(dataset):
    assert len(CLASS_NAMES) == 10
    assert CLASS_NAMES[7] == "Sneaker"  # not the tutorial's lowercase typo
    # The tutorial's first figure is an ankle boot; its first test image too.
    assert CLASS_NAMES[dataset.train.labels[0]] == "Ankle boot"
    assert CLASS_NAMES[dataset.test.labels[0]] == "Ankle boot"


def test_split_lookup(dataset):
    assert dataset.split("test") is dataset.test
    with pytest.raises(ValueError, match="Unknown split"):
        dataset.split("validation")


def test_scale_images_gives_float_0_to_1(dataset):
    scaled = scale_images(dataset.test.images[:100])
    assert scaled.dtype == np.float32
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    np.testing.assert_allclose(scaled * 255, dataset.test.images[:100], atol=1e-4)


# Damaged files: small IDX files written here, one defect each.


def idx_bytes(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return struct.pack(f">{1 + len(dims)}I", magic, *dims) + payload


def write_gz(path, raw: bytes) -> None:
    path.write_bytes(gzip.compress(raw))


def folder_with_train_images(tmp_path, raw_gz: bytes):
    """A folder with all four files present; only the train images file matters (read first)."""
    for pair in data.FILES.values():
        for name in pair:
            (tmp_path / name).write_bytes(gzip.compress(b""))
    (tmp_path / TRAIN_IMAGES).write_bytes(raw_gz)
    return tmp_path


def assert_helpful(error: DatasetError, file_name: str) -> None:
    message = str(error)
    assert file_name in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert data.ENV_DIR in message


def test_truncated_gzip_names_the_file(tmp_path):
    whole = gzip.compress(idx_bytes(2051, (60_000, 28, 28), bytes(5_000)))
    folder = folder_with_train_images(tmp_path, whole[: len(whole) // 2])
    with pytest.raises(DatasetError, match="damaged") as caught:
        load_dataset(folder)
    assert_helpful(caught.value, TRAIN_IMAGES)


def test_short_data_names_the_file(tmp_path):
    raw = idx_bytes(2051, (60_000, 28, 28), bytes(28 * 28 * 10))  # header says 60,000 images
    folder = folder_with_train_images(tmp_path, gzip.compress(raw))
    with pytest.raises(DatasetError, match="truncated") as caught:
        load_dataset(folder)
    assert_helpful(caught.value, TRAIN_IMAGES)


def test_wrong_magic_number_names_the_file(tmp_path):
    raw = idx_bytes(2049, (60_000, 28, 28), b"")  # the labels' magic on an images file
    folder = folder_with_train_images(tmp_path, gzip.compress(raw))
    with pytest.raises(DatasetError, match="magic number 2049, expected 2051") as caught:
        load_dataset(folder)
    assert_helpful(caught.value, TRAIN_IMAGES)


def test_wrong_count_names_the_file(tmp_path):
    raw = idx_bytes(2051, (3, 28, 28), bytes(3 * 28 * 28))
    folder = folder_with_train_images(tmp_path, gzip.compress(raw))
    with pytest.raises(DatasetError, match="holds 3 items") as caught:
        load_dataset(folder)
    assert_helpful(caught.value, TRAIN_IMAGES)


def test_missing_directory_says_how_to_fix(tmp_path):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(DatasetError, match="does not exist") as caught:
        load_dataset(missing)
    assert_helpful(caught.value, str(missing))


def test_missing_file_names_it(tmp_path):
    with pytest.raises(DatasetError, match="Missing dataset file") as caught:
        load_dataset(tmp_path)
    assert_helpful(caught.value, TRAIN_IMAGES)


def test_environment_variable_folder_is_used_first(tmp_path, monkeypatch):
    """$FASHION_MNIST_DIR wins over the installed copy: its damaged file is the one reported."""
    raw = idx_bytes(2051, (3, 28, 28), bytes(3 * 28 * 28))
    folder = folder_with_train_images(tmp_path, gzip.compress(raw))
    monkeypatch.setenv(data.ENV_DIR, str(folder))
    assert data.find_dataset_dir() == folder
    with pytest.raises(DatasetError) as caught:
        load_dataset(allow_download=False)
    assert_helpful(caught.value, str(folder / TRAIN_IMAGES))


def test_labels_out_of_range_are_rejected(tmp_path, dataset):
    """Valid images, but a label 10 in the labels file."""
    source = dataset.source
    for pair in data.FILES.values():
        for name in pair:
            (tmp_path / name).symlink_to(source / name)
    (tmp_path / TRAIN_LABELS).unlink()
    labels = np.full(60_000, 10, dtype=np.uint8).tobytes()
    write_gz(tmp_path / TRAIN_LABELS, idx_bytes(2049, (60_000,), labels))
    with pytest.raises(DatasetError, match="labels outside 0-9") as caught:
        load_dataset(tmp_path)
    assert TRAIN_LABELS in str(caught.value)
