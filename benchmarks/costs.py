"""What a trained model costs to run: parameters, FLOPs per image, latency; a search's second objective.

A trial measures its model's cost once (the cost does not depend on the trained weights) and reports it with every
epoch (``runners.trainable``): parameters and FLOPs per image, at the trial's image size, for every trial; latency
only for ``--objective accuracy,latency``, since it takes many timed calls. Latency here is the *Keras model's*
single-image CPU latency on the trial's own Ray worker: the median of :data:`LATENCY_CALLS` calls of a traced
(``tf.function``) inference call after :data:`benchmarks.deploy.LATENCY_WARMUP` untimed ones, on the CPU even in a GPU trial. It is
comparable between the trials of one search on like workers, not a deployment figure (``benchmarks.deploy`` times
exported files); it is measured and shown, never judged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["COSTS", "LATENCY_CALLS", "Cost", "keras_latency_ms", "measure_cost"]

#: Timed calls of one latency measurement (the untimed warm-up calls are the deploy timer's).
LATENCY_CALLS = 30


@dataclasses.dataclass(frozen=True)
class Cost:
    """A cost a search can minimise next to accuracy: its flag name, column, unit and description."""

    name: str  # as --objective writes it
    column: str  # the trials table's column and the reported metric
    unit: str  # how the summary shows a value
    label: str  # what it is, in words

    def format(self, value: float | None) -> str:
        if value is None:
            return "n/a"
        if self.name == "latency":
            return f"{value:.2f} ms"
        return f"{value / 1e6:.2f}M {self.unit}" if value >= 1e5 else f"{int(value):,} {self.unit}"


COSTS: dict[str, Cost] = {
    "latency": Cost("latency", "latency_ms", "ms",
                    "the Keras model's single-image CPU latency on the trial's worker, median after warm-up"),
    "params": Cost("params", "params", "parameters", "parameters of the model"),
    "flops": Cost("flops", "flops", "FLOPs", "floating-point operations per image (multiply and add counted apart)"),
}


def _input_size(model, image_size: int) -> int:
    shape = getattr(model, "input_shape", None)
    return int(shape[1]) if shape and len(shape) == 4 and shape[1] else image_size


def keras_latency_ms(model, image_size: int, calls: int = LATENCY_CALLS) -> float:
    """Median single-image latency, in milliseconds, of ``model`` on this process's CPU, through a traced call."""
    import numpy as np
    import tensorflow as tf

    from benchmarks.deploy import time_calls

    size = _input_size(model, image_size)
    with tf.device("/CPU:0"):
        image = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, size, size, 3)).astype("float32"))
        infer = tf.function(lambda x: model(x, training=False))
        median, _ = time_calls(lambda: infer(image).numpy(), runs=calls)
    return float(median)


def measure_cost(model, image_size: int, cost: str | None = None) -> dict[str, Any]:
    """The reported cost fields of ``model``: ``params`` and ``flops`` always (FLOPs per image by TensorFlow's
    profiler, :func:`benchmarks.deploy.measure_flops`: a count it cannot make is None, never an error), and
    ``latency_ms`` when ``cost`` asks for it."""
    from benchmarks.deploy import measure_flops

    if cost not in (None, *COSTS):
        raise ValueError(f"unknown cost {cost!r}; choose from {', '.join(COSTS)}")
    fields: dict[str, Any] = {"params": int(model.count_params()),
                              "flops": measure_flops(model, _input_size(model, image_size))}
    if cost == "latency":
        fields["latency_ms"] = keras_latency_ms(model, image_size)
    return fields
