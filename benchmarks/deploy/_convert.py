"""Writing a trained Keras model as deployable files: SavedModel, TensorFlow Lite (float32, float16, int8), ONNX.

Every converter starts from the SavedModel (``model.export``), whose ``serve`` function takes raw pixels; the
training-only pieces (augmentation) live in the input pipeline, never in the model, and
:func:`training_only_layers` / :func:`random_ops` check that. A converter that is not installed raises
:class:`ExportUnavailable`, which says what to install.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

__all__ = ["INSTALL_HINT", "ExportUnavailable", "measure_flops", "random_ops", "require", "training_only_layers",
           "write_onnx", "write_savedmodel", "write_tflite"]

INSTALL_HINT = "pip install 'transfer-search[export]'"


def training_only_layers(model) -> list[str]:
    """Names of the augmentation layers inside ``model`` (there should be none: augmentation lives in the tf.data
    pipeline, so the exported graph is inference only)."""
    import keras

    found = []
    stack = list(model.layers)
    while stack:
        layer = stack.pop()
        kind = type(layer).__name__
        if kind.startswith("Random") or kind in ("SaltAndPepper", "RandomAffine") or \
                type(layer).__module__.startswith("benchmarks.augmentation"):
            found.append(f"{layer.name} ({kind})")
        if isinstance(layer, keras.Model) or hasattr(layer, "layers"):
            stack.extend(getattr(layer, "layers", []) or [])
    return sorted(found)


def random_ops(saved_model_dir: str | os.PathLike) -> list[str]:
    """Random-number ops in the SavedModel's serving graph (augmentation would bring them; inference has none)."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(saved_model_dir)).signatures["serving_default"]
    graph_def = serve.graph.as_graph_def()
    nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    return sorted({n.op for n in nodes if "Random" in n.op})


def measure_flops(model, image_size: int, *, frozen: bool = False) -> int | None:
    """Floating-point operations of one image through ``model`` (multiply and add counted apart), by TensorFlow's
    profiler on the inference graph (``training=False``: dropout and batch statistics as served); None where the
    profiler cannot count it.

    Every trial counts its model once (``benchmarks.costs``), so this profiles the traced graph as it is: the
    weights' shapes are known from their variables, and the count equals the frozen graph's (``frozen=True``, the
    reference kept for the tests) on every registered model, while freezing was most of the cost. Measured on a
    busy 2-core CPU: MobileNetV2 1.7 s frozen, 0.1 s profiling unfrozen after a 1-1.5 s trace; ResNet50 10 s
    frozen, of which 4.5-5.3 s freezing and 1-3 s tracing.
    """
    import tensorflow as tf

    try:
        function = tf.function(lambda x: model(x, training=False))
        concrete = function.get_concrete_function(tf.TensorSpec([1, image_size, image_size, 3], tf.float32))
        graph = concrete.graph
        if frozen:
            from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

            graph = convert_variables_to_constants_v2(concrete).graph
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            previous = tf.get_logger().level
            tf.get_logger().setLevel("ERROR")
            try:
                info = tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op",
                                                     options=options)
            finally:
                tf.get_logger().setLevel(previous)
        return int(info.total_float_ops) or None
    except Exception:  # noqa: BLE001  (a count we cannot get is left out, never an error)
        return None


# --------------------------------------------------------------------------- converters

class ExportUnavailable(RuntimeError):
    """A converter or runtime that is not installed."""


def require(module: str, package: str):
    """Import ``module``, or raise :class:`ExportUnavailable` naming ``package`` and how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportUnavailable(f"{package} is not installed ({INSTALL_HINT})") from None


def write_savedmodel(model, path: Path) -> None:
    """Write ``model`` as a SavedModel folder at ``path`` (replacing one there), its ``serve`` taking raw pixels."""
    if path.exists():
        shutil.rmtree(path)
    model.export(str(path), format="tf_saved_model", verbose=False)


def write_tflite(saved_model: Path, path: Path, kind: str) -> None:
    """Convert a SavedModel to a TensorFlow Lite file: ``kind`` float32, float16 weights, or int8 (dynamic range)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if kind in ("float16", "int8"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # alone: dynamic-range int8 weights
    if kind == "float16":
        converter.target_spec.supported_types = [tf.float16]
    path.write_bytes(converter.convert())


def write_onnx(saved_model: Path, path: Path, image_size: int) -> None:
    """Convert a SavedModel's ``serve`` function to an ONNX file (tf2onnx), its input batches of square images."""
    import tensorflow as tf

    tf2onnx = require("tf2onnx", "tf2onnx")
    require("onnx", "onnx")
    loaded = tf.saved_model.load(str(saved_model))  # held: its variables live as long as it does
    spec = (tf.TensorSpec((None, image_size, image_size, 3), tf.float32, name="pixels"),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tf2onnx.convert.from_function(loaded.serve, input_signature=spec, output_path=str(path))


# --------------------------------------------------------------------------- runtimes: a batch -> probabilities
