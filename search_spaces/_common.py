"""Hyperparameters shared by the search spaces, each suggested in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna

from benchmarks.augmentation import POLICIES
from benchmarks.models import CUSTOM_CNN


# A plain, known-reasonable recipe, tried once per backbone before the sampler takes over.
STARTING_RECIPE: dict[str, Any] = {
    "learning_rate": 1e-3, "batch_size": 32, "optimizer": "adam", "augmentation": "flip",
    "dense_units": 256, "dropout": 0.2, "depth": 3, "width": 32,
}  # fmt: skip


def one_per_backbone(backbones: Sequence[str]) -> tuple[dict[str, Any], ...]:
    """Starting points: :data:`STARTING_RECIPE` on each backbone, so that even a short search compares
    the custom CNN with every transfer backbone. Parameters a branch does not suggest (``depth`` for a
    backbone) are ignored; ``unfrozen_layers`` is left to the sampler."""
    return tuple({"backbone": backbone, **STARTING_RECIPE} for backbone in backbones)


def suggest_training(trial: optuna.Trial) -> None:
    trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
    trial.suggest_categorical("batch_size", [16, 32, 64])
    trial.suggest_categorical("optimizer", ["adam", "adamw"])
    trial.suggest_categorical("augmentation", list(POLICIES))


def suggest_head(trial: optuna.Trial) -> None:
    trial.suggest_categorical("dense_units", [128, 256, 512])
    trial.suggest_float("dropout", 0.0, 0.5)


def suggest_model(trial: optuna.Trial, backbones: Sequence[str], pretrained: bool) -> str:
    backbone = trial.suggest_categorical("backbone", list(backbones))
    if backbone == CUSTOM_CNN:
        trial.suggest_int("depth", 2, 4)
        trial.suggest_categorical("width", [16, 32, 64])
    elif pretrained:  # without pretrained weights the whole backbone trains: nothing to unfreeze
        trial.suggest_int("unfrozen_layers", 0, 40, step=10)
    return backbone
