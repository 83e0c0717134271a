"""Evaluate the best trial on the held-out test split and save its model with a summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets import PreparedDataset
from benchmarks.metrics import classification_metrics


def _predict(model, data: PreparedDataset, image_size: int | None, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The test split's labels as the pipeline yields them, and ``model``'s class probabilities for each."""
    from benchmarks.pipeline import make_dataset

    image_size = image_size or int(model.input_shape[1])
    probabilities, labels = [], []
    for images, batch_labels in make_dataset(data.test, image_size=image_size, batch_size=batch_size, training=False):
        probabilities.append(np.asarray(model(images, training=False)))
        labels.append(batch_labels.numpy())
    return np.concatenate(labels), np.concatenate(probabilities)


def evaluate_model(model, data: PreparedDataset, image_size: int | None = None, batch_size: int = 256) -> dict[str, Any]:
    """Test-split metrics of ``model`` (labels are read from the pipeline, so skipped files stay aligned).

    Images are resized to ``image_size``, by default the side the model was trained at (its input's).
    """
    return evaluate_with_predictions(model, data, image_size, batch_size)[0]


def evaluate_with_predictions(model, data: PreparedDataset, image_size: int | None = None,
                              batch_size: int = 256) -> tuple[dict[str, Any], str | None]:
    """:func:`evaluate_model`'s metrics and the predicted class of every test example, encoded for the database.

    The predictions follow the run's stored test order (``runs.test_labels``); where the pipeline skipped an
    unreadable image they would not, and they are None (a comparison then falls back to the repeats' scores).
    """
    from benchmarks.predictions import encode

    labels, probabilities = _predict(model, data, image_size, batch_size)
    metrics = classification_metrics(labels, probabilities, data.class_names)
    aligned = len(labels) == len(data.test.labels) and np.array_equal(labels, data.test.labels)
    return metrics, encode(probabilities.argmax(axis=1)) if aligned else None


def load_checkpoint_model(checkpoint):
    """The model a trial's checkpoint holds (see :func:`runners.trainable.load_checkpoint` for its metrics too)."""
    from runners.trainable import load_checkpoint

    return load_checkpoint(checkpoint)[0]


def save_best(model, out_dir: Path, summary: dict[str, Any]) -> Path:
    """Write ``model.keras`` and ``summary.json`` into ``out_dir``; return the model path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "model.keras"
    model.save(model_path)
    with open(out_dir / "summary.json", "w") as f:
        json.dump({**summary, "model_path": str(model_path)}, f, indent=2, default=str)
    return model_path
