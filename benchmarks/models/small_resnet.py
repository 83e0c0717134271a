"""A small residual network built here and trained from scratch: the custom-CNN family's second network.

The CIFAR ResNets of He et al. (2016) in miniature: a 3x3 stem, then ``depth`` stages of one residual block each
(two 3x3 convolutions with batch norm, an identity shortcut, or a strided 1x1 projection where the stage halves
the side and doubles the filters), then global average pooling. Where the custom CNN is a plain stack, this
tries skip connections at the same depth and width: one module and one registration make it part of every
search of the default space.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks.hyperparameters import value
from benchmarks.models._registry import register_model

__all__ = ["small_resnet"]


# The stages after the first halve the side: 16 px leaves 2 px after four stages.
@register_model("small_resnet", min_size=16, native_size=True, title="small ResNet",
                search={"depth": (2, 4), "width": ([16, 32, 64],)})
def small_resnet(inputs, hparams: Mapping[str, Any], weights: str | None = None):
    """A 3x3 stem of ``width`` filters and ``depth`` residual stages (filters doubling, side halving after the
    first), then global average pooling."""
    import keras

    layers = keras.layers
    depth, width = value(hparams, "depth"), value(hparams, "width")
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.ReLU(name="stem_relu")(layers.BatchNormalization(momentum=0.9, name="stem_bn")(x))
    for stage in range(depth):
        filters, stride = width * 2**stage, 1 if stage == 0 else 2
        shortcut = x
        if stride != 1:
            shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"stage{stage}_project")(x)
            shortcut = layers.BatchNormalization(momentum=0.9, name=f"stage{stage}_project_bn")(shortcut)
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"stage{stage}_conv1")(x)
        y = layers.ReLU(name=f"stage{stage}_relu1")(layers.BatchNormalization(momentum=0.9, name=f"stage{stage}_bn1")(y))
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"stage{stage}_conv2")(y)
        y = layers.BatchNormalization(momentum=0.9, name=f"stage{stage}_bn2")(y)
        x = layers.ReLU(name=f"stage{stage}_out")(layers.Add(name=f"stage{stage}_add")([shortcut, y]))
    return layers.GlobalAveragePooling2D(name="pool")(x)
