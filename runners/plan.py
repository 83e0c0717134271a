"""What a search will take before it starts: where its data lives, memory per trial and per node, and (``--plan``)
its trial-hours and wall time on this cluster from a few timed batches of each family's largest configuration.

:func:`place_data` decides, once Ray is up, whether each node holds one decoded copy of the data or the trials
stream it (``benchmarks.placement``), against the smallest node's memory; :func:`card_memory` asks a GPU node
what its cards hold (``nvidia-smi``), for the GPU memory check (``runners.tuning.fit_memory``);
:func:`memory_lines` and :func:`time_lines` say it all, first thing, in a real search and under ``--plan``.
The time is an upper bound: every trial counted to its last epoch (ASHA stops many early), every layer trained
(a frozen backbone's steps are faster), the first epoch's decoding not counted.
"""

from __future__ import annotations

import math
import subprocess
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.datasets import PreparedDataset
    from benchmarks.placement import DataPlacement
    from runners.options import SearchOptions

__all__ = ["TIMED_BATCHES", "card_memory", "image_sizes", "memory_lines", "node_memories", "place_data",
           "time_lines", "timed_configs"]

#: Batches timed per configuration under ``--plan``, after one untimed batch that compiles the step.
TIMED_BATCHES = 5
#: Validation costs about a third of training per example (a forward pass, no backward).
EVAL_COST = 1 / 3


def node_memories() -> list[float]:
    """Ray's ``memory`` resource of each live node, in bytes."""
    import ray

    return [float(node["Resources"].get("memory", 0)) for node in ray.nodes() if node.get("Alive")]


def image_sizes(options: SearchOptions, data: PreparedDataset) -> dict[str, int]:
    """The side each backbone of the space trains at (``benchmarks.resolution``)."""
    from benchmarks.resolution import trial_image_size
    from runners.budgets import searched_space

    native = data.native_size if options.native_resolution else None
    return {backbone: trial_image_size({"backbone": backbone}, budget_size=options.image_size, native=native)
            for backbone in searched_space(options).backbones}


def place_data(options: SearchOptions, data: PreparedDataset) -> tuple[PreparedDataset, DataPlacement]:
    """The data with its storage set, and where it lives: once per node if it fits ``--data-share`` of the
    smallest node's memory, else streamed (``benchmarks.placement.place``)."""
    from benchmarks.placement import place

    memories = node_memories()
    return place(data, image_sizes(options, data).values(), min(memories) if memories else 0,
                 share=options.data_share)


def _query_cards() -> list[int]:
    """Each card's memory on this machine in bytes, as ``nvidia-smi`` reports it; empty where it cannot."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [int(float(line)) * 2**20 for line in out.split() if line.strip()]


def card_memory(gpus_per_trial: float, timeout_s: float = 120) -> int | None:
    """The smallest card's memory (bytes) on a node where a GPU trial would run, asked there through a Ray task
    holding the trial's share of a GPU; None where no answer comes (no ``nvidia-smi``, or no GPU free in time)."""
    import ray

    if ray.cluster_resources().get("GPU", 0) < min(gpus_per_trial, 1.0):
        return None  # no card to ask (the GPU check of runners.tuning.fit_concurrency says so)
    task = ray.remote(num_cpus=0, num_gpus=min(gpus_per_trial, 1.0))(_query_cards)
    try:
        cards = ray.get(task.remote(), timeout=timeout_s)
    except Exception:  # no GPU free in time, or the task failed: unchecked, and the search says so
        return None
    return min(cards) if cards else None


def memory_lines(options: SearchOptions, placement: DataPlacement, largest, concurrency: int, nodes: int,
                 card: int | None = None) -> list[str]:
    """The estimate's lines: trials and epochs, memory per trial and per node, the data and where it lives."""
    from benchmarks.memory import gpu_bytes, host_bytes, node_bytes, size

    repeats = f" (then {options.repeats} repeats of each finalist)" if options.repeats else ""
    lines = [f"plan: {options.num_samples} trials x up to {options.epochs} epochs{repeats}, up to {concurrency} at "
             f"a time on {nodes} node{'' if nodes == 1 else 's'}"]
    on_node = math.ceil(concurrency / max(nodes, 1))
    if largest is not None:
        estimate, what = largest
        trial = host_bytes(estimate, bool(options.gpus_per_trial))
        data = f" + the data's {size(placement.bytes_per_node)}" if placement.bytes_per_node else ""
        lines.append(f"plan: memory per trial ~{size(trial)} (largest: {what}), per node ~"
                     f"{size(node_bytes(trial, on_node, placement.bytes_per_node))} ({on_node} trial"
                     f"{'' if on_node == 1 else 's'}{data})")
        if options.gpus_per_trial:
            of = f" of a {size(card)} card" if card else " (card memory unknown: not checked)"
            lines.append(f"plan: GPU memory per trial ~{size(gpu_bytes(estimate))}{of}, "
                         f"{options.gpus_per_trial:g} GPU each")
    lines.append(f"data: {placement.describe()}")
    return lines


