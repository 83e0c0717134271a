"""The ``keras.applications`` backbones: their registrations, how one becomes features, and which layers train.

A pretrained backbone starts frozen, its batch-norm statistics in inference mode; without pretrained weights
there is nothing to transfer and the whole backbone trains from scratch (:func:`application_features`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["application_features", "set_unfrozen_layers"]


def application_features(inputs, hparams: Mapping[str, Any], weights: str | None = None, *, application: str,
                         preprocessing: str):
    """A ``keras.applications`` backbone on ``inputs``: its own preprocessing, the backbone, global pooling."""
    import keras

    from benchmarks.models._layers import ImagePreprocessing

    side = int(inputs.shape[1])
    base = getattr(keras.applications, application)(include_top=False, weights=weights, input_shape=(side, side, 3))
    # Without pretrained weights the whole backbone trains from scratch, and its batch-norm averages must follow
    # within a short trial (the applications' 0.99 lags hundreds of steps).
    if weights is not None:
        set_unfrozen_layers(base, 0)
    else:
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.9
    x = ImagePreprocessing(hparams.get("preprocessing") or preprocessing, name="preprocessing")(inputs)
    # Pretrained batch-norm statistics stay in inference mode, frozen or fine-tuned; a backbone without weights has
    # no statistics worth keeping, so its unfrozen part learns them.
    x = base(x, training=False) if weights is not None else base(x)
    return keras.layers.GlobalAveragePooling2D(name="pool")(x)


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
