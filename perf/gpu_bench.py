"""GPU trials: what mixed precision, XLA, ``steps_per_execution`` and a larger evaluation batch buy per model.

Plain Keras on random pixels already in host memory, so the timed part is the model's step (host-to-device
copies included), which is what these settings change; input pipelines are item 1's business. It imports no
TensorFlow of its own, so it runs on the suite's TensorFlow backend and, on a GPU node without TensorFlow,
on JAX (``KERAS_BACKEND=jax``). JAX compiles every step with XLA, so "XLA off" is measured on TensorFlow only.

Each measurement is written to ``raw`` as soon as it is taken, and a measurement already in ``raw`` is not
taken again: a run cut short by a time limit goes on where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from perf.report import Row, Section

__all__ = ["MODELS", "VARIANTS", "Variant", "gpu_names", "run"]

MODELS = ("custom_cnn", "mobilenet_v2", "efficientnet_b0", "resnet50")
LABELS = {"custom_cnn": "custom CNN", "mobilenet_v2": "MobileNetV2", "efficientnet_b0": "EfficientNetB0",
          "resnet50": "ResNet50"}
# The custom CNN as the search's starting point builds it (search_spaces/_common.py).
HPARAMS = {"dropout": 0.2, "dense_units": 256, "depth": 3, "width": 32}
STEPS = 16  # steps_per_execution of the "steps" variants


@dataclasses.dataclass(frozen=True)
class Variant:
    """One combination of the GPU settings a trial may run with: dtype policy, steps per execution and XLA."""

    key: str
    policy: str  # Keras dtype policy
    steps_per_execution: int = 1
    jit_compile: bool = True
    tensorflow_only: bool = False  # JAX always compiles with XLA

    def describe(self) -> str:
        """``mixed_float16, XLA, steps_per_execution 16``: the settings in words."""
        xla = "XLA" if self.jit_compile else "no XLA"
        return f"{self.policy}, {xla}, steps_per_execution {self.steps_per_execution}"


VARIANTS = (
    Variant("float32", "float32"),
    Variant("mixed", "mixed_float16"),
    Variant("mixed+steps", "mixed_float16", STEPS),
    Variant("bf16+steps", "mixed_bfloat16", STEPS),
    Variant("mixed+steps-xla", "mixed_float16", STEPS, jit_compile=False, tensorflow_only=True),
)


EVAL_VARIANT = VARIANTS[2]  # evaluation is timed under mixed float16 with steps_per_execution


def _summary(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"


def gpu_names() -> list[str]:
    """The GPUs this process's Keras backend sees, by name; empty without one."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    if backend == "tensorflow":
        import tensorflow as tf

        return [tf.config.experimental.get_device_details(d).get("device_name", d.name)
                for d in tf.config.list_physical_devices("GPU")]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


class _EpochTimes:
    """Wall time of each epoch, the device synchronised: Keras reads the loss back at each epoch's end."""

    def __init__(self) -> None:
        import keras

        outer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                outer.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                outer.seconds.append(time.perf_counter() - outer.start)

        self.start = 0.0
        self.seconds: list[float] = []
        self.callback = Callback()


def _images(count: int, image_size: int, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(count, image_size, image_size, 3), dtype=np.uint8).astype(np.float32)
    return x, rng.integers(0, num_classes, size=count).astype(np.int32)


def _compiled_model(model_name: str, variant: Variant, image_size: int, num_classes: int):
    import keras

    from benchmarks.models import build_model

    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(variant.policy)
    keras.utils.set_random_seed(0)
    model = build_model({"backbone": model_name, **HPARAMS}, num_classes=num_classes, image_size=image_size, weights=None)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=variant.jit_compile, steps_per_execution=variant.steps_per_execution)
    return model


def measure(model_name: str, variant: Variant, x: np.ndarray, y: np.ndarray, *, batch_size: int,
            epochs: int) -> dict[str, Any]:
    """Train ``model_name`` (every layer trainable) for ``epochs`` on ``x`` and time each epoch."""
    import keras

    try:
        model = _compiled_model(model_name, variant, x.shape[1], int(y.max()) + 1)
        times = _EpochTimes()
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0,
                            callbacks=[times.callback])
        return {
            "epoch_seconds": times.seconds,
            "images_per_second": len(x) / min(times.seconds[1:]),
            "first_epoch_seconds": times.seconds[0],  # compilation included
            "final_loss": float(history.history["loss"][-1]),
        }
    finally:
        keras.mixed_precision.set_global_policy("float32")


def measure_evaluation(model_name: str, variant: Variant, x: np.ndarray, y: np.ndarray,
                       eval_batches: Sequence[int]) -> dict[str, float]:
    """Images per second of the second ``evaluate`` over ``x`` (the first compiles) at each batch size.

    Untrained weights: the time of a forward pass does not depend on them.
    """
    import keras

    try:
        model = _compiled_model(model_name, variant, x.shape[1], int(y.max()) + 1)
        result = {}
        for eval_batch in eval_batches:
            seconds = []
            for _ in range(2):
                start = time.perf_counter()
                model.evaluate(x, y, batch_size=eval_batch, verbose=0)
                seconds.append(time.perf_counter() - start)
            result[f"eval_images_per_second_{eval_batch}"] = len(x) / seconds[-1]
        return result
    finally:
        keras.mixed_precision.set_global_policy("float32")


