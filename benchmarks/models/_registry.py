"""The model registry, in the spirit of timm's ``register_model``: a name mapped to a builder and its facts.

Every model a trial can train is an entry: the custom CNN and the other networks built here (from scratch, always),
and the ``keras.applications`` backbones (pretrained or not). The rest of the project asks the registry instead of
comparing names: which family a model is in, whether it loads weights, the smallest and the native input size, its
preprocessing, which architecture hyperparameters a space searches for it, and how big it is. It imports no Keras
(a builder imports it when called), so listing or checking models is cheap; ``benchmarks.models`` re-exports it.

>>> get_model("custom_cnn").pretrainable, get_model("mobilenet_v2").pretrainable
(False, True)
>>> "resnet50" in list_backbones() and "custom_cnn" not in list_backbones()
True
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Model", "get_model", "list_backbones", "list_models", "register_backbone", "register_model"]

#: ``build(inputs, hparams, weights=...)``: the model's features (a flat tensor) for the head to classify.
Builder = Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class Model:
    """A registered model: how to build its features, and the facts the rest of the project asks about it.

    - ``pretrainable``: it can start from pretrained weights (``--weights``); a model that cannot is built and
      trained from scratch here, which makes it the custom-CNN family's (``benchmarks.models.family``).
    - ``min_size``: the smallest input side it accepts; ``native_size``: it trains at the images' own size when they
      are smaller than the budget's (nothing to gain from interpolated pixels), else at the budget's size.
    - ``preprocessing``: a mode of ``keras.applications.imagenet_utils.preprocess_input`` ("tf", "caffe",
      "torch"), "unit" (0..1) or "none" for models that scale inside (EfficientNet, the custom networks).
    - ``search``: the architecture hyperparameters a space suggests for it, name -> arguments of
      ``Hyperparameter.suggest`` (``{"depth": (2, 4)}``); a pretrained backbone's ``unfrozen_layers`` is a fact
      of transfer learning, not of the model, and the spaces add it.
    - ``params``: millions of parameters without the classifier, where known: a budget leaves the large ones out
      when they would train whole from scratch (``runners.budgets``).
    - ``application``: the ``keras.applications`` attribute, for a backbone registered with
      :func:`register_backbone`; ``title``: how a description names a model built here ("custom CNN").
    """

    name: str
    build: Builder
    pretrainable: bool
    min_size: int = 32
    native_size: bool = False
    preprocessing: str = "none"
    search: Mapping[str, tuple] = dataclasses.field(default_factory=dict)
    params: float | None = None
    application: str | None = None
    title: str | None = None

    def constructor(self):
        """The ``keras.applications`` function of a backbone (importing Keras on first use)."""
        import keras

        if self.application is None:
            raise ValueError(f"{self.name} is built here, not by keras.applications")
        return getattr(keras.applications, self.application)

    @property
    def label(self) -> str:
        """How a description names it: its title, the ``keras.applications`` name of a backbone, or its name."""
        return self.title or self.application or self.name


_MODELS: dict[str, Model] = {}


def register_model(name: str, *, pretrainable: bool = False, **facts: Any) -> Callable[[Builder], Builder]:
    """Register the decorated builder under ``name`` with its facts (see :class:`Model`); returns it unchanged.

    ``build(inputs, hparams, weights=None)`` gets the pixels (a ``keras.Input``), the trial's hyperparameters and
    the resolved weights (a path, ``"imagenet"`` or None), and returns flat features; the head goes on top.
    """

    def decorate(build: Builder) -> Builder:
        _add(Model(name, build, pretrainable, **facts))
        return build

    return decorate


def register_backbone(name: str, application: str, preprocessing: str, min_size: int = 32,
                      params: float | None = None) -> Model:
    """Add a ``keras.applications`` model to the zoo: one line per backbone, pretrained or trained from scratch."""
    from benchmarks.models._applications import application_features

    build = functools.partial(application_features, application=application, preprocessing=preprocessing)
    return _add(Model(name, build, True, min_size=min_size, preprocessing=preprocessing, params=params,
                      application=application))


def _add(model: Model) -> Model:
    if model.name in _MODELS:
        raise ValueError(f"model {model.name!r} is already registered")
    _MODELS[model.name] = model
    return model


def get_model(name: str) -> Model:
    """The registered model called ``name``; a ValueError naming the registered ones for any other."""
    try:
        return _MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {list_models()}") from None


def list_models(pretrainable: bool | None = None) -> list[str]:
    """The registered models in the order they were registered (the order spaces try them in); ``pretrainable``
    keeps only the backbones (True) or only the networks built here (False)."""
    return [name for name, model in _MODELS.items() if pretrainable is None or model.pretrainable == pretrainable]


def list_backbones() -> list[str]:
    """The registered ``keras.applications``-style backbones: the models that can load pretrained weights."""
    return list_models(pretrainable=True)
