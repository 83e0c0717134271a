"""GPU settings of one trial: memory growth, mixed precision and XLA, decided by the driver, applied in the worker.

The decision (:func:`gpu_settings`) is a plain dataclass so that it is testable without a GPU; applying it
(:func:`apply_gpu_settings`) must happen in the trial's process before TensorFlow touches a GPU.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from benchmarks.errors import UserError

__all__ = ["PRECISIONS", "GpuSettings", "apply_gpu_settings", "gpu_settings", "trial_resources"]

log = logging.getLogger("runners.gpu")

PRECISIONS = ("mixed", "float32")
GPU_EVAL_BATCH_SIZE = 256


@dataclasses.dataclass(frozen=True)
class GpuSettings:
    """What a trial does with its GPU share. All off for CPU trials."""

    gpus_per_trial: float = 0.0
    memory_growth: bool = False  # allocate GPU memory as needed, so trials sharing a card can coexist
    mixed_precision: bool = False  # Keras "mixed_float16" policy (the classifier stays float32)
    jit_compile: bool = False  # XLA
    # Validation batches at least this large (0: the recipe's): larger evaluation batches keep a GPU busier
    # (``python -m perf --only gpu`` measures it; benchmarks/RESULTS.md, "GPU trial settings").
    eval_batch_size: int = 0

    @property
    def use_gpu(self) -> bool:
        """Whether the trial asks for any GPU (a fraction of a card counts)."""
        return self.gpus_per_trial > 0

    @property
    def dtype_policy(self) -> str:
        """The Keras global dtype policy the trial sets: ``mixed_float16`` with mixed precision, else ``float32``."""
        return "mixed_float16" if self.mixed_precision else "float32"


def gpu_settings(gpus_per_trial: float, precision: str = "mixed") -> GpuSettings:
    """The settings for trials with ``gpus_per_trial`` GPUs (a fraction shares a card).

    GPU trials always grow memory as needed and validate in batches of at least 256; ``precision="mixed"``
    (the default) also turns on mixed precision and XLA, ``"float32"`` turns both off. CPU trials get none
    of it: float16 is slow on CPUs. A bad precision or GPU count is a one-line :class:`UserError`.
    """
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if gpus_per_trial < 0:
        raise UserError(f"--gpus-per-trial must be at least 0, got {gpus_per_trial:g}")
    if gpus_per_trial > 1 and gpus_per_trial != int(gpus_per_trial):
        raise UserError(f"--gpus-per-trial {gpus_per_trial:g}: above 1 it must be a whole number of GPUs")
    if gpus_per_trial == 0:
        return GpuSettings()
    fast = precision == "mixed"
    return GpuSettings(gpus_per_trial=gpus_per_trial, memory_growth=True, mixed_precision=fast, jit_compile=fast,
                       eval_batch_size=GPU_EVAL_BATCH_SIZE)


def trial_resources(cpus_per_trial: float, settings: GpuSettings) -> dict[str, float]:
    """The Ray resources one trial asks for."""
    return {"cpu": cpus_per_trial, "gpu": settings.gpus_per_trial}


def apply_gpu_settings(settings: GpuSettings, tf: Any = None, keras: Any = None) -> GpuSettings:
    """Apply ``settings`` in this (trial) process; return what is in effect.

    Memory growth is set on every GPU the process sees (Ray sets ``CUDA_VISIBLE_DEVICES`` to the trial's
    card); it must run before TensorFlow initialises the GPUs. A GPU trial that finds no GPU (a driver
    asked for one that the worker does not have) falls back to float32 without XLA, with a warning.
    ``tf`` and ``keras`` are injectable for tests.
    """
    if tf is None:
        import tensorflow as tf
    if keras is None:
        import keras
    if not settings.use_gpu:
        keras.mixed_precision.set_global_policy("float32")
        return settings
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        log.warning("this trial asked for %g GPU but its worker sees none: training on the CPU in float32",
                    settings.gpus_per_trial)
        keras.mixed_precision.set_global_policy("float32")
        return dataclasses.replace(settings, memory_growth=False, mixed_precision=False, jit_compile=False)
    if settings.memory_growth:
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # TensorFlow already initialised this GPU; nothing to change any more
                log.warning("memory growth could not be set on %s: TensorFlow had already started it", gpu)
    keras.mixed_precision.set_global_policy(settings.dtype_policy)
    return settings
