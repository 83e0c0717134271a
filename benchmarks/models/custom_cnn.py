"""The custom CNN baseline: a plain stack of convolution blocks, built here and trained from scratch.

One registration (``custom_cnn``) in the model registry; the spaces search its depth and width.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks.hyperparameters import value
from benchmarks.models._registry import register_model

__all__ = ["custom_cnn"]


# The network halves its input once per block, up to four blocks: 16 px is the least every depth accepts.
@register_model("custom_cnn", min_size=16, native_size=True, title="custom CNN",
                search={"depth": (2, 4), "width": ([16, 32, 64],)})
def custom_cnn(inputs, hparams: Mapping[str, Any], weights: str | None = None):
    """``depth`` blocks of 3x3 convolution, batch norm (``conv_batchnorm``, default on), ReLU and max pooling,
    ``width`` filters doubling each block, then a coarse 4x4 grid flattened."""
    import keras

    depth, width = value(hparams, "depth"), value(hparams, "width")
    batchnorm = bool(hparams.get("conv_batchnorm", True))
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
