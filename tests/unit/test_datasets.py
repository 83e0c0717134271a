"""Data paths: embedded digits, image folders (flat, split, zipped, corrupt), tfds through mock data."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import tensorflow_datasets as tfds
from helpers import SHARED_TFDS, have_shared_cifar10, make_class_folders, write_images, zip_folder

from benchmarks.datasets import load_dataset
from benchmarks.datasets._types import Split, limit
from benchmarks.errors import UserError


def sizes(data):
    return len(data.train), len(data.validation), len(data.test)


def test_digits_is_embedded_stratified_and_deterministic():
    a = load_dataset("digits", seed=3)
    b = load_dataset("digits", seed=3)
    assert a.num_classes == 10 and sum(sizes(a)) == 1797
    assert a.train.kind == "bytes" and a.train.items[0].startswith(b"\x89PNG")
    np.testing.assert_array_equal(a.test.labels, b.test.labels)
    assert set(a.test.labels.tolist()) == set(range(10))
    assert len(a.test) == pytest.approx(0.15 * 1797, abs=2)


def test_limits_keep_every_class():
    data = load_dataset("digits", max_examples=(100, 30, 20))
    assert sizes(data) == (100, 30, 20)
    assert set(data.test.labels.tolist()) == set(range(10))


def test_limit_below_class_count_keeps_one_image_per_class():
    data = load_dataset("digits", max_examples=(5, None, None))
    assert np.bincount(data.train.labels).tolist() == [1] * 10


def test_class_per_folder_is_split_three_ways(image_folder):
    data = load_dataset(str(image_folder), validation_fraction=0.2, test_fraction=0.2)
    assert data.class_names == ("ants", "bees", "wasps")
    assert sizes(data) == (36, 12, 12)
    assert data.train.kind == "files"
    # no file in two splits
    assert not set(data.train.items) & set(data.test.items)
    assert not set(data.validation.items) & set(data.test.items)


def test_split_folders_train_val_carve_test(tmp_path):
    root = tmp_path / "hymenoptera_data"
    make_class_folders(root / "train", {"ants": 12, "bees": 12})
    make_class_folders(root / "val", {"ants": 5, "bees": 5})
    data = load_dataset(str(root), test_fraction=0.25)
    assert data.class_names == ("ants", "bees")
    assert len(data.validation) == 10  # the given val folder, untouched
    assert len(data.train) + len(data.test) == 24 and len(data.test) == 6


def test_fruits360_layout_training_and_test(tmp_path):
    root = tmp_path / "fruits-360" / "Fruit-Images-Dataset-master"
    make_class_folders(root / "Training", {"ants": 10, "bees": 10, "wasps": 10}, ext=".jpg")
    make_class_folders(root / "Test", {"ants": 4, "bees": 4, "wasps": 4}, ext=".jpg")
    data = load_dataset(str(tmp_path / "fruits-360"))  # descends through the wrapper folder
    assert len(data.test) == 12 and len(data.train) + len(data.validation) == 30


def test_zip_of_a_folder(tmp_path, image_folder):
    archive = zip_folder(image_folder, tmp_path / "insects.zip")
    data = load_dataset(str(archive))
    assert data.name == "insects" and data.class_names == ("ants", "bees", "wasps")
    assert sum(sizes(data)) == 60
    again = load_dataset(str(archive))  # extracted once, reused
    np.testing.assert_array_equal(data.train.items, again.train.items)


def test_corrupt_images_are_skipped_with_their_names(image_folder, caplog):
    (image_folder / "ants" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    (image_folder / "bees" / "truncated.jpg").write_bytes(open(image_folder / "bees" / "img000.png", "rb").read()[:60])
    (image_folder / "bees" / "notes.txt").write_text("not an image, ignored")
    with caplog.at_level(logging.WARNING):
        data = load_dataset(str(image_folder))
    assert sum(sizes(data)) == 60
    assert "broken.png" in caplog.text and "truncated.jpg" in caplog.text and "notes.txt" not in caplog.text


def test_a_class_with_only_corrupt_images_is_an_error(tmp_path):
    root = make_class_folders(tmp_path / "d", {"ants": 6, "bees": 6})
    (root / "wasps").mkdir()
    (root / "wasps" / "bad.jpg").write_bytes(b"garbage")
    with pytest.raises(UserError, match=r"class folder .*wasps has no readable images"):
        load_dataset(str(root))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda root: make_class_folders(root, {"ants": 6}) and None, "needs at least 2 classes"),
        (lambda root: (make_class_folders(root, {"ants": 6, "bees": 6}), (root / "empty").mkdir()), "empty has no readable images"),
        (lambda root: root.mkdir(), "has no subfolders"),
        (lambda root: make_class_folders(root / "val", {"ants": 4, "bees": 4}), "no train/Training folder"),
    ],
    ids=["single-class", "empty-class", "no-classes", "splits-without-train"],
)
def test_bad_folders_are_user_errors(tmp_path, build, message):
    root = tmp_path / "data"
    build(root)
    with pytest.raises(UserError, match=message):
        load_dataset(str(root))


def test_a_split_missing_a_class_is_an_error(tmp_path):
    root = tmp_path / "data"
    make_class_folders(root / "train", {"ants": 8, "bees": 8})
    write_images(root / "test" / "ants", 3, (200, 40, 40))
    with pytest.raises(UserError, match="test split of 'data' has no images of 1 class"):
        load_dataset(str(root))


def test_missing_path_and_non_zip_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_dataset(str(tmp_path / "nowhere.zip"))
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(UserError, match="is a file but not a .zip"):
        load_dataset(str(tmp_path / "file.txt"))
    (tmp_path / "fake.zip").write_text("x")
    with pytest.raises(UserError, match="not a readable zip"):
        load_dataset(str(tmp_path / "fake.zip"))


def test_unknown_tfds_name_suggests_close_names():
    with pytest.raises(UserError, match="unknown dataset 'cifar11'.*cifar10"):
        load_dataset("cifar11")


def test_tfds_cifar10_protocol_carves_validation_from_train():
    with tfds.testing.mock_data(num_examples=60):
        data = load_dataset("cifar10", validation_fraction=0.2)
    assert data.num_classes == 10
    assert len(data.validation) == 12 and len(data.train) == 48 and len(data.test) == 60
    assert data.train.kind == "bytes"


def test_tfds_flowers_protocol_uses_its_own_validation_split():
    with tfds.testing.mock_data(num_examples=1500):
        data = load_dataset("oxford_flowers102")
    assert data.num_classes == 102
    assert sizes(data) == (1500, 1500, 1500)


def test_tfds_non_image_dataset_is_rejected():
    with pytest.raises(UserError, match="not image classification"):
        load_dataset("imdb_reviews")


@pytest.mark.skipif(not have_shared_cifar10(), reason="../shared/data/tfds has no cifar10")
def test_real_cifar10_from_shared_data_dir():
    data = load_dataset("cifar10", data_dir=str(SHARED_TFDS), max_examples=(500, 100, 200))
    assert sizes(data) == (500, 100, 200)
    assert data.class_names[:2] == ("airplane", "automobile")
    assert np.bincount(data.test.labels).min() >= 19  # stratified


def test_limit_is_seeded():
    split = Split(np.arange(100).astype(object), np.repeat(np.arange(4), 25), "bytes")
    a, b = limit(split, 20, seed=1), limit(split, 20, seed=1)
    np.testing.assert_array_equal(a.items, b.items)
    assert np.bincount(a.labels).tolist() == [5, 5, 5, 5]


def test_trial_workers_do_not_import_scikit_learn_or_matplotlib():
    # Every trial is a fresh process that unpickles its trainable and PreparedDataset (so imports runners.trainable
    # and benchmarks.datasets), after Ray Tune. Only the driver uses scikit-learn (which would cost each trial about
    # a second), and nothing uses matplotlib; Keras would import both (runners/_keras_import.py). Both stay importable.
    import subprocess
    import sys

    code = ("import sys, ray.tune, runners.trainable; "
            "print(sorted(m for m in ('sklearn', 'matplotlib') if m in sys.modules), 'keras' in sys.modules); "
            "import sklearn.metrics, matplotlib.pyplot")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[] True"
