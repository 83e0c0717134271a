"""Frozen-backbone feature caching: when it applies, that it changes no result, and that trials reuse it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers import save_backbone_weights

import benchmarks.features as features
from benchmarks.datasets import Split, load_dataset
from benchmarks.features import FeatureCache, feature_key, split_fingerprint, uses_feature_cache
from benchmarks.pipeline import make_dataset, make_feature_dataset
from benchmarks.training import TrainSettings, plan_phases, train_trial

HEAD = {"dropout": 0.2, "dense_units": 32, "learning_rate": 3e-3, "batch_size": 16, "optimizer": "adam"}


@pytest.fixture
def weights_file(tmp_path):
    path = tmp_path / "backbone.weights.h5"
    path.write_bytes(b"not read by these checks")
    return str(path)


def test_the_cache_applies_only_to_a_frozen_pretrained_backbone_on_unaugmented_images(weights_file):
    settings = TrainSettings(epochs=6, image_size=32, weights=weights_file)
    frozen = {**HEAD, "backbone": "mobilenet_v2", "unfrozen_layers": 0, "augmentation": "none"}

    def applies(hp, s=settings):
        return uses_feature_cache(hp, s, plan_phases(hp, s))

    assert applies(frozen)
    assert applies({k: v for k, v in frozen.items() if k not in ("unfrozen_layers", "augmentation")})
    assert applies(frozen, TrainSettings(epochs=6, image_size=32, weights="imagenet"))
    assert not applies({**frozen, "unfrozen_layers": 10})  # fine-tuning changes the features
    assert not applies({**frozen, "augmentation": "flip"})  # each epoch sees other images
    assert not applies({**frozen, "augmentation": ["crop"]})
    assert not applies(frozen, dataclasses.replace(settings, weights=None))  # a backbone from scratch trains
    assert not applies(frozen, dataclasses.replace(settings, feature_cache=False))
    assert not applies({**HEAD, "backbone": "custom_cnn", "depth": 2, "width": 8, "augmentation": "none"})
    # One epoch with unfrozen layers never reaches its fine-tuning phase: the backbone stays frozen.
    assert applies({**frozen, "unfrozen_layers": 10}, dataclasses.replace(settings, epochs=1))


def test_the_key_changes_with_everything_the_features_depend_on(weights_file, tmp_path):
    data = load_dataset("digits", max_examples=(64, 32, 32))
    hp = {"backbone": "mobilenet_v2"}
    settings = TrainSettings(epochs=1, image_size=32, weights=weights_file)
    key = feature_key(data.train, "train", hp, settings, data.name)
    assert key == feature_key(data.train, "train", hp, settings, data.name)
    other_weights = tmp_path / "other.weights.h5"
    other_weights.write_bytes(b"other")
    others = [
        feature_key(data.validation, "validation", hp, settings, data.name),
        feature_key(data.train.take(np.arange(63)), "train", hp, settings, data.name),
        feature_key(data.train, "train", {"backbone": "resnet50"}, settings, data.name),
        feature_key(data.train, "train", {**hp, "preprocessing": "unit"}, settings, data.name),
        feature_key(data.train, "train", hp, dataclasses.replace(settings, image_size=48), data.name),
        feature_key(data.train, "train", hp, dataclasses.replace(settings, weights=str(other_weights)), data.name),
        feature_key(data.train, "train", hp, dataclasses.replace(settings, weights="imagenet"), data.name),
    ]
    assert len({key, *others}) == len(others) + 1


def test_a_file_gone_since_the_scan_changes_the_fingerprint_instead_of_failing(tmp_path):
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in paths:
        path.write_bytes(b"png")
    split = Split(np.array([str(p) for p in paths], dtype=object), np.array([0, 1]), "files")
    before = split_fingerprint(split)
    paths[1].unlink()
    gone = split_fingerprint(split)
    assert gone != before and gone == split_fingerprint(split)  # stable while the file stays missing
    odd = Split(np.array([str(tmp_path / "caf\udce9.png"), "nul\0.png"], dtype=object), np.array([0, 1]), "files")
    assert len(split_fingerprint(odd)) == 64  # a name that is not UTF-8, or has a NUL, is missing, not an error


def test_the_cache_computes_once_writes_whole_files_and_recomputes_a_damaged_one(tmp_path):
    cache = FeatureCache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6, dtype=np.float32).reshape(3, 2), np.array([0, 1, 0])

    features_, labels = cache.get("k", compute)
    FeatureCache.forget()
    again, _ = FeatureCache(tmp_path).get("k", compute)  # another process: from the file
    assert len(calls) == 1 and np.array_equal(features_, again) and labels.tolist() == [0, 1, 0]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["k.npz"]
    assert not list(tmp_path.glob("*.tmp"))

    (tmp_path / "k.npz").write_bytes(b"half a file")
    FeatureCache.forget()
    FeatureCache(tmp_path).get("k", compute)
    assert len(calls) == 2


def test_trials_asking_at_once_wait_for_the_one_computing(tmp_path):
    import threading
    import time

    FeatureCache.forget()
    calls, start = [], threading.Barrier(3)

    def compute():
        calls.append(1)
        time.sleep(0.5)  # long enough for the others to arrive while it computes
        return np.ones((2, 2), np.float32), np.array([0, 1])

    def trial():
        start.wait()
        FeatureCache(tmp_path).get("k", compute)

    threads = [threading.Thread(target=trial) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(calls) == 1
    FeatureCache.forget()


def test_cached_features_are_shuffled_like_the_images_they_came_from():
    data = load_dataset("digits", max_examples=(200, 32, 32))
    import keras

    keras.utils.set_random_seed(3)
    images = make_dataset(data.train, image_size=8, batch_size=16, training=True, seed=3)
    ids = make_feature_dataset(np.arange(len(data.train), dtype=np.float32)[:, None], data.train.labels,
                               size=len(data.train), batch_size=16, training=True, seed=3)
    for _ in range(2):  # reshuffled each epoch, the same way
        labels = np.concatenate([y.numpy() for _, y in images])
        order = np.concatenate([x.numpy()[:, 0] for x, _ in ids]).astype(int)
        assert np.array_equal(labels, data.train.labels[order])


def test_training_on_cached_features_matches_the_full_model_and_later_trials_reuse_them(
    tmp_path, image_folder, monkeypatch
):
    import keras

    # ResNet50's randomly initialised features still tell the colour classes apart, so the head learns.
    weights = save_backbone_weights(tmp_path, "resnet50")
    data = load_dataset(str(image_folder))
    hp = {**HEAD, "backbone": "resnet50", "unfrozen_layers": 0, "augmentation": "none"}
    settings = TrainSettings(epochs=3, image_size=32, weights=weights, cache_dir=str(tmp_path / "features"))
    computed = []
    compute = features.compute_features
    monkeypatch.setattr(features, "compute_features", lambda *a, **k: computed.append(1) or compute(*a, **k))

    full_model, full = train_trial(hp, data, dataclasses.replace(settings, feature_cache=False))
    assert computed == []
    reported = []
    model, cached = train_trial(hp, data, settings, on_epoch=lambda m, model: reported.append(model))
    assert len(computed) == 2  # train and validation, once each

    assert [h["epoch"] for h in cached] == [h["epoch"] for h in full] == [1, 2, 3]
    assert max(h["val_accuracy"] for h in full) > 0.5  # chance is 1/3: the comparison means something
    for a, b in zip(full, cached):
        assert b["val_accuracy"] == pytest.approx(a["val_accuracy"], abs=1e-6)
        for metric in ("loss", "val_loss", "accuracy"):
            assert b[metric] == pytest.approx(a[metric], rel=1e-4, abs=1e-5)
        assert (b["params"], b["trainable_params"]) == (a["params"], a["trainable_params"])

    # The trained model, as reported to checkpoints and returned, is the whole model on raw pixels.
    assert reported[-1] is model and model.input_shape == (None, 32, 32, 3)
    pixels = np.concatenate([x for x, _ in make_dataset(data.test, image_size=32, batch_size=64, training=False)])
    np.testing.assert_allclose(model.predict(pixels, verbose=0), full_model.predict(pixels, verbose=0), atol=1e-4)
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded.predict(pixels, verbose=0), model.predict(pixels, verbose=0), atol=1e-6)

    assert len(list((tmp_path / "features").glob("*.npz"))) == 2
    FeatureCache.forget()  # a new trial process: nothing in memory, the files on disk
    _, again = train_trial(hp, data, settings)
    assert len(computed) == 2
    assert [h["val_loss"] for h in again] == pytest.approx([h["val_loss"] for h in cached], rel=1e-6)


def test_a_resumed_trial_on_cached_features_continues_with_the_checkpoint_optimizer(tmp_path):
    import keras

    from benchmarks.training import ResumePoint

    data = load_dataset("digits", max_examples=(64, 32, 32))
    hp = {**HEAD, "backbone": "mobilenet_v2", "unfrozen_layers": 0, "augmentation": "none"}
    settings = TrainSettings(epochs=3, image_size=32, weights=save_backbone_weights(tmp_path),
                             cache_dir=str(tmp_path / "features"))
    saved = {}

    def checkpoint(metrics, model):
        if metrics["epoch"] == 1:
            model.save(tmp_path / "epoch1.keras")  # what the Ray trainable checkpoints: the full model
            saved.update(metrics, iterations=int(model.optimizer.iterations))

    train_trial(hp, data, settings, on_epoch=checkpoint)
    steps = saved["iterations"]
    assert steps >= len(data.train) // HEAD["batch_size"]  # the full model's optimizer counted the head's steps
    model = keras.models.load_model(tmp_path / "epoch1.keras")
    resumed, history = train_trial(hp, data, settings, resume=ResumePoint(model, 1, saved["phase"], saved["phase_epoch"]))
    assert resumed is model and [h["epoch"] for h in history] == [2, 3]
    assert int(model.optimizer.iterations) == 3 * steps
