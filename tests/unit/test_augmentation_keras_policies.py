"""The policies that are Keras 3's own augmentation layers: RandAugment, RandomErasing, MixUp and CutMix.

MixUp and CutMix mix labels: their training batches carry one-hot mixed labels and train on categorical
cross-entropy, while validation keeps integer labels and the usual accuracy.
"""

from __future__ import annotations

import keras
import numpy as np
import optuna
import pytest
import tensorflow as tf

import benchmarks.training
from benchmarks.augmentation import (
    POLICIES, LabelAccuracy, augment_batch, build_augmentation, label_cross_entropy, mixes_labels, resolve_policy,
)
from benchmarks.datasets import load_dataset
from benchmarks.features import uses_feature_cache
from benchmarks.pipeline import make_dataset
from benchmarks.training import TrainSettings, plan_phases, train_trial

LAYERS = {
    "randaugment": keras.layers.RandAugment,
    "erasing": keras.layers.RandomErasing,
    "mixup": keras.layers.MixUp,
    "cutmix": keras.layers.CutMix,
}
MIXING = ("mixup", "cutmix")
CNN = {"backbone": "custom_cnn", "depth": 2, "width": 16, "dropout": 0.1, "dense_units": 64,
       "learning_rate": 3e-3, "batch_size": 32, "optimizer": "adam"}


def _batch(n=16, size=32, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    images = tf.constant(rng.uniform(0, 255, (n, size, size, 3)), tf.float32)
    labels = tf.one_hot(rng.integers(0, classes, n), classes)
    return images, labels


def _is_mixed(labels: np.ndarray) -> np.ndarray:
    """Per row: more than one class holds a share of the label."""
    return (labels > 1e-6).sum(axis=1) > 1


def test_the_keras_policies_are_named_policies_and_among_the_default_spaces_choices():
    from search_spaces._common import suggest_training

    for policy in LAYERS:
        assert resolve_policy(policy) == (policy,)
    trial = optuna.create_study().ask()
    suggest_training(trial)
    assert set(LAYERS) <= set(trial.distributions["augmentation"].choices)
    assert {"light", "strong"} <= set(trial.distributions["augmentation"].choices)  # the fused policies stay
    assert [p for p in POLICIES if mixes_labels(p)] == list(MIXING)
    assert mixes_labels("flip,translation,zoom,cutmix") and not mixes_labels(["flip", "erasing"])
    assert not mixes_labels(None) and not mixes_labels(build_augmentation("strong", 16, 0))


@pytest.mark.parametrize("policy", list(LAYERS))
def test_each_keras_policy_builds_runs_on_a_batch_and_keeps_shapes_and_dtypes(policy):
    layer = build_augmentation(policy, 32, seed=0)
    assert [type(inner) for inner in layer.layers] == [LAYERS[policy]]
    assert mixes_labels(layer) == (policy in MIXING)
    images, labels = _batch()
    out_images, out_labels = augment_batch(layer, images, labels)
    assert out_images.shape == images.shape and out_images.dtype == tf.float32
    assert out_labels.shape == labels.shape and out_labels.dtype == tf.float32
    out_images, out_labels = out_images.numpy(), out_labels.numpy()
    assert out_images.min() >= -1e-3 and out_images.max() <= 255 + 1e-3
    changed = np.abs(out_images - images.numpy()).max(axis=(1, 2, 3)) > 1e-3
    assert changed.any()  # it augments
    if policy in MIXING:
        np.testing.assert_allclose(out_labels.sum(axis=1), 1.0, atol=1e-5)
        assert _is_mixed(out_labels).any()
        own = labels.numpy().argmax(axis=1)
        assert (out_labels[np.arange(len(own)), own] > 0).mean() > 0.8  # mixed into, not replaced
    else:
        np.testing.assert_array_equal(out_labels, labels.numpy())  # labels untouched


@pytest.mark.parametrize("policy", list(LAYERS))
def test_each_keras_policy_is_deterministic_under_a_seed(policy):
    images, labels = _batch(seed=1)

    def run(seed):
        out = augment_batch(build_augmentation(policy, 32, seed=seed), images, labels)
        return [t.numpy() for t in out]

    first, again, other = run(5), run(5), run(6)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_label_mixing_needs_one_hot_labels():
    images, labels = _batch()
    with pytest.raises(ValueError, match="one-hot labels"):
        augment_batch(build_augmentation("mixup", 32, 0), images, tf.argmax(labels, axis=1))
    data = load_dataset("digits", max_examples=(40, 20, 20))
    with pytest.raises(ValueError, match="needs num_classes"):
        make_dataset(data.train, image_size=16, batch_size=8, training=True, augmentation=build_augmentation("cutmix", 16, 0))


@pytest.mark.parametrize("policy", MIXING)
def test_the_pipeline_mixes_one_hot_labels_in_training_only(policy):
    data = load_dataset("digits", max_examples=(128, 32, 32))
    augmentation = build_augmentation(policy, 16, 0)
    train = make_dataset(data.train, image_size=16, batch_size=32, training=True, augmentation=augmentation,
                         num_classes=data.num_classes)
    labels = np.concatenate([y.numpy() for _, y in train])
    assert labels.shape == (len(data.train), data.num_classes) and labels.dtype == np.float32
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-5)
    assert _is_mixed(labels).mean() > 0.1
    evaluation = make_dataset(data.validation, image_size=16, batch_size=32, training=False, augmentation=augmentation,
                              num_classes=data.num_classes)
    (_, y), *_ = evaluation
    assert y.dtype == tf.int64 and y.shape.rank == 1


