"""How much memory training a Keras model takes: an estimate from the model alone, before anything trains; and
the largest configurations a search space samples (:func:`largest_configs`), whose models are the ones to estimate.

It is an estimate, not a measurement, made of three parts (:class:`MemoryEstimate`):

- **activations**: the sum of every layer's output size per example (the layers of a nested backbone counted
  one by one, the input included, residual sums not: their backward pass keeps nothing) x batch size x 4 bytes
  (float32) x :data:`ACTIVATION_FACTOR`. Training keeps each layer's output for the backward pass (x1), and the
  gradients flowing back hold part of that again (x0.5);
- **parameters**: every weight x 4 bytes x 4: the weights, their gradients and Adam's two moments;
- **runtime**: :data:`RUNTIME_BYTES`, what a trial's process holds before any of that (TensorFlow itself, the
  input pipeline): a small CNN's trial peaked at 817 MiB (benchmarks/RESULTS.md, "Memory over trials");
- **input**: the trial's working set of input batches (:func:`input_bytes`): :data:`INPUT_BATCHES` batches in
  flight, as uint8 and float32 pixels. The decoded dataset itself is not a trial's: one copy per node, shared by
  its trials (``benchmarks.decoded``), is counted once per node (:func:`node_bytes`).

On a GPU the activations and parameters live in the card's memory instead (:func:`gpu_bytes`), with
:data:`GPU_RUNTIME_BYTES` for the CUDA context and its libraries; the host keeps the runtime and the input.

Measured against it (peak RSS of ``Model.fit`` on batches of 64, this 2-core CPU machine, TensorFlow 2 / Keras
3): the custom CNN (depth 4, width 64) at 96 px 2.2 GiB (estimate 2.2), at 160 px 4.3 (4.5); MobileNetV2 at 96 px
2.2 (2.2); EfficientNetB0 2.6 (2.5); ResNet50 2.7 (3.2). It counts the whole model as trained, so it errs high
for a frozen backbone (whose outputs the backward pass does not keep) and for mixed precision (half the bytes);
validation (no backward pass) stays below it.

>>> MemoryEstimate(activations=2 * GIB, parameters=GIB // 2, runtime=GIB // 2).describe()
'3.0 GiB (activations 2.0, parameters 0.5, runtime 0.5)'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = ["ACTIVATION_FACTOR", "GIB", "GPU_RUNTIME_BYTES", "INPUT_BATCHES", "RUNTIME_BYTES", "LargestTrial",
           "MemoryEstimate", "activation_count", "estimate_config", "estimate_training", "gib", "gpu_bytes",
           "host_bytes", "input_bytes", "largest_configs", "node_bytes", "size"]

GIB = 1024**3
BYTES_PER_FLOAT = 4
#: Each layer's output kept for the backward pass (1), plus the gradients in flight through it (0.5).
ACTIVATION_FACTOR = 1.5
#: The weights, their gradients and the optimizer's two moments (Adam, AdamW), in float32.
PARAMETER_COPIES = 4
#: A trial's process before its model: TensorFlow, Keras and the input pipeline (a small CNN's trial: 817 MiB).
RUNTIME_BYTES = 768 * 1024**2
#: Input batches a trial holds at once: the one training, the prefetched ones, the one being augmented.
INPUT_BATCHES = 4
#: A GPU trial's card memory beyond its tensors: the CUDA context, cuDNN and cuBLAS handles and workspaces.
GPU_RUNTIME_BYTES = GIB


def gib(count: float) -> str:
    """Bytes in GiB, one decimal: ``'1.5 GiB'``."""
    return f"{count / GIB:.1f} GiB"


def size(count: float) -> str:
    """Bytes in GiB (:func:`gib`), or in MiB below 1 GiB: ``'12.3 MiB'``."""
    return gib(count) if count >= GIB else f"{count / 2**20:.1f} MiB"


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    """The estimated bytes of training one model at one batch size (see the module's docstring)."""

    activations: int
    parameters: int
    runtime: int = RUNTIME_BYTES
    input: int = 0

    @property
    def total(self) -> int:
        return self.activations + self.parameters + self.runtime + self.input

    def describe(self) -> str:
        names = ("activations", "parameters", "runtime") + (("input",) if self.input else ())
        parts = ", ".join(f"{name} {getattr(self, name) / GIB:.1f}" for name in names)
        return f"{gib(self.total)} ({parts})"


def input_bytes(batch_size: int, image_size: int) -> int:
    """A trial's input working set: :data:`INPUT_BATCHES` batches of pixels, each as uint8 and as float32."""
    return INPUT_BATCHES * batch_size * image_size * image_size * 3 * (1 + BYTES_PER_FLOAT)


def host_bytes(estimate: MemoryEstimate, on_gpu: bool) -> int:
    """A trial's host memory: all of it on a CPU; on a GPU, only its runtime and input (the tensors are the card's)."""
    return estimate.runtime + estimate.input if on_gpu else estimate.total


def gpu_bytes(estimate: MemoryEstimate) -> int:
    """A GPU trial's card memory: its activations and parameters, and :data:`GPU_RUNTIME_BYTES`."""
    return estimate.activations + estimate.parameters + GPU_RUNTIME_BYTES


def node_bytes(trial_host_bytes: int, trials: int, data_bytes: int) -> int:
    """A node's host memory: ``trials`` trials' own, plus the decoded data counted once (0 where streamed)."""
    return trials * trial_host_bytes + data_bytes


def activation_count(model, *, nested: bool = False) -> int:
    """Floats one example's layer outputs take: every layer's outputs, the input's included, nested models'
    layers one by one (their input layers not again: they hold the tensor the outer model passes in)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += activation_count(layer, nested=True)
            continue
        if isinstance(layer, keras.layers.Add) or (nested and isinstance(layer, keras.layers.InputLayer)):
            continue  # a sum's backward pass keeps nothing; its output is the next layer's input, counted there
        try:
            outputs = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError):  # a layer called more than once, or never: no single output
            continue
        for output in outputs:
            size = 1
            for dim in output.shape[1:]:
                size *= int(dim or 1)
            total += size
    return total


def estimate_training(model, batch_size: int) -> MemoryEstimate:
    """The estimated memory of training ``model`` on batches of ``batch_size`` (see the module's docstring)."""
    activations = activation_count(model) * batch_size * BYTES_PER_FLOAT * ACTIVATION_FACTOR
    return MemoryEstimate(activations=int(activations),
                          parameters=int(model.count_params()) * BYTES_PER_FLOAT * PARAMETER_COPIES)


def estimate_config(config: Mapping[str, Any], *, num_classes: int, image_size: int, batch_size: int) -> MemoryEstimate:
    """:func:`estimate_training` of the model ``config`` builds, then freed, with its input (:func:`input_bytes`).

    The model is built without weights, and its variables are never initialised (a ``keras.StatelessScope``
    that leaves them so): their shapes are all the estimate needs, and ResNet50 builds in a fraction of the time.
    """
    import keras

    from benchmarks.models import build_model

    try:
        with keras.StatelessScope(initialize_variables=False):
            model = build_model(config, num_classes=num_classes, image_size=image_size, weights=None)
            return dataclasses.replace(estimate_training(model, batch_size), input=input_bytes(batch_size, image_size))
    finally:
        model = None
        keras.backend.clear_session()  # forgets the uninitialised variables too


class _NoTrials:
    """The study of a :class:`LargestTrial`: it has run no trials."""

    @staticmethod
    def get_trials(deepcopy: bool = True, states=None) -> list:
        return []


class LargestTrial:
    """Stands in for an Optuna trial: answers a choice among backbones with the one asked for (whatever the
    parameter's name: a family's own), every other suggestion with its largest value (the first choice where
    the choices are not numbers). Its study has no trials."""

    study = _NoTrials()

    def __init__(self, backbone: str, number: int) -> None:
        self.backbone, self.number, self.params, self.user_attrs = backbone, number, {}, {}

    def set_user_attr(self, key: str, value) -> None:
        self.user_attrs[key] = value

    def suggest_categorical(self, name: str, choices):
        choices = list(choices)
        numbers = [c for c in choices if isinstance(c, (int, float)) and not isinstance(c, bool)]
        if name == "backbone" or self.backbone in choices:
            chosen = self.backbone if self.backbone in choices else choices[0]
        else:
            chosen = max(numbers) if numbers else choices[0]
        self.params[name] = chosen
        return chosen

    def suggest_int(self, name: str, low, high, *args, **kwargs):
        self.params[name] = high
        return high

    suggest_float = suggest_int


def largest_configs(space, pretrained: bool) -> list[dict[str, Any]]:
    """Each backbone's largest configuration in ``space`` (a ``search_spaces.SearchSpace``: its ``suggest``,
    ``backbones`` and ``num_samples``), and each variant of a fixed space's; none where the space asks
    its trial for more than :class:`LargestTrial` answers."""
    configs: dict[str, dict[str, Any]] = {}
    for backbone in space.backbones:
        # A space assigns trials to families in turn by their number: as many numbers as backbones reach each.
        for number in range(max(space.num_samples or 1, len(space.backbones))):
            trial = LargestTrial(backbone, number)
            try:
                returned = space.suggest(trial, pretrained=pretrained) or {}
            except Exception:
                return []
            config = {**trial.params, **returned}
            configs.setdefault(repr(sorted(config.items(), key=lambda item: item[0])), config)
    return list(configs.values())
