"""The model zoo: ``keras.applications`` backbones through a registry, a head, and a custom CNN baseline."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from benchmarks.errors import UserError
from benchmarks.hyperparameters import value
from benchmarks.models._family import CUSTOM_CNN, FAMILIES, FAMILY_LABELS, family, family_label
from benchmarks.models._registry import Backbone, get_backbone, list_backbones, register_backbone

__all__ = [
    "CUSTOM_CNN",
    "FAMILIES",
    "FAMILY_LABELS",
    "HEADS",
    "Backbone",
    "backbone_of",
    "build_model",
    "check_weights",
    "family",
    "family_label",
    "get_backbone",
    "list_backbones",
    "list_models",
    "register_backbone",
    "resolve_weights",
    "set_unfrozen_layers",
]


def list_models() -> list[str]:
    """Every value the ``backbone`` hyperparameter may take."""
    return [CUSTOM_CNN, *list_backbones()]


def resolve_weights(weights: str | None, backbone: str) -> str | None:
    """``imagenet``, ``none``, a weights file, or a folder holding ``<backbone>.weights.h5``."""
    if weights in (None, "none", "None"):
        return None
    if weights == "imagenet":
        return "imagenet"
    path = os.path.expanduser(weights)
    if os.path.isdir(path):
        for candidate in (f"{backbone}.weights.h5", f"{backbone}.h5"):
            if os.path.isfile(os.path.join(path, candidate)):
                return os.path.join(path, candidate)
        raise UserError(f"--weights folder {path} has no {backbone}.weights.h5; save that backbone's weights there")
    if os.path.isfile(path):
        return path
    raise UserError(f"--weights {weights!r} is not 'imagenet', 'none', a weights file or a folder of them")


def _build_backbone(backbone: Backbone, image_size: int, weights: str | None):
    if image_size < backbone.min_size:
        raise UserError(f"{backbone.name} needs images of at least {backbone.min_size}px; raise the image size")
    return backbone.constructor()(include_top=False, weights=weights, input_shape=(image_size, image_size, 3))


def check_weights(backbones: list[str], weights: str | None, image_size: int) -> None:
    """Before any trial starts: make sure every backbone can get its weights (downloads them into the Keras cache)."""
    for name in backbones:
        if name == CUSTOM_CNN:
            continue
        resolved = resolve_weights(weights, name)
        if resolved is None:
            continue
        try:
            _build_backbone(get_backbone(name), max(image_size, 96), resolved)
        except UserError:
            raise
        except Exception as error:
            first = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
            where = "in ~/.keras/models/ (the Keras cache)" if resolved == "imagenet" else f"at {resolved}"
            raise UserError(
                f"cannot load {resolved} weights for {name} ({first}); pass --weights none, "
                f"or place the weights file {where}"
            ) from None


def backbone_of(model):
    """The nested ``keras.applications`` model inside a transfer model, or None for the custom CNN."""
    import keras

    return next((layer for layer in model.layers if isinstance(layer, keras.Model)), None)


def set_unfrozen_layers(backbone_model, unfrozen_layers: int) -> int:
    """Let the last ``unfrozen_layers`` weighted layers of the backbone train; return how many do.

    Batch-norm layers are never unfrozen: they stay in inference mode while
    fine-tuning, as the Keras transfer-learning guide recommends.
    """
    import keras

    weighted = [
        layer
        for layer in backbone_model.layers
        if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)
    ]
    chosen = {id(layer) for layer in weighted[len(weighted) - unfrozen_layers :]} if unfrozen_layers > 0 else set()
    backbone_model.trainable = bool(chosen)
    for layer in backbone_model.layers:
        layer.trainable = id(layer) in chosen
    return len(chosen)


def _custom_cnn(inputs, depth: int, width: int, batchnorm: bool = True):
    import keras

    x = keras.layers.Rescaling(1.0 / 255)(inputs)
    for block in range(depth):
        filters = width * 2**block
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=not batchnorm, name=f"block{block}_conv")(x)
        if batchnorm:
            # momentum 0.9: short trials take too few steps for the default 0.99 moving averages to settle.
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn")(x)
        x = keras.layers.ReLU(name=f"block{block}_relu")(x)
        x = keras.layers.MaxPooling2D(name=f"block{block}_pool")(x)
    # Keep a coarse 4x4 layout instead of global pooling: where a stroke is matters to a small CNN.
    side = x.shape[1]
    if side > 4:
        x = keras.layers.AveragePooling2D(side // 4, name="grid_pool")(x)
    return keras.layers.Flatten(name="flatten")(x)


HEADS = ("dense", "linear")


def _head(x, hparams: Mapping[str, Any], num_classes: int):
    """The classifier on top of the features (see :func:`build_model` for the options)."""
    import keras

    head = hparams.get("head", "dense")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose from {', '.join(HEADS)}")
    dropout = value(hparams, "dropout")
    widths = [] if head == "linear" else list(hparams.get("head_layers") or [value(hparams, "dense_units")])
    for i, width in enumerate(widths):
        suffix = "" if i == 0 else f"_{i + 1}"  # the first block keeps the names a one-layer head always had
        x = keras.layers.Dense(int(width), activation="relu", name=f"dense{suffix}")(x)
        if hparams.get("head_batchnorm", False):
            x = keras.layers.BatchNormalization(name=f"dense_bn{suffix}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout{suffix}")(x)
    if not widths and dropout > 0:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    # float32 whatever the global policy: under mixed precision a float16 softmax loses small probabilities.
    return keras.layers.Dense(num_classes, activation="softmax", name="classifier", dtype="float32")(x)


def build_model(
    hparams: Mapping[str, Any], *, num_classes: int, image_size: int, weights: str | None = None
):
    """Build the classifier a trial trains: a pretrained backbone starts frozen (see :func:`set_unfrozen_layers`).

    ``hparams`` needs ``backbone``, ``dropout``, ``dense_units``, and ``depth``
    and ``width`` for the custom CNN. Optional, for fixed recipes (the defaults
    build what a search always built: one dense ReLU layer, dropout, softmax):

    - ``head``: ``"dense"`` (default) or ``"linear"``: dropout then the softmax
      classifier straight on the pooled features, which is the stock
      ``keras.applications`` top (global pooling + softmax) when dropout is 0;
    - ``head_layers``: widths of the dense ReLU layers (default ``[dense_units]``),
      each followed by dropout, and by batch norm before it if ``head_batchnorm``;
    - ``preprocessing``: replaces the backbone's own input scaling (``"unit"``: 0..1);
    - ``conv_batchnorm``: batch norm in the custom CNN's blocks (default True).
    """
    import keras

    from benchmarks.models._layers import ImagePreprocessing

    name = hparams["backbone"]
    inputs = keras.Input((image_size, image_size, 3), name="pixels")
    if name == CUSTOM_CNN:
        x = _custom_cnn(inputs, value(hparams, "depth"), value(hparams, "width"), bool(hparams.get("conv_batchnorm", True)))
    else:
        spec = get_backbone(name)
        resolved = resolve_weights(weights, name)
        base = _build_backbone(spec, image_size, resolved)
        # Without pretrained weights there is nothing to transfer: the whole backbone trains from scratch,
        # and its batch-norm averages must follow within a short trial (the applications' 0.99 lags ~100s of steps).
        if resolved is not None:
            set_unfrozen_layers(base, 0)
        else:
            for layer in base.layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.momentum = 0.9
        x = ImagePreprocessing(hparams.get("preprocessing") or spec.preprocessing, name="preprocessing")(inputs)
        # Pretrained batch-norm statistics stay in inference mode, frozen or fine-tuned; a
        # backbone without weights has no statistics worth keeping, so its unfrozen part learns them.
        x = base(x, training=False) if resolved is not None else base(x)
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = _head(x, hparams, num_classes)
    return keras.Model(inputs, outputs, name=f"{name}_classifier")
