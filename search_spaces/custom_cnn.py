"""The custom CNN baseline alone: depth, width, head and training settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna

from search_spaces._common import one_per_backbone, suggest_all
from search_spaces._space import SearchSpace


def suggest(trial: optuna.Trial, pretrained: bool = True, models: Sequence[str] | None = None) -> dict[str, Any] | None:
    """Suggest the custom CNN's depth and width, its head and training settings; nothing is returned as a constant."""
    return suggest_all(trial, tuple(models or ("custom_cnn",)), pretrained)


SPACE = SearchSpace(
    name="custom_cnn",
    description="custom CNN baseline only: depth, width, dropout, learning rate, batch size, optimizer, augmentation",
    suggest=suggest,
    backbones=("custom_cnn",),
    starting_points=one_per_backbone(("custom_cnn",)),
)
