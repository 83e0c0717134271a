"""Running deployable files: test-split metrics through the same pipeline as the Keras model, and CPU latency.

TFLite files run in the LiteRT interpreter (``ai_edge_litert``), ONNX files in onnxruntime, a SavedModel through
its ``serve`` function (timed in a fresh process per thread count: TensorFlow fixes its threads once started).
Latency is single-image, the median and 90th percentile of :data:`LATENCY_RUNS` calls after
:data:`LATENCY_WARMUP`: shown, never judged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.deploy._convert import require

__all__ = ["LATENCY_RUNS", "LATENCY_WARMUP", "all_threads", "evaluate_file", "make_runner", "measure_latency",
           "time_calls"]

#: Single-image latency: calls timed after the warm-up calls.
LATENCY_RUNS = 50
LATENCY_WARMUP = 5
EVAL_BATCH = 256


def all_threads() -> int:
    """The CPUs this process may run on (its affinity; the CPU count off Linux), as "all threads" latency uses."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _SavedModelRunner:
    def __init__(self, path: Path):
        import tensorflow as tf

        self._tf = tf
        self._loaded = tf.saved_model.load(str(path))  # held: its variables live as long as it does
        self._serve = self._loaded.serve

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self._serve(self._tf.constant(images, dtype=self._tf.float32)))


class _LiteRTRunner:
    def __init__(self, path: Path, threads: int):
        interpreter = require("ai_edge_litert.interpreter", "ai-edge-litert")
        self._interpreter = interpreter.Interpreter(model_path=str(path), num_threads=threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._shape = None

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.ascontiguousarray(images, dtype=np.float32)
        if self._shape != images.shape:
            self._interpreter.resize_tensor_input(self._input, list(images.shape))
            self._interpreter.allocate_tensors()
            self._shape = images.shape
        self._interpreter.set_tensor(self._input, images)
        self._interpreter.invoke()
        return np.array(self._interpreter.get_tensor(self._output))


class _OnnxRunner:
    def __init__(self, path: Path, threads: int):
        ort = require("onnxruntime", "onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: np.asarray(images, dtype=np.float32)})[0]


def make_runner(fmt: str, path: Path, threads: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """A callable from a batch of raw pixels (N, H, W, 3) float32 to class probabilities, for one exported file."""
    threads = threads or all_threads()
    if fmt == "savedmodel":
        return _SavedModelRunner(path)
    if fmt.startswith("tflite"):
        return _LiteRTRunner(path, threads)
    if fmt == "onnx":
        return _OnnxRunner(path, threads)
    raise ValueError(f"unknown export format {fmt!r}")


def evaluate_file(fmt: str, path: Path, data, image_size: int) -> dict[str, Any]:
    """Test-split metrics of an exported file: the pipeline and metrics ``runners.evaluate.evaluate_model`` uses."""
    from benchmarks.metrics import classification_metrics
    from benchmarks.pipeline import make_dataset

    run = make_runner(fmt, path)
    probabilities, labels = [], []
    for images, batch_labels in make_dataset(data.test, image_size=image_size, batch_size=EVAL_BATCH, training=False):
        probabilities.append(run(images.numpy()))
        labels.append(batch_labels.numpy())
    return classification_metrics(np.concatenate(labels), np.concatenate(probabilities), data.class_names)


# --------------------------------------------------------------------------- latency

def _percentiles(seconds: Sequence[float]) -> tuple[float, float]:
    ms = np.asarray(seconds) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 90))


def time_calls(call: Callable[[], Any], runs: int = LATENCY_RUNS, warmup: int = LATENCY_WARMUP) -> tuple[float, float]:
    """Median and 90th percentile, in milliseconds, of ``runs`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return _percentiles(seconds)


# TensorFlow fixes its thread pools when its runtime starts, so the SavedModel is timed in a fresh process per setting.
_SAVEDMODEL_TIMER = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf
path, threads, size, runs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
loaded = tf.saved_model.load(path)
serve = loaded.serve
image = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, size, size, 3)).astype("float32"))
for _ in range(warmup):
    serve(image).numpy()
seconds = []
for _ in range(runs):
    start = time.perf_counter()
    serve(image).numpy()
    seconds.append(time.perf_counter() - start)
print("SECONDS " + json.dumps(seconds))
"""


def _savedmodel_latency(path: Path, threads: int, image_size: int, runs: int, warmup: int) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, "-c", _SAVEDMODEL_TIMER, str(path), str(threads), str(image_size), str(runs), str(warmup)],
        capture_output=True, text=True, timeout=900,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("SECONDS ")), None)
    if done.returncode != 0 or line is None:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise RuntimeError(f"timing process failed: {last[:200]}")
    return _percentiles(json.loads(line[len("SECONDS "):]))


def measure_latency(fmt: str, path: Path, image_size: int, threads: int, runs: int = LATENCY_RUNS,
                    warmup: int = LATENCY_WARMUP) -> tuple[float, float]:
    """Single-image CPU latency of an exported file with ``threads`` threads: (p50, p90) in milliseconds."""
    if fmt == "savedmodel":
        return _savedmodel_latency(path, threads, image_size, runs, warmup)
    run = make_runner(fmt, path, threads)
    image = np.random.default_rng(0).uniform(0, 255, (1, image_size, image_size, 3)).astype(np.float32)
    return time_calls(lambda: run(image), runs, warmup)


# --------------------------------------------------------------------------- one model, every format
