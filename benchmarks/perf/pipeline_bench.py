"""Item 1: training throughput with the real input pipeline against the same batches already in memory."""

from __future__ import annotations

import statistics
import time
from typing import Any

from benchmarks.datasets import PreparedDataset
from benchmarks.perf.report import Row, Section

CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("custom CNN, no augmentation", {"backbone": "custom_cnn", "depth": 3, "width": 32, "augmentation": "none"}),
    ("custom CNN, light augmentation", {"backbone": "custom_cnn", "depth": 3, "width": 32, "augmentation": "light"}),
    ("MobileNetV2 (from scratch), light augmentation", {"backbone": "mobilenet_v2", "augmentation": "light"}),
]
TARGET = 0.95


def _fit_seconds(model, dataset) -> float:
    start = time.perf_counter()
    model.fit(dataset, epochs=1, verbose=0)
    return time.perf_counter() - start


def measure(hparams: dict[str, Any], data: PreparedDataset, *, image_size: int, batch_size: int, rounds: int) -> dict[str, float]:
    """Seconds per epoch: the first epoch (decoding into the cache), then ``rounds`` epochs of each side alternately."""
    import keras
    import numpy as np
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
    # The same batches, in memory: one epoch of the real pipeline (shuffled, augmented), each batch kept as a tensor,
    # so the in-memory side does no per-example work at all.
    batches = [(x.numpy(), y.numpy()) for x, y in real]
    full = [b for b in batches if len(b[1]) == batch_size]
    memory = tf.data.Dataset.from_tensor_slices((np.stack([x for x, _ in full]), np.stack([y for _, y in full])))
    for x, y in batches[len(full):]:  # the last, smaller batch
        memory = memory.concatenate(tf.data.Dataset.from_tensors((x, y)))
    memory = memory.prefetch(tf.data.AUTOTUNE)
    labels = np.concatenate([y for _, y in batches])
    _fit_seconds(model, memory)  # warm-up on this side too
    first = _fit_seconds(model, pipeline())  # a fresh pipeline: decoding runs during this epoch
    real_times, memory_times = [], []
    for _ in range(rounds):  # alternate, so that load from elsewhere hits both sides alike
        real_times.append(_fit_seconds(model, real))
        memory_times.append(_fit_seconds(model, memory))
    n = len(labels)
    return {
        "images": n,
        "first_epoch_s": first,
        "real_s": statistics.median(real_times),
        "memory_s": statistics.median(memory_times),
        "real_img_s": n / statistics.median(real_times),
        "memory_img_s": n / statistics.median(memory_times),
    }


def run(data: PreparedDataset, *, image_size: int, batch_size: int, rounds: int, command: str) -> tuple[Section, dict]:
    rows, raw = [], {}
    for name, hparams in CONFIGS:
        m = measure(hparams, data, image_size=image_size, batch_size=batch_size, rounds=rounds)
        raw[hparams["backbone"] + "/" + hparams["augmentation"]] = m
        steady = m["memory_s"] / m["real_s"]
        first = m["memory_s"] / m["first_epoch_s"]
        rows.append(Row(f"{name}: pipeline / in-memory throughput", f"{steady:.3f} "
                        f"({m['real_img_s']:.0f} / {m['memory_img_s']:.0f} img/s)", f">= {TARGET}", steady >= TARGET))
        rows.append(Row(f"{name}: first epoch (decoding into the cache) / in-memory", f"{first:.3f}"))
    setup = (
        f"{len(data.train)} {data.name} training images at {image_size}px, batch {batch_size}, one trial using the whole "
        f"machine. Each model first trains one epoch on the pipeline (tracing, filling the decode cache); that epoch's "
        f"batches, augmented, are then kept in memory as tensors. Median epoch time of {rounds} alternating epochs on "
        "each side; the first epoch of a fresh pipeline (decoding included) is shown against the same in-memory time."
    )
    return Section("pipeline", "1. Input pipeline", command, setup, rows), raw
