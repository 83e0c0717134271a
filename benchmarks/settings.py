"""What a trial runs: the settings a budget fixes, and the phases (head first, then fine-tuning) planned from them.

Shared by the training recipe (:mod:`benchmarks.training`) and frozen-backbone feature caching
(:mod:`benchmarks.features`), which decides from the planned phases whether a trial can train on cached features.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from benchmarks.hyperparameters import value
from benchmarks.models import family

__all__ = ["Phase", "TrainSettings", "plan_phases"]


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """What a budget fixes for every trial of a search."""

    epochs: int
    image_size: int
    weights: str | None = None
    patience: int = 3
    seed: int = 0
    finetune_lr_factor: float = 0.1
    jit_compile: bool = False
    steps_per_execution: int = 1  # training steps per compiled call: fewer host round trips on a GPU
    eval_batch_size: int = 128  # validation batches are at least this large
    feature_cache: bool = True  # frozen pretrained backbone, no augmentation: train the head on cached features
    cache_dir: str | None = None  # where cached features live (default: <transfer-search cache>/features)


@dataclasses.dataclass(frozen=True)
class Phase:
    """One stretch of a trial's training: how many epochs, at which learning rate, with how many layers unfrozen."""

    name: str  # "train" (the whole model, or the head on a frozen backbone), "head" or "finetune"
    epochs: int
    learning_rate: float
    unfrozen_layers: int


def plan_phases(hparams: Mapping[str, Any], settings: TrainSettings) -> list[Phase]:
    """The phases of one trial: head first then fine-tuning where a pretrained backbone unfreezes layers, else one.

    With unfrozen layers of a pretrained backbone, the head trains first (a third of the epochs, at least one),
    then the unfrozen layers fine-tune at ``finetune_lr_factor`` times the rate. Everything else is one phase:
    the custom CNN, a frozen backbone's head, a backbone from scratch, and any trial of fewer than two epochs.

    ``head_first=False`` (a recipe that fine-tunes from the start) makes it one ``finetune`` phase at the
    configured learning rate with the unfrozen layers training from the first epoch.
    """
    lr = value(hparams, "learning_rate")
    unfrozen = value(hparams, "unfrozen_layers")
    if family(hparams["backbone"], settings.weights is not None) != "transfer" or unfrozen == 0:
        return [Phase("train", settings.epochs, lr, 0)]
    if not hparams.get("head_first", True):
        return [Phase("finetune", settings.epochs, lr, unfrozen)]
    if settings.epochs < 2:
        return [Phase("train", settings.epochs, lr, 0)]
    head = max(1, settings.epochs // 3)
    return [
        Phase("head", head, lr, 0),
        Phase("finetune", settings.epochs - head, lr * settings.finetune_lr_factor, unfrozen),
    ]
