"""The Ray Tune trainable: one trial in its own worker process, one checkpoint per epoch."""

from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any

from benchmarks.datasets import PreparedDataset
from benchmarks.training import TrainSettings

CHECKPOINT_MODEL = "model.keras"


def configure_tensorflow(cpus: float) -> None:
    """Match TensorFlow's thread pools to the CPUs Ray gave this trial, before TensorFlow starts."""
    import tensorflow as tf

    threads = max(1, math.ceil(cpus))
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))


def run_trial(config: dict[str, Any], *, data: PreparedDataset, settings: TrainSettings, cpus: float = 1.0) -> None:
    """Train ``config`` and report validation metrics with a checkpoint after every epoch.

    Ray runs each trial in a fresh actor process (``reuse_actors=False``), so the
    memory TensorFlow holds is released when the trial ends.
    """
    configure_tensorflow(cpus)
    from ray import tune

    from benchmarks.training import train_trial

    best = {"val_accuracy": -1.0}

    def report(metrics: dict[str, Any], model) -> None:
        best["val_accuracy"] = max(best["val_accuracy"], metrics["val_accuracy"])
        metrics = {**metrics, "best_val_accuracy": best["val_accuracy"]}
        with tempfile.TemporaryDirectory() as directory:
            model.save(os.path.join(directory, CHECKPOINT_MODEL))
            with open(os.path.join(directory, "metrics.json"), "w") as f:
                json.dump(metrics, f)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))

    train_trial(config, data, settings, on_epoch=report)