def timed_configs(options: SearchOptions, data: PreparedDataset) -> list[tuple[dict[str, Any], int]]:
    """Each family's largest configuration (``benchmarks.memory.largest_configs``) with the side it trains at."""
    from benchmarks.memory import largest_configs
    from benchmarks.resolution import trial_image_size
    from runners.budgets import searched_space

    native = data.native_size if options.native_resolution else None
    configs = largest_configs(searched_space(options), pretrained=options.weights is not None)
    return [(config, trial_image_size(config, budget_size=options.image_size, native=native)) for config in configs]


def _time_batches(configs: list[tuple[dict[str, Any], int]], num_classes: int, cpus: float, gpu,
                  batches: int) -> list[float | None]:
    """Seconds a training step takes for each ``(config, image size)`` on this worker (None: could not build)."""
    from runners.trainable import configure_tensorflow  # imports Keras the way a trial does

    configure_tensorflow(cpus)
    import keras
    import numpy as np

    from benchmarks.hyperparameters import value
    from benchmarks.models import build_model
    from runners.gpu import apply_gpu_settings

    gpu = apply_gpu_settings(gpu)
    seconds: list[float | None] = []
    rng = np.random.default_rng(0)
    for config, size in configs:
        try:
            batch = int(value(config, "batch_size"))
            model = build_model(config, num_classes=num_classes, image_size=size, weights=None)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=gpu.jit_compile)
            images = rng.integers(0, 256, (batch, size, size, 3)).astype("float32")
            labels = rng.integers(0, num_classes, batch)
            model.train_on_batch(images, labels)  # compiles the step: not timed
            start = time.perf_counter()
            for _ in range(batches):
                model.train_on_batch(images, labels)
            seconds.append((time.perf_counter() - start) / batches)
        except Exception:  # a model that cannot be built or trained here: its trials fail on their own, and say why
            seconds.append(None)
        keras.backend.clear_session()
    return seconds


def time_lines(options: SearchOptions, data: PreparedDataset, concurrency: int) -> list[str]:
    """Time :data:`TIMED_BATCHES` batches of each family's largest configuration on a worker holding a trial's
    resources, and the estimate they give: trial-hours and wall time (see the module's docstring)."""
    import ray

    from benchmarks.hyperparameters import value
    from runners.gpu import gpu_settings, trial_resources

    configs = timed_configs(options, data)
    if not configs:
        return ["plan: time: the space cannot be probed for its largest configurations; no estimate"]
    gpu = gpu_settings(options.gpus_per_trial, options.precision)
    resources = trial_resources(options.cpus_per_trial, gpu)
    task = ray.remote(num_cpus=resources["cpu"], num_gpus=resources["gpu"])(_time_batches)
    seconds = ray.get(task.remote(configs, data.num_classes, options.cpus_per_trial, gpu, TIMED_BATCHES))
    timed = [(config, size, s) for (config, size), s in zip(configs, seconds) if s is not None]
    if not timed:
        return ["plan: time: no configuration could be timed; no estimate"]
    from benchmarks.models import family

    pretrained = options.weights is not None
    by_family: dict[str, float] = {}  # each family at its slowest backbone's pace
    parts = []
    for config, size, step in timed:
        batch = int(value(config, "batch_size"))
        epoch = step * (math.ceil(len(data.train) / batch) + EVAL_COST * math.ceil(len(data.validation) / batch))
        key = family(str(config.get("backbone")), pretrained)
        by_family[key] = max(by_family.get(key, 0.0), options.epochs * epoch)
        parts.append(f"{config.get('backbone')} {step * 1000:.0f} ms a batch of {batch} at {size}px")
    # The spaces give each family an equal share of the trials; each finalist is repeated (runners.finalists).
    finalists = len(by_family) if options.finalists == "per-family" else len(timed)
    share = options.num_samples / len(by_family)
    repeats = options.repeats * finalists / len(by_family)
    trial_hours = sum((share + repeats) * seconds for seconds in by_family.values()) / 3600
    wall = trial_hours / max(concurrency, 1)
    trials = options.num_samples + options.repeats * finalists
    return [f"plan: timed {TIMED_BATCHES} batches of each family's largest configuration: {'; '.join(parts)}",
            f"plan: at most {trial_hours:.2f} trial-hours ({trials} trials, each to its last epoch at its family's "
            f"slowest pace), about {_duration(wall * 3600)} of wall time at {concurrency} at a time"]


def _duration(seconds: float) -> str:
    """``'45 s'``, ``'12 min'`` or ``'3.4 h'``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"