def test_other_policies_keep_integer_training_labels():
    data = load_dataset("digits", max_examples=(64, 32, 32))
    for policy in ("randaugment", "erasing", "light"):
        train = make_dataset(data.train, image_size=16, batch_size=32, training=True,
                             augmentation=build_augmentation(policy, 16, 0), num_classes=data.num_classes)
        (_, y), *_ = train
        assert y.dtype == tf.int64 and y.shape.rank == 1, policy


def test_the_mixing_loss_is_categorical_on_one_hot_labels_and_sparse_on_integer_ones():
    rng = np.random.default_rng(0)
    probabilities = tf.nn.softmax(tf.constant(rng.normal(size=(6, 4)), tf.float32)).numpy()
    integers = np.array([0, 1, 2, 3, 1, 0])
    one_hot = np.eye(4, dtype="float32")[integers]
    mixed = (0.7 * one_hot + 0.3 * one_hot[::-1]).astype("float32")
    expected = -np.log(probabilities[np.arange(6), integers])
    np.testing.assert_allclose(label_cross_entropy(one_hot, probabilities), expected, rtol=1e-5)
    np.testing.assert_allclose(label_cross_entropy(integers, probabilities), expected, rtol=1e-5)
    np.testing.assert_allclose(label_cross_entropy(integers[:, None], probabilities), expected, rtol=1e-5)
    np.testing.assert_allclose(label_cross_entropy(mixed, probabilities), -(mixed * np.log(probabilities)).sum(axis=1),
                               rtol=1e-5)
    correct = probabilities.argmax(axis=1) == integers
    for labels in (integers, one_hot):
        metric = LabelAccuracy()
        metric.update_state(labels, probabilities)
        assert metric.name == "accuracy" and float(metric.result()) == pytest.approx(correct.mean())
    metric = LabelAccuracy()
    metric.update_state(mixed, probabilities)  # the larger share counts
    assert float(metric.result()) == pytest.approx((probabilities.argmax(axis=1) == mixed.argmax(axis=1)).mean())


def test_a_model_compiled_with_the_mixing_loss_saves_and_loads_back(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", loss=label_cross_entropy, metrics=[LabelAccuracy()])
    model.fit(np.ones((4, 4), "float32"), np.eye(3, dtype="float32")[[0, 1, 2, 0]], verbose=0)
    model.save(tmp_path / "mixed.keras")
    loaded = keras.models.load_model(tmp_path / "mixed.keras")
    assert loaded.loss is label_cross_entropy


@pytest.mark.parametrize("policy", list(LAYERS))
def test_the_feature_cache_is_never_used_for_the_keras_policies(policy, tmp_path):
    weights = tmp_path / "backbone.weights.h5"
    weights.write_bytes(b"not read by this check")
    settings = TrainSettings(epochs=3, image_size=32, weights=str(weights))
    frozen = {**CNN, "backbone": "mobilenet_v2", "unfrozen_layers": 0, "augmentation": "none"}
    assert uses_feature_cache(frozen, settings, plan_phases(frozen, settings))
    augmented = {**frozen, "augmentation": policy}
    assert not uses_feature_cache(augmented, settings, plan_phases(augmented, settings))


@pytest.mark.parametrize("policy", list(LAYERS))
def test_a_trial_with_each_keras_policy_trains_an_epoch_and_validates_on_integer_labels(policy, monkeypatch):
    data = load_dataset("digits", max_examples=(128, 64, 64))
    made = []

    def recording_make_dataset(*args, **kwargs):
        dataset = make_dataset(*args, **kwargs)
        made.append((kwargs["training"], dataset))
        return dataset

    monkeypatch.setattr(benchmarks.training, "make_dataset", recording_make_dataset)
    model, history = train_trial({**CNN, "augmentation": policy}, data, TrainSettings(epochs=1, image_size=16))
    assert [h["epoch"] for h in history] == [1] and np.isfinite(history[0]["loss"])

    (train,) = [ds for training, ds in made if training]
    (validation,) = [ds for training, ds in made if not training]
    train_labels = np.concatenate([y.numpy() for _, y in train])
    if policy in MIXING:
        assert train_labels.shape == (len(data.train), data.num_classes) and train_labels.dtype == np.float32
        np.testing.assert_allclose(train_labels.sum(axis=1), 1.0, atol=1e-5)
        assert _is_mixed(train_labels).any()
        assert model.loss is label_cross_entropy  # categorical cross-entropy on those
    else:
        assert train_labels.shape == (len(data.train),) and train_labels.dtype == np.int64
        assert model.loss == "sparse_categorical_crossentropy"

    # Validation: integer labels, and the usual accuracy and loss of the trained model's predictions.
    images, labels = (np.concatenate(parts) for parts in zip(*[(x.numpy(), y.numpy()) for x, y in validation]))
    assert labels.dtype == np.int64 and labels.shape == (len(data.validation),)
    np.testing.assert_array_equal(labels, data.validation.labels)
    predictions = model.predict(images, batch_size=len(images), verbose=0)
    assert history[0]["val_accuracy"] == pytest.approx((predictions.argmax(axis=1) == labels).mean(), abs=1e-6)
    sparse = keras.losses.sparse_categorical_crossentropy(labels, predictions)
    assert history[0]["val_loss"] == pytest.approx(float(np.mean(sparse)), rel=1e-4)
