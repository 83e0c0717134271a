"""Transfer learning alone: every registered backbone and how many layers to fine-tune.

The backbones come from the registry (``benchmarks.models.register_backbone``) when the space is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna

from benchmarks.models import get_model, list_backbones
from search_spaces._common import one_per_backbone, suggest_all
from search_spaces._space import SearchSpace


def suggest(trial: optuna.Trial, pretrained: bool = True, models: Sequence[str] | None = None) -> dict[str, Any] | None:
    """Suggest a backbone among ``models`` (default: every registered one; how many layers to unfreeze when
    pretrained), a head and training settings."""
    return suggest_all(trial, tuple(models or list_backbones()), pretrained)


def __getattr__(name: str) -> SearchSpace:
    """``SPACE``, built from the registry as it is now."""
    if name != "SPACE":
        raise AttributeError(name)
    names = ", ".join(get_model(b).label for b in list_backbones())
    return SearchSpace(
        name="transfer",
        description=f"{names}: unfrozen layers, dropout, learning rate, batch size, optimizer, augmentation",
        suggest=suggest,
        backbones=tuple(list_backbones()),
        starting_points=one_per_backbone(tuple(list_backbones())),
    )
