"""The Ray Tune trainable: one trial in its own worker process, one checkpoint per epoch.

A trial whose worker or node died is retried by Ray (``FailureConfig``) and continues from its last
checkpoint, on whichever node runs it. A trial that raises (out of memory, a NaN loss, a bad image)
ends with a last report carrying ``trial_error``: Ray does not retry it, and the driver records it
as failed with that error.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import resource
import sys
import tempfile
import traceback
from typing import Any

from runners._keras_import import import_keras_without_extras

# First: a trial's fresh process imports this module (unpickling its trainable) before anything imports Keras.
import_keras_without_extras()

from benchmarks.datasets import PreparedDataset  # noqa: E402
from benchmarks.resolution import trial_image_size  # noqa: E402
from benchmarks.training import TrainSettings  # noqa: E402
from runners.gpu import GpuSettings, apply_gpu_settings  # noqa: E402
from records.contract import CHECKPOINT_SCORE, METRIC, SEED_KEY, TRIAL_ERROR  # noqa: E402

CHECKPOINT_MODEL = "model.keras"
CHECKPOINT_METRICS = "metrics.json"
COST_KEYS = ("latency_ms", "flops")  # a trial's measured cost, beyond the params every report carries


def configure_tensorflow(cpus: float) -> None:
    """Match TensorFlow's thread pools to the CPUs Ray gave this trial, before TensorFlow starts."""
    import tensorflow as tf

    threads = max(1, math.ceil(cpus))
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))


def worker_facts() -> dict[str, Any]:
    """Where this trial runs and how much host memory its process holds (MiB), for every report."""
    import psutil
    import ray

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return {
        "node_id": ray.get_runtime_context().get_node_id(),
        "rss_mb": psutil.Process().memory_info().rss / 2**20,
        "peak_rss_mb": peak / (2**20 if sys.platform == "darwin" else 2**10),
    }


def load_checkpoint(checkpoint) -> tuple[Any, dict[str, Any]]:
    """The model and the metrics of the epoch a checkpoint was written after."""
    import keras

    import benchmarks.augmentation  # noqa: F401  (registers custom layers for loading)
    import benchmarks.models._layers  # noqa: F401

    with checkpoint.as_directory() as directory:
        with open(os.path.join(directory, CHECKPOINT_METRICS)) as f:
            metrics = json.load(f)
        return keras.models.load_model(os.path.join(directory, CHECKPOINT_MODEL)), metrics


def error_summary(error: BaseException) -> str:
    """``SomeError: first line of its message``, as the database stores it."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")[:500]


def _raised_by_ray(error: BaseException) -> bool:
    return type(error).__module__.split(".")[0] == "ray"


def run_trial(config: dict[str, Any], *, data: PreparedDataset, settings: TrainSettings, cpus: float = 1.0,
              gpu: GpuSettings | None = None, native: int | None = None, cost: str | None = None,
              modules: tuple[str, ...] = ()) -> None:
    """Train ``config`` and report validation metrics with a checkpoint after every epoch.

    The model's cost is measured once, at the first epoch's report, since it does not depend on the trained
    weights, and goes into that report and every later one (and into the checkpoint, so a resumed trial keeps it),
    so that Ray's last result carries it: ``flops`` per image at the trial's image size always, and ``latency_ms``
    when ``cost`` (``latency``, ``params`` or ``flops``: a two-objective search's, ``runners.objectives``) is
    ``latency``, the Keras model's single-image CPU latency on this trial's worker (``benchmarks.costs``).

    Ray runs each trial in a fresh actor process (``reuse_actors=False``), so the
    memory TensorFlow holds, on the host and on the GPU, is released when the trial ends.
    ``native`` is the images' own size, where the custom CNN trains at it (``benchmarks.resolution``); None keeps
    ``settings.image_size`` for every trial (``--image-size``, reference recipes). ``modules`` are the user's
    modules of registrations (``runners.registrations``), imported first so that what they register exists here.
    """
    for module in modules:
        importlib.import_module(module)
    configure_tensorflow(cpus)
    gpu = apply_gpu_settings(gpu or GpuSettings())
    size = trial_image_size(config, budget_size=settings.image_size, native=native)
    # A finalist's repeat trains with a seed of its own (runners/finalists.py); search trials with the run's.
    settings = dataclasses.replace(settings, jit_compile=gpu.jit_compile, seed=int(config.get(SEED_KEY, settings.seed)),
                                   eval_batch_size=max(settings.eval_batch_size, gpu.eval_batch_size), image_size=size)
    from ray import tune

    from benchmarks.training import ResumePoint, train_trial

    best: dict[str, Any] = {"val_accuracy": -1.0}
    costs: dict[str, Any] = {}  # measured once, then in every report
    resume = None
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        model, last = load_checkpoint(checkpoint)
        best["val_accuracy"] = float(last.get(METRIC, -1.0))
        costs.update({k: last[k] for k in COST_KEYS if last.get(k) is not None})
        # Measured already unless the checkpoint lacks a field (a count the profiler could not make is tried again).
        best["cost_measured"] = all(k in costs for k in (("flops", "latency_ms") if cost == "latency" else ("flops",)))
        if last.get("final"):
            # It had ended, but the driver died before its saved state knew: end it again, training nothing.
            tune.report({**last, **worker_facts()})
            return
        resume = ResumePoint(model, int(last["epoch"]), str(last["phase"]), int(last["phase_epoch"]))

    def report(metrics: dict[str, Any], model) -> None:
        best["val_accuracy"] = max(best["val_accuracy"], metrics["val_accuracy"])
        if not best.get("cost_measured"):
            from benchmarks.costs import measure_cost

            best["cost_measured"] = True  # once: a count the profiler cannot make is not tried again each epoch
            costs.update({k: v for k, v in measure_cost(model, size, cost).items() if v is not None and k != "params"})
        metrics = {**metrics, METRIC: best["val_accuracy"], "image_size": size, **costs, **worker_facts()}
        with tempfile.TemporaryDirectory() as directory:
            model.save(os.path.join(directory, CHECKPOINT_MODEL))
            with open(os.path.join(directory, CHECKPOINT_METRICS), "w") as f:
                json.dump(metrics, f)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))

    try:
        train_trial(config, data, settings, on_epoch=report, resume=resume)
    except Exception as error:
        from runners.faults import DISK_FULL, disk_full, full_folder

        if disk_full(error):  # not the trial's fault: the search stops as interrupted and --resume continues it
            tune.report({DISK_FULL: full_folder(error, os.path.dirname(tune.get_context().get_trial_dir())),
                         METRIC: best["val_accuracy"], CHECKPOINT_SCORE: best["val_accuracy"], **worker_facts()})
            return
        if _raised_by_ray(error):
            raise
        # Ray would retry a raised error like a dead worker (FailureConfig does not tell them apart); an
        # error of the trial's own is final, so end it with a report that says so. NaN tells Optuna it failed.
        traceback.print_exc()
        tune.report({CHECKPOINT_SCORE: math.nan, METRIC: math.nan, TRIAL_ERROR: error_summary(error),
                     "image_size": size, **costs, **worker_facts()})
