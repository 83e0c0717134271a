"""The default space: every registered model, the networks built here against the ``keras.applications`` backbones.

The models come from the registry (``benchmarks.models.register_model`` / ``register_backbone``) when the space is
asked for, so a model registered there is searched here with no other change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna

from benchmarks.models import get_model, list_models
from search_spaces._common import one_per_backbone, suggest_all
from search_spaces._space import SearchSpace


def backbones() -> tuple[str, ...]:
    """Every model registered at the time of the call: the custom CNN first."""
    return tuple(list_models())


def suggest(trial: optuna.Trial, pretrained: bool = True, models: Sequence[str] | None = None) -> dict[str, Any] | None:
    """Suggest a model among ``models`` (default: :func:`backbones`) with its branch's parameters, a head and
    training settings."""
    return suggest_all(trial, tuple(models or backbones()), pretrained)


def __getattr__(name: str) -> SearchSpace:
    """``SPACE``, built from the registry as it is now."""
    if name != "SPACE":
        raise AttributeError(name)
    names = ", ".join(get_model(b).label for b in backbones())
    return SearchSpace(
        name="default",
        description=f"model ({names}), dropout, learning rate, batch size, optimizer, unfrozen layers or "
        "depth/width, augmentation",
        suggest=suggest,
        backbones=backbones(),
        starting_points=one_per_backbone(backbones()),
    )