def run(*, models: Sequence[str] = MODELS, image_size: int = 224, batch_size: int = 64, steps: int = 64,
        epochs: int = 4, eval_batches: Sequence[int] = (64, 128, 256), raw: Path | None = None, command: str = "",
        log: Callable[[str], None] = print) -> tuple[Section, dict[str, Any]]:
    """Measure every variant on every model; return the section for RESULTS.md and the raw figures."""
    import keras

    backend = keras.backend.backend()
    gpus = gpu_names()
    results: dict[str, Any] = json.loads(raw.read_text()) if raw is not None and raw.exists() else {}
    x, y = _images(batch_size * steps, image_size, 10)
    variants = [v for v in VARIANTS if backend == "tensorflow" or not v.tensorflow_only]

    def record(key: str, take: Callable[[], dict[str, Any]], describe: Callable[[dict[str, Any]], str]) -> None:
        started = time.perf_counter()
        try:
            figures = take()
        except Exception as error:  # one failing measurement (out of memory, say) must not lose the others
            figures = {"error": _summary(error)}
        results[key] = {**results.get(key, {}), **figures}
        log(f"gpu: {figures.get('error') or describe(figures)} ({time.perf_counter() - started:.0f} s)")
        if raw is not None:
            raw.write_text(json.dumps(results, indent=1))

    for model_name in models:
        label = LABELS.get(model_name, model_name)
        for variant in variants:
            if f"{model_name}/{variant.key}" not in results:
                record(f"{model_name}/{variant.key}",
                       lambda: measure(model_name, variant, x, y, batch_size=batch_size, epochs=epochs),
                       lambda f: f"{label}, {variant.describe()}: {f['images_per_second']:,.0f} img/s, "
                                 f"first epoch {f['first_epoch_seconds']:.1f} s")
        missing = [b for b in eval_batches
                   if f"eval_images_per_second_{b}" not in results.get(f"{model_name}/eval", {})]
        if missing:
            record(f"{model_name}/eval", lambda: measure_evaluation(model_name, EVAL_VARIANT, x, y, missing),
                   lambda f: f"{label}, evaluation, {EVAL_VARIANT.describe()}: "
                             + ", ".join(f"batch {b} {f[f'eval_images_per_second_{b}']:,.0f} img/s" for b in missing))
    setup = (
        f"Keras {keras.__version__} on {backend}, {', '.join(gpus) or 'no GPU'}. Each model built as a trial builds it "
        f"(`benchmarks.models.build_model`, every layer trainable, {image_size}px, 10 classes), trained for {epochs} epochs of "
        f"{steps} batches of {batch_size} random images held in host memory, so that only the model's step is timed. "
        "Throughput is the fastest epoch after the first (the first compiles); evaluation throughput is the second "
        f"`evaluate` over the same images ({EVAL_VARIANT.describe()}). Mixed precision is Keras's `mixed_float16` policy, as `--precision mixed` "
        "sets it; `mixed_bfloat16` is shown for comparison."
        + ("" if backend == "tensorflow" else " JAX compiles every step with XLA, so XLA on/off is not measured here.")
    )
    return _section(results, models, variants, eval_batches, command, setup), results


def _ratio(results: dict[str, Any], model: str, top: str, bottom: str) -> str:
    a, b = results.get(f"{model}/{top}", {}), results.get(f"{model}/{bottom}", {})
    if "images_per_second" not in a or "images_per_second" not in b:
        return "failed: " + (a.get("error") or b.get("error") or "not measured")
    return f"{a['images_per_second'] / b['images_per_second']:.2f}x ({a['images_per_second']:,.0f} / {b['images_per_second']:,.0f} img/s)"


def _section(results: dict[str, Any], models: Sequence[str], variants: Sequence[Variant], eval_batches: Sequence[int],
             command: str, setup: str) -> Section:
    keys = {v.key for v in variants}
    rows: list[Row] = []
    for model in models:
        label = LABELS.get(model, model)
        rows.append(Row(f"{label}: mixed float16 / float32, training", _ratio(results, model, "mixed", "float32")))
        rows.append(Row(f"{label}: steps_per_execution {STEPS} / 1 (both mixed float16)",
                        _ratio(results, model, "mixed+steps", "mixed")))
        rows.append(Row(f"{label}: mixed bfloat16 / mixed float16 (both steps_per_execution {STEPS})",
                        _ratio(results, model, "bf16+steps", "mixed+steps")))
        if "mixed+steps-xla" in keys:
            rows.append(Row(f"{label}: XLA on / off (mixed float16, steps_per_execution {STEPS})",
                            _ratio(results, model, "mixed+steps", "mixed+steps-xla")))
        fast = results.get(f"{model}/mixed+steps", {})
        base = results.get(f"{model}/float32", {})
        if "images_per_second" in fast and "images_per_second" in base:
            rows.append(Row(f"{label}: all of the above / plain float32",
                            f"{fast['images_per_second'] / base['images_per_second']:.2f}x"))
            rows.append(Row(f"{label}: first epoch, compilation included, float32 / mixed with steps",
                            f"{base['first_epoch_seconds']:.1f} s / {fast['first_epoch_seconds']:.1f} s"))
        evaluation = results.get(f"{model}/eval", {})
        if len(eval_batches) >= 2 and all(f"eval_images_per_second_{b}" in evaluation for b in eval_batches):
            speeds = [evaluation[f"eval_images_per_second_{b}"] for b in eval_batches]
            rows.append(Row(f"{label}: evaluation, img/s at batch {' / '.join(map(str, eval_batches))}",
                            " / ".join(f"{v:,.0f}" for v in speeds)
                            + "; " + ", ".join(f"{b} / {a}: {speeds[j + 1] / speeds[j]:.2f}x"
                                               for j, (a, b) in enumerate(zip(eval_batches, eval_batches[1:])))))
    return Section("gpu", "6. GPU trial settings", command, setup, rows)
