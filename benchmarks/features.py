"""Frozen-backbone feature caching: compute a pretrained backbone's features once, train only the head on them.

A trial whose backbone is pretrained and stays frozen for all of its epochs, and whose training images are not
augmented, sees the same backbone output for an image in every epoch and in every such trial. Those features are
computed once per (dataset, backbone, image size, weights, preprocessing, split), kept in memory for the trial
and in ``<cache>/features/*.npz`` for the trials that follow (Ray runs each trial in its own process). The head
is the full model's own head layers (shared weights), so after training the full model, backbone and trained
head, takes raw pixels like any other trial's model.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock

from benchmarks.augmentation import resolve_policy
from benchmarks.datasets import Split, default_cache_dir, split_fingerprint
from benchmarks.hyperparameters import value
from benchmarks.models import get_model, resolve_weights

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from benchmarks.datasets import PreparedDataset
    from benchmarks.settings import Phase, TrainSettings

__all__ = [
    "FEATURES_LAYER",
    "FeatureCache",
    "feature_key",
    "head_training_data",
    "split_at_features",
    "split_fingerprint",
    "uses_feature_cache",
]

log = logging.getLogger(__name__)

FEATURES_LAYER = "pool"  # build_model's global pooling: the backbone's output, before the head


def uses_feature_cache(hparams: Mapping[str, Any], settings: TrainSettings, phases: Sequence[Phase]) -> bool:
    """True when every epoch of the trial would run the same frozen, pretrained backbone on unaugmented images."""
    if not getattr(settings, "feature_cache", True) or not get_model(hparams["backbone"]).pretrainable:
        return False
    if resolve_weights(settings.weights, hparams["backbone"]) is None:
        return False  # a backbone without pretrained weights trains from scratch
    if any(phase.unfrozen_layers for phase in phases):
        return False
    return resolve_policy(value(hparams, "augmentation")) == ()


def _weights_identity(weights: str | None, backbone: str) -> str:
    resolved = resolve_weights(weights, backbone)
    if resolved in (None, "imagenet"):
        return str(resolved)
    stat = os.stat(resolved)
    return f"{os.path.abspath(resolved)}:{stat.st_size}:{stat.st_mtime_ns}"


def feature_key(
    split: Split, split_name: str, hparams: Mapping[str, Any], settings: TrainSettings, dataset_name: str = ""
) -> str:
    """The cache file stem of one split's features: readable parts and a digest of everything they depend on."""
    import keras

    backbone = hparams["backbone"]
    parts = [
        dataset_name,
        split_fingerprint(split),
        backbone,
        str(settings.image_size),
        _weights_identity(settings.weights, backbone),
        hparams.get("preprocessing") or get_model(backbone).preprocessing,
        keras.config.dtype_policy().name,  # float16 features differ from float32 ones
        keras.__version__,
        split_name,
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]
    safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in dataset_name)[:40] or "data"
    return f"{safe_name}-{backbone}-{settings.image_size}px-{split_name}-{digest}"


class FeatureCache:
    """Features by key: in this process's memory (the last few), then ``directory/<key>.npz``.

    Files are written to a temporary name and renamed, so a reader never sees half a file; a lock file makes
    concurrent trials that need the same features wait for the one computing them instead of computing twice.
    """

    _memory: collections.OrderedDict[str, tuple[np.ndarray, np.ndarray]] = collections.OrderedDict()
    MEMORY_ENTRIES = 4

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory else default_cache_dir() / "features"

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def get(self, key: str, compute) -> tuple[np.ndarray, np.ndarray]:
        """``(features, labels)`` for ``key``, from memory, from disk, or from ``compute()`` (then stored)."""
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        self.directory.mkdir(parents=True, exist_ok=True)
        with FileLock(self.directory / f".{key}.lock"):  # concurrent trials wait for the one computing
            value = self._read(key)
            if value is None:
                log.info("computing backbone features %s", key)
                value = compute()
                self._write(key, *value)
        self._remember(key, value)
        return value

    @classmethod
    def forget(cls) -> None:
        """Empty this process's in-memory features (the files stay)."""
        cls._memory.clear()

    def _remember(self, key: str, value: tuple[np.ndarray, np.ndarray]) -> None:
        self._memory[key] = value
        while len(self._memory) > self.MEMORY_ENTRIES:
            self._memory.popitem(last=False)

    def _read(self, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        path = self.path(key)
        if not path.exists():
            return None
        try:
            with np.load(path) as stored:
                return stored["features"], stored["labels"]
        except (OSError, ValueError, KeyError) as error:  # a damaged file is recomputed, not fatal
            log.warning("ignoring unreadable feature cache %s (%s)", path, error)
            return None

    def _write(self, key: str, features: np.ndarray, labels: np.ndarray) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, features=features, labels=labels)
            os.replace(tmp, self.path(key))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def split_at_features(model: keras.Model) -> tuple[keras.Model, keras.Model]:
    """(pixels -> features, features -> probabilities) sharing ``model``'s layers and weights."""
    import keras

    features = model.get_layer(FEATURES_LAYER).output
    return keras.Model(model.inputs, features, name="features"), keras.Model(features, model.outputs, name="head")


def compute_features(feature_model: keras.Model, split: Split, image_size: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The backbone's features of every image of ``split``, in order, with their labels (skipped files drop out)."""
    import tensorflow as tf

    from benchmarks.pipeline import make_dataset

    run = tf.function(lambda images: feature_model(images, training=False), reduce_retracing=True)
    features, labels = [], []
    for images, batch_labels in make_dataset(split, image_size=image_size, batch_size=batch_size, training=False):
        features.append(np.asarray(run(images), dtype=np.float32))
        labels.append(batch_labels.numpy())
    return np.concatenate(features), np.concatenate(labels)


def head_training_data(
    model: keras.Model,
    hparams: Mapping[str, Any],
    data: PreparedDataset,
    settings: TrainSettings,
    *,
    batch_size: int,
    eval_batch_size: int,
    cache: FeatureCache | None = None,
) -> tuple[keras.Model, tf.data.Dataset, tf.data.Dataset]:
    """The head of ``model`` and its (train, validation) datasets of cached features.

    The training batches are shuffled exactly as :func:`benchmarks.pipeline.make_dataset` shuffles images
    (same buffer, same seed), so the head sees the same examples in the same order as on the full model.
    """
    from benchmarks.pipeline import make_feature_dataset

    cache = cache or FeatureCache(getattr(settings, "cache_dir", None))
    feature_model, head = split_at_features(model)
    datasets = []
    for name, training in (("train", True), ("validation", False)):
        split = data.split(name)
        key = feature_key(split, name, hparams, settings, data.name)
        features, labels = cache.get(
            key, lambda split=split: compute_features(feature_model, split, settings.image_size, eval_batch_size)
        )
        datasets.append(
            make_feature_dataset(
                features, labels, size=len(split), batch_size=batch_size if training else eval_batch_size,
                training=training, seed=settings.seed,
            )
        )
    return head, datasets[0], datasets[1]
