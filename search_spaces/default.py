"""The default space: custom CNN against the three transfer backbones."""

from __future__ import annotations

from typing import Any

import optuna

from search_spaces._common import one_per_backbone, suggest_head, suggest_model, suggest_training
from search_spaces._space import SearchSpace

BACKBONES = ("custom_cnn", "mobilenet_v2", "efficientnet_b0", "resnet50")


def suggest(trial: optuna.Trial, pretrained: bool = True) -> dict[str, Any] | None:
    suggest_model(trial, BACKBONES, pretrained)
    suggest_head(trial)
    suggest_training(trial)
    return None


SPACE = SearchSpace(
    name="default",
    description="backbone (custom CNN, MobileNetV2, EfficientNetB0, ResNet50), dropout, learning rate, "
    "batch size, optimizer, unfrozen layers or CNN depth/width, augmentation",
    suggest=suggest,
    backbones=BACKBONES,
    starting_points=one_per_backbone(BACKBONES),
)
