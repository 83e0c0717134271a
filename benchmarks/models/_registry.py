"""The backbone registry: which ``keras.applications`` models the zoo has, by name, with their preprocessing.

It imports no Keras (a backbone names its constructor and resolves it when asked), so listing or checking
backbones is cheap; ``benchmarks.models`` re-exports it, and the spaces read it when they are built.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Backbone", "get_backbone", "list_backbones", "register_backbone"]


@dataclasses.dataclass(frozen=True)
class Backbone:
    """A ``keras.applications`` constructor and the input preprocessing it was trained with.

    ``preprocessing`` is a mode of ``keras.applications.imagenet_utils.preprocess_input``
    ("tf": [-1, 1], "caffe": BGR minus ImageNet mean, "torch": ImageNet standardisation),
    or "none" for models that normalise inside (EfficientNet).
    """

    name: str
    application: str  # attribute of keras.applications, resolved lazily so the registry imports no Keras
    preprocessing: str
    min_size: int = 32

    def constructor(self):
        """The ``keras.applications`` function that builds this backbone (importing Keras on first use)."""
        import keras

        return getattr(keras.applications, self.application)


_BACKBONES: dict[str, Backbone] = {}


def register_backbone(name: str, application: str, preprocessing: str, min_size: int = 32) -> Backbone:
    """Add a ``keras.applications`` model to the zoo: one line per backbone."""
    if name in _BACKBONES:
        raise ValueError(f"backbone {name!r} is already registered")
    _BACKBONES[name] = Backbone(name, application, preprocessing, min_size)
    return _BACKBONES[name]


def get_backbone(name: str) -> Backbone:
    """The registered backbone called ``name``; a ValueError naming the registered ones for any other."""
    try:
        return _BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; choose from {list_backbones()}") from None


def list_backbones() -> list[str]:
    """The registered backbones, in the order they were registered (the order spaces try them in)."""
    return list(_BACKBONES)


register_backbone("mobilenet_v2", "MobileNetV2", "tf")
register_backbone("efficientnet_b0", "EfficientNetB0", "none")
register_backbone("resnet50", "ResNet50", "caffe")
