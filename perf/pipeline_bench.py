"""Item 1: training throughput with the real input pipeline against the same batches already in memory."""

from __future__ import annotations

import statistics
import time
from typing import Any

from benchmarks.datasets import PreparedDataset
from perf.report import Row, Section

CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("custom CNN, no augmentation", {"backbone": "custom_cnn", "depth": 3, "width": 32, "augmentation": "none"}),
    ("custom CNN, light augmentation", {"backbone": "custom_cnn", "depth": 3, "width": 32, "augmentation": "light"}),
    ("MobileNetV2 (from scratch), light augmentation", {"backbone": "mobilenet_v2", "augmentation": "light"}),
]
TARGET = 0.95
# Policies that are one Keras layer each (benchmarks.augmentation): a row each of their cost per batch.
KERAS_POLICIES = ("randaugment", "erasing", "mixup", "cutmix")


def _fit_seconds(model, dataset) -> float:
    start = time.perf_counter()
    model.fit(dataset, epochs=1, verbose=0)
    return time.perf_counter() - start


def measure(hparams: dict[str, Any], data: PreparedDataset, *, image_size: int, batch_size: int, rounds: int) -> dict[str, float]:
    """Seconds per epoch: the first epoch (decoding into the cache), then ``rounds`` epochs of each side alternately.

    Each side's fastest epoch stands for its throughput: on a shared VM, interference from elsewhere only adds time,
    and it varies from epoch to epoch (every epoch time is kept in the raw JSON, ``real_times``/``memory_times``).
    """
    import keras
    import tensorflow as tf

    from benchmarks.augmentation import build_augmentation
    from benchmarks.models import build_model
    from benchmarks.pipeline import make_dataset
    from benchmarks.training import make_optimizer

    keras.utils.set_random_seed(0)
    augmentation = build_augmentation(hparams["augmentation"], image_size, 0)

    def pipeline():
        return make_dataset(data.train, image_size=image_size, batch_size=batch_size, training=True,
                            augmentation=augmentation, seed=0)

    model = build_model({"dropout": 0.1, "dense_units": 128, **hparams}, num_classes=data.num_classes,
                        image_size=image_size, weights=None)
    model.compile(optimizer=make_optimizer("adam", 1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    real = pipeline()
    _fit_seconds(model, real)  # traces the training step and fills the decode cache
    # The same batches, in memory: one epoch of the real pipeline (shuffled, augmented), each batch kept as a tensor
    # and handed over as it is, so the in-memory side does no per-example work at all. (A from_tensor_slices
    # dataset over the stacked batches was tried first: its epoch times swung far more than the pipeline's.)
    batches = [(x.numpy(), y.numpy()) for x, y in real]
    spec = tuple(tf.TensorSpec((None, *t.shape[1:]), t.dtype) for t in next(iter(real)))
    memory = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=spec).prefetch(tf.data.AUTOTUNE)
    _fit_seconds(model, memory)  # warm-up on this side too
    first = _fit_seconds(model, pipeline())  # a fresh pipeline: decoding runs during this epoch
    real_times, memory_times = [], []
    for _ in range(rounds):  # alternate, so that load from elsewhere hits both sides alike
        real_times.append(_fit_seconds(model, real))
        memory_times.append(_fit_seconds(model, memory))
    n = sum(len(y) for _, y in batches)
    alone = []
    for _ in range(3):  # the pipeline's own capacity: an epoch of batches with no model to feed
        start = time.perf_counter()
        for _batch in real:
            pass
        alone.append(time.perf_counter() - start)
    return {
        "pipeline_alone_img_s": n / min(alone),
        "images": n,
        "first_epoch_s": first,
        "real_s": min(real_times),
        "memory_s": min(memory_times),
        "real_median_s": statistics.median(real_times),
        "memory_median_s": statistics.median(memory_times),
        "real_times": real_times,
        "memory_times": memory_times,
        "real_img_s": n / min(real_times),
        "memory_img_s": n / min(memory_times),
    }


def augmentation_seconds(policy: str, *, image_size: int, batch_size: int, calls: int = 50) -> dict[str, float]:
    """Seconds per batch of ``policy``'s augmentation alone, three ways: as built, as one affine warp, as Keras layers.

    As built, the geometric steps are fused into one resampling, separable where the steps keep the axes; the
    second forces the fused steps through the general affine warp; the third uses one Keras layer per
    augmentation. Each is the median of ``calls`` compiled calls on random pixels.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from benchmarks.augmentation import AUGMENTATIONS, RandomAffine, build_augmentation, resolve_policy

    images = tf.constant(np.random.default_rng(0).uniform(0, 255, (batch_size, image_size, image_size, 3)), tf.float32)
    warped = build_augmentation(policy, image_size, 0)
    for layer in warped.layers:
        if isinstance(layer, RandomAffine):
            layer.AXIS_ALIGNED = frozenset()  # no step counts as axis-aligned: every batch takes the general warp
    layers = {
        "fused": build_augmentation(policy, image_size, 0),
        "affine_warp": warped,
        "keras_layers": keras.Sequential([AUGMENTATIONS[n](image_size, i) for i, n in enumerate(resolve_policy(policy))]),
    }
    seconds = {}
    for name, layer in layers.items():
        step = tf.function(lambda x, layer=layer: layer(x, training=True))
        step(images)  # traces
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            step(images).numpy()
            times.append(time.perf_counter() - start)
        seconds[name] = statistics.median(times)
    return seconds


def policy_seconds(policy: str, *, image_size: int, batch_size: int, num_classes: int = 10,
                   calls: int = 50) -> float:
    """Seconds per batch of ``policy``'s augmentation alone: the median of ``calls`` compiled calls on random pixels.

    It is applied as the training pipeline applies it (:func:`benchmarks.augmentation.augment_batch`: a policy
    that mixes labels mixes one-hot labels too).
    """
    import numpy as np
    import tensorflow as tf

    from benchmarks.augmentation import augment_batch, build_augmentation

    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (batch_size, image_size, image_size, 3)), tf.float32)
    labels = tf.one_hot(rng.integers(0, num_classes, batch_size), num_classes)
    layer = build_augmentation(policy, image_size, 0)
    step = tf.function(lambda x, y: augment_batch(layer, x, y))
    step(images, labels)  # traces
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), step(images, labels))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(
    data: PreparedDataset, *, image_size: int, batch_size: int, rounds: int, command: str
) -> tuple[Section, dict]:
    """Item 1: augmentation costs per batch, then each configuration's pipeline against the same batches in memory.

    Returns the section (judged against :data:`TARGET`, the pipeline's throughput over the in-memory one) and the
    raw figures.
    """
    from benchmarks.augmentation import AUGMENTATIONS, mixes_labels, resolve_policy

    rows, raw = [], {}
    cost = raw["light_augmentation_s_per_batch"] = augmentation_seconds("light", image_size=image_size, batch_size=batch_size)
    rows.append(Row("light augmentation alone (flip, translation, zoom), ms per batch: as built (one separable "
                    "resampling) / one general affine warp / one Keras layer each",
                    f"{cost['fused'] * 1e3:.1f} / {cost['affine_warp'] * 1e3:.1f} / {cost['keras_layers'] * 1e3:.1f}"))
    for policy in KERAS_POLICIES:
        seconds = raw[f"{policy}_s_per_batch"] = policy_seconds(policy, image_size=image_size, batch_size=batch_size,
                                                                num_classes=data.num_classes)
        layers = ", ".join(f"keras.layers.{type(AUGMENTATIONS[n](image_size, 0)).__name__}" for n in resolve_policy(policy))
        mixing = ", one-hot labels mixed too" if mixes_labels(policy) else ""
        rows.append(Row(f"{policy} augmentation alone ({layers}{mixing}), ms per batch", f"{seconds * 1e3:.1f}"))
    for name, hparams in CONFIGS:
        m = measure(hparams, data, image_size=image_size, batch_size=batch_size, rounds=rounds)
        raw[hparams["backbone"] + "/" + hparams["augmentation"]] = m
        steady = m["memory_s"] / m["real_s"]
        first = m["memory_s"] / m["first_epoch_s"]
        rows.append(Row(f"{name}: pipeline / in-memory throughput", f"{steady:.3f} "
                        f"({m['real_img_s']:.0f} / {m['memory_img_s']:.0f} img/s)", f">= {TARGET}", steady >= TARGET))
        rows.append(Row(f"{name}: same, median epochs", f"{m['memory_median_s'] / m['real_median_s']:.3f}"))
        paired = statistics.median(mem / real for real, mem in zip(m["real_times"], m["memory_times"]))
        rows.append(Row(f"{name}: same, median of the rounds' ratios (each round's two epochs back to back)",
                        f"{paired:.3f}"))
        rows.append(Row(f"{name}: the pipeline alone, no model to feed (what it could deliver), img/s",
                        f"{m['pipeline_alone_img_s']:.0f}"))
        rows.append(Row(f"{name}: first epoch (decoding into the cache) / in-memory", f"{first:.3f}"))
    setup = (
        f"{len(data.train)} {data.name} training images at {image_size}px, batch {batch_size}, one trial using the whole "
        f"machine. Each model first trains one epoch on the pipeline (tracing, filling the decode cache); that epoch's "
        f"batches, augmented, are then kept in memory as tensors. {rounds} epochs on each side, alternating; the ratio "
        "takes each side's fastest epoch (interference on a shared machine only adds time; the ratio of median epochs, "
        "and the median of each round's own ratio, are shown too). The pipeline alone is its fastest of 3 epochs with no "
        "model: how many images it could hand over. The first epoch of a fresh pipeline (decoding included) is shown against the fastest in-memory epoch."
    )
    return Section("pipeline", "1. Input pipeline", command, setup, rows), raw
