"""The default space: the custom CNN against every registered backbone.

The backbones come from the registry (``benchmarks.models.register_backbone``) when the space is asked for, so a
backbone registered there is searched here with no other change.
"""

from __future__ import annotations

from typing import Any

import optuna

from benchmarks.models import CUSTOM_CNN, get_backbone, list_backbones
from search_spaces._common import one_per_backbone, suggest_all
from search_spaces._space import SearchSpace


def backbones() -> tuple[str, ...]:
    """The custom CNN, then every backbone registered at the time of the call."""
    return (CUSTOM_CNN, *list_backbones())


def suggest(trial: optuna.Trial, pretrained: bool = True) -> dict[str, Any] | None:
    """Suggest a model among :func:`backbones` with its branch's parameters, a head and training settings."""
    return suggest_all(trial, backbones(), pretrained)


def __getattr__(name: str) -> SearchSpace:
    """``SPACE``, built from the registry as it is now."""
    if name != "SPACE":
        raise AttributeError(name)
    names = ", ".join(["custom CNN", *(get_backbone(b).application for b in list_backbones())])
    return SearchSpace(
        name="default",
        description=f"backbone ({names}), dropout, learning rate, batch size, optimizer, unfrozen layers or "
        "CNN depth/width, augmentation",
        suggest=suggest,
        backbones=backbones(),
        starting_points=one_per_backbone(backbones()),
    )
