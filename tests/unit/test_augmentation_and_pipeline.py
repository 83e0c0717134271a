"""The tf.data input pipeline and the augmentation policies."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from benchmarks.augmentation import (
    AUGMENTATIONS, POLICIES, RandomAffine, SaltAndPepper, build_augmentation, resample_axis_aligned, resolve_policy,
)
from benchmarks.datasets import load_dataset
from benchmarks.pipeline import make_dataset, make_feature_dataset


def test_pipeline_decodes_bytes_and_files_to_float_pixels(image_folder):
    for data in (load_dataset("digits", max_examples=(40, 20, 20)), load_dataset(str(image_folder))):
        ds = make_dataset(data.train, image_size=32, batch_size=8, training=True, seed=1)
        images, labels = next(iter(ds))
        assert images.shape == (8, 32, 32, 3) and images.dtype == tf.float32
        assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 255.0
        assert labels.dtype == tf.int64
        assert sum(int(b[1].shape[0]) for b in ds) == len(data.train)


def test_every_pipeline_runs_without_the_autotuning_thread():
    # Destroying an iterator joins that thread, which can sleep up to 60 s first (benchmarks/pipeline.py).
    data = load_dataset("digits", max_examples=(40, 20, 20))
    pipelines = [
        make_dataset(data.train, image_size=16, batch_size=8, training=True, augmentation=build_augmentation("light", 16, 0)),
        make_dataset(data.validation, image_size=16, batch_size=8, training=False),
        make_feature_dataset(np.zeros((40, 4), np.float32), data.train.labels, size=40, batch_size=8, training=True),
    ]
    assert [ds.options().autotune.enabled for ds in pipelines] == [False, False, False]


def test_evaluation_pipeline_keeps_order(image_folder):
    data = load_dataset(str(image_folder))
    ds = make_dataset(data.test, image_size=16, batch_size=4, training=False)
    labels = np.concatenate([y.numpy() for _, y in ds])
    np.testing.assert_array_equal(labels, data.test.labels)


def test_a_file_corrupted_after_the_scan_is_skipped_not_fatal(image_folder):
    data = load_dataset(str(image_folder))
    with open(data.test.items[0], "wb") as f:
        f.write(b"garbage")
    ds = make_dataset(data.test, image_size=16, batch_size=64, training=False)
    assert sum(int(y.shape[0]) for _, y in ds) == len(data.test) - 1


@pytest.mark.parametrize("policy", list(POLICIES))
def test_every_policy_keeps_shape_and_range(policy):
    images = tf.random.uniform((4, 32, 32, 3), 0, 255, seed=1)
    layer = build_augmentation(policy, 32, seed=0)
    if policy == "none":
        assert layer is None
        return
    out = layer(images, training=True)
    assert out.shape == images.shape
    assert float(tf.reduce_min(out)) >= -1e-3 and float(tf.reduce_max(out)) <= 255 + 1e-3


def test_policies_only_name_known_augmentations():
    for names in POLICIES.values():
        assert set(names) <= set(AUGMENTATIONS)
    assert resolve_policy(["flip", "crop"]) == ("flip", "crop")
    with pytest.raises(ValueError, match="unknown augmentation"):
        resolve_policy(["flip", "sepia"])
    with pytest.raises(ValueError, match="unknown augmentation policy"):
        resolve_policy("extreme")


def test_salt_and_pepper_sets_pixels_to_the_extremes_in_training_only():
    images = tf.fill((2, 50, 50, 3), 128.0)
    layer = SaltAndPepper(0.2, seed=3)
    noisy = layer(images, training=True).numpy()
    changed = noisy[..., 0] != 128
    assert 0.1 < changed.mean() < 0.3
    assert set(np.unique(noisy[changed])) <= {0.0, 255.0}
    assert (noisy[..., 0] == noisy[..., 1]).all()  # whole pixels, not channels
    np.testing.assert_array_equal(layer(images, training=False), images)


def test_explicit_augmentation_lists_and_shear():
    assert resolve_policy("flip, zoom,shear") == ("flip", "zoom", "shear")
    assert resolve_policy("rotation") == ("rotation",)
    with pytest.raises(ValueError, match=r"unknown augmentation\(s\) \['sepia'\]"):
        resolve_policy("flip,sepia")
    images = tf.random.uniform((4, 32, 32, 3), 0, 255, seed=1)
    out = build_augmentation("shear,vertical_flip", 32, seed=0)(images, training=True)
    assert out.shape == images.shape and float(tf.reduce_max(out)) <= 255 + 1e-3


def test_consecutive_geometric_augmentations_become_one_affine_resampling():
    strong = build_augmentation("strong", 32, seed=0)
    kinds = [type(layer).__name__ for layer in strong.layers]
    assert kinds == ["RandomAffine", "RandomBrightness", "RandomContrast", "Sequential", "SaltAndPepper"]
    assert strong.layers[0].steps == ("flip", "rotation", "zoom", "translation")
    mixed = build_augmentation("zoom,brightness,shear,vertical_flip", 32, seed=0)
    assert [getattr(layer, "steps", None) for layer in mixed.layers] == [("zoom",), None, ("shear", "vertical_flip")]


def test_the_affine_flip_mirrors_about_half_the_images_exactly():
    images = tf.random.uniform((64, 24, 24, 3), 0, 255, seed=2)
    out = RandomAffine(["flip"], seed=1)(images, training=True).numpy()
    mirrored = [np.allclose(o, x[:, ::-1], atol=1e-3) for o, x in zip(out, images.numpy())]
    same = [np.allclose(o, x, atol=1e-3) for o, x in zip(out, images.numpy())]
    assert all(m != s for m, s in zip(mirrored, same)) and 16 < sum(mirrored) < 48


def test_the_affine_zoom_and_translation_move_pixels_within_their_ranges():
    square = np.zeros((32, 24, 24, 1), "float32")
    square[:, 8:16, 8:16] = 255
    areas = (RandomAffine(["zoom"], zoom=0.5, seed=3)(tf.constant(square), training=True).numpy() > 127).sum(axis=(1, 2, 3))
    assert areas.min() < 64 < areas.max()  # zoomed out and in
    dot = np.zeros((32, 24, 24, 1), "float32")
    dot[:, 12, 12] = 255
    out = RandomAffine(["translation"], translation=0.125, seed=2)(tf.constant(dot), training=True).numpy()
    rows, cols = np.unravel_index(out[..., 0].reshape(32, -1).argmax(axis=1), (24, 24))
    assert np.abs(rows - 12).max() <= 3 and np.abs(cols - 12).max() <= 3 and (rows != 12).any()


def _affine_transform(images, scale_x, offset_x, scale_y, offset_y):
    zero = np.zeros_like(scale_x)
    transform = np.stack([scale_x, zero, offset_x, zero, scale_y, offset_y, zero, zero], axis=1).astype("float32")
    return keras.ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="reflect").numpy()


def test_separable_resampling_matches_the_general_affine_warp():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (16, 20, 28, 3)).astype("float32")  # not square: rows and columns stay apart
    scale_x = rng.uniform(0.5, 1.6, 16) * np.where(rng.uniform(size=16) < 0.5, -1, 1)  # flips, zoom in and out
    scale_y = rng.uniform(0.5, 1.6, 16) * np.where(rng.uniform(size=16) < 0.5, -1, 1)
    offset_x, offset_y = rng.uniform(-70, 90, 16), rng.uniform(-50, 70, 16)  # far outside: several reflections
    args = [a.astype("float32") for a in (scale_x, offset_x, scale_y, offset_y)]
    out = resample_axis_aligned(tf.constant(images), *args).numpy()
    np.testing.assert_allclose(out, _affine_transform(images, *args), atol=0.02)


def test_an_axis_aligned_affine_layer_resamples_as_its_matrix_says():
    images = tf.random.uniform((8, 24, 24, 3), 0, 255, seed=4)
    steps = ["flip", "vertical_flip", "translation", "zoom"]
    matrix = RandomAffine(steps, seed=7)._matrix(8, 24, 24).numpy()  # a fresh layer with the same seed draws the same
    assert np.allclose(matrix[:, 0, 1], 0) and np.allclose(matrix[:, 1, 0], 0)
    out = RandomAffine(steps, seed=7)(images, training=True).numpy()
    expected = _affine_transform(images, matrix[:, 0, 0], matrix[:, 0, 2], matrix[:, 1, 1], matrix[:, 1, 2])
    np.testing.assert_allclose(out, expected, atol=0.02)


def test_a_saved_model_with_the_augmentation_loads_back(tmp_path):
    # Checkpoints of trials that augment carry these layers; loading them needs the layers registered with Keras.
    model = keras.Sequential([keras.Input((16, 16, 3)), build_augmentation("flip,translation,zoom,salt_and_pepper", 16, seed=0)])
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert [type(layer).__name__ for layer in loaded.layers[0].layers] == ["RandomAffine", "SaltAndPepper"]
    assert loaded.layers[0].layers[0].steps == ("flip", "translation", "zoom")


def test_the_affine_layer_is_identity_outside_training_and_round_trips_its_config():
    images = tf.random.uniform((2, 16, 16, 3), 0, 255, seed=1)
    layer = RandomAffine(["rotation", "shear"], rotation=0.2, seed=5)
    np.testing.assert_array_equal(layer(images, training=False), images)
    again = RandomAffine.from_config(layer.get_config())
    assert again.steps == ("rotation", "shear") and again.rotation == 0.2
    with pytest.raises(ValueError, match="unknown geometric augmentation"):
        RandomAffine(["crop"])
