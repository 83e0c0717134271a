"""The model zoo: every model a trial trains is a registered one (``_registry``), with a head on top.

The custom CNN and the small ResNet are built here and always train from scratch; the ``keras.applications``
backbones load pretrained weights or train from scratch. Importing this package registers them all, in the
order the default space tries them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from benchmarks.errors import UserError
from benchmarks.hyperparameters import value
from benchmarks.models import custom_cnn as _custom_cnn, small_resnet as _small_resnet  # noqa: F401 (registrations)
from benchmarks.models._applications import set_unfrozen_layers
from benchmarks.models._family import CUSTOM_CNN, FAMILIES, FAMILY_LABELS, family, family_label
from benchmarks.models._registry import (
    Model,
    get_model,
    list_backbones,
    list_models,
    register_backbone,
    register_model,
)

__all__ = [
    "CUSTOM_CNN",
    "FAMILIES",
    "FAMILY_LABELS",
    "HEADS",
    "Model",
    "backbone_of",
    "build_model",
    "check_weights",
    "family",
    "family_label",
    "get_model",
    "list_backbones",
    "list_models",
    "register_backbone",
    "register_model",
    "resolve_weights",
    "set_unfrozen_layers",
]

# The keras.applications backbones: name, application, preprocessing, and millions of parameters without the top.
register_backbone("mobilenet_v2", "MobileNetV2", "tf", params=2.3)
register_backbone("efficientnet_b0", "EfficientNetB0", "none", params=4.0)
register_backbone("resnet50", "ResNet50", "caffe", params=23.6)


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


def check_weights(backbones: list[str], weights: str | None, image_size: int) -> None:
    """Before any trial starts: make sure every backbone can get its weights (downloads them into the Keras cache)."""
    for name in backbones:
        model = get_model(name)
        resolved = resolve_weights(weights, name) if model.pretrainable else None
        if resolved is None:
            continue
        side = max(image_size, 96, model.min_size)
        try:
            model.constructor()(include_top=False, weights=resolved, input_shape=(side, side, 3))
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

    model = get_model(hparams["backbone"])
    if image_size < model.min_size:
        raise UserError(f"{model.name} needs images of at least {model.min_size}px; raise the image size")
    inputs = keras.Input((image_size, image_size, 3), name="pixels")
    resolved = resolve_weights(weights, model.name) if model.pretrainable else None
    x = model.build(inputs, hparams, weights=resolved)
    outputs = _head(x, hparams, num_classes)
    return keras.Model(inputs, outputs, name=f"{model.name}_classifier")
