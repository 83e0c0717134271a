"""Deployment measurements of a trained model: its exported files, their parity with Keras, their size and latency.

``_convert`` writes the files; ``_runtime`` runs them. ``runners.export`` decides what a run exports and records it.
"""

from benchmarks.deploy._convert import (
    INSTALL_HINT,
    ExportUnavailable,
    measure_flops,
    random_ops,
    require,
    training_only_layers,
    write_onnx,
    write_savedmodel,
    write_tflite,
)
from benchmarks.deploy._runtime import (
    LATENCY_RUNS,
    LATENCY_WARMUP,
    all_threads,
    evaluate_file,
    make_runner,
    measure_latency,
    time_calls,
)

__all__ = [
    "INSTALL_HINT",
    "LATENCY_RUNS",
    "LATENCY_WARMUP",
    "ExportUnavailable",
    "all_threads",
    "evaluate_file",
    "make_runner",
    "measure_flops",
    "measure_latency",
    "random_ops",
    "require",
    "time_calls",
    "training_only_layers",
    "write_onnx",
    "write_savedmodel",
    "write_tflite",
]
