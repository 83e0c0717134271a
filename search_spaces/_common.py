"""Hyperparameters shared by the search spaces, each suggested in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna

from benchmarks.augmentation import POLICIES
from benchmarks.hyperparameters import HYPERPARAMETERS as H
from benchmarks.models import CUSTOM_CNN


# A plain, known-reasonable recipe, tried once per backbone before the sampler takes over: the vocabulary's
# defaults, with some dropout and flips.
STARTING_RECIPE: dict[str, Any] = {
    **{name: h.default for name, h in H.items() if name != "unfrozen_layers"},
    "dropout": 0.2, "augmentation": "flip",
}  # fmt: skip


def one_per_backbone(backbones: Sequence[str]) -> tuple[dict[str, Any], ...]:
    """Starting points: :data:`STARTING_RECIPE` on each backbone, tried before the sampler takes over.

    With them even a short search compares the custom CNN with every transfer backbone. Parameters a branch
    does not suggest (``depth`` for a backbone) are ignored; ``unfrozen_layers`` is left to the sampler.
    """
    return tuple({"backbone": backbone, **STARTING_RECIPE} for backbone in backbones)


def suggest_training(trial: optuna.Trial) -> None:
    """Suggest how a trial trains: learning rate (log scale), batch size, optimizer and augmentation policy."""
    H["learning_rate"].suggest(trial, 1e-4, 1e-2)
    H["batch_size"].suggest(trial, [16, 32, 64])
    H["optimizer"].suggest(trial, ["adam", "adamw"])
    H["augmentation"].suggest(trial, list(POLICIES))


def suggest_head(trial: optuna.Trial) -> None:
    """Suggest the classification head: its dense width and dropout rate."""
    H["dense_units"].suggest(trial, [128, 256, 512])
    H["dropout"].suggest(trial, 0.0, 0.5)


def suggest_model(trial: optuna.Trial, backbones: Sequence[str], pretrained: bool) -> str:
    """Suggest one of ``backbones`` and the parameters of that branch only; return the backbone.

    The custom CNN gets ``depth`` and ``width``; a pretrained backbone gets ``unfrozen_layers`` (0 to 40 in
    tens); a backbone without pretrained weights trains whole, so it gets nothing more.
    """
    backbone = trial.suggest_categorical("backbone", list(backbones))
    if backbone == CUSTOM_CNN:
        H["depth"].suggest(trial, 2, 4)
        H["width"].suggest(trial, [16, 32, 64])
    elif pretrained:  # without pretrained weights the whole backbone trains: nothing to unfreeze
        H["unfrozen_layers"].suggest(trial, 0, 40, step=10)
    return backbone


def suggest_all(trial: optuna.Trial, backbones: Sequence[str], pretrained: bool) -> None:
    """Suggest a whole trial of a space over ``backbones``: the model and its branch, the head, and training."""
    suggest_model(trial, backbones, pretrained)
    suggest_head(trial)
    suggest_training(trial)
