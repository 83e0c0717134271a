"""--val-fraction is a share of all the images, whether the test split is carved or given as its own folder."""

from __future__ import annotations

import pytest
from helpers import make_class_folders

from benchmarks.datasets._folders import load_image_folder as load_dataset
from benchmarks.errors import UserError


def test_the_validation_share_is_of_all_images_with_a_carved_test_split(tmp_path):
    make_class_folders(tmp_path / "data", {"a": 50, "b": 50})
    data = load_dataset(str(tmp_path / "data"), validation_fraction=0.2, test_fraction=0.1, seed=0,
                        cache_dir=tmp_path / "cache")
    assert (len(data.train), len(data.validation), len(data.test)) == (70, 20, 10)


def test_the_validation_share_is_of_all_images_with_a_given_test_folder(tmp_path):
    make_class_folders(tmp_path / "data" / "train", {"a": 40, "b": 40})
    make_class_folders(tmp_path / "data" / "test", {"a": 10, "b": 10})
    data = load_dataset(str(tmp_path / "data"), validation_fraction=0.2, seed=0, cache_dir=tmp_path / "cache")
    # 100 images in all: 20 for validation, carved from train's 80 (before: 0.2 / 0.85 of them, 19)
    assert (len(data.train), len(data.validation), len(data.test)) == (60, 20, 20)


def test_a_validation_share_larger_than_train_is_one_line(tmp_path):
    make_class_folders(tmp_path / "data" / "train", {"a": 4, "b": 4})
    make_class_folders(tmp_path / "data" / "test", {"a": 20, "b": 20})
    with pytest.raises(UserError, match="--val-fraction 0.5 of all 48 images needs more than the 8 train images"):
        load_dataset(str(tmp_path / "data"), validation_fraction=0.5, seed=0, cache_dir=tmp_path / "cache")
