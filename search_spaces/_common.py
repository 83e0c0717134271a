"""Hyperparameters shared by the search spaces, each suggested in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna

from benchmarks.augmentation import POLICIES
from benchmarks.hyperparameters import HYPERPARAMETERS as H
from benchmarks.models import family, get_model
from search_spaces._space import WARM_START_ATTR


#: The Optuna parameter that picks a model within a family: a from-scratch network of the custom-CNN family, or a
#: keras.applications backbone (pretrained or not). Each family has its own, so each keeps one fixed set of choices
#: while the family itself is assigned, not sampled (:func:`next_family`).
FAMILY_PARAMS = {"custom_cnn": "custom_network", "transfer": "backbone", "scratch": "backbone"}


# A plain, known-reasonable recipe, tried once per backbone before the sampler takes over: the vocabulary's
# defaults, with some dropout and flips.
STARTING_RECIPE: dict[str, Any] = {
    **{name: h.default for name, h in H.items() if name != "unfrozen_layers"},
    "dropout": 0.2, "augmentation": "flip",
}  # fmt: skip


def one_per_backbone(backbones: Sequence[str]) -> tuple[dict[str, Any], ...]:
    """Starting points: :data:`STARTING_RECIPE` on each model, tried before the sampler takes over.

    The families take turns (a network built here, a backbone, the next network, ...), so a search whose budget
    tries only the first few still starts each family once. Parameters a branch does not suggest (``depth`` for a
    backbone) are ignored; ``unfrozen_layers`` is left to the sampler.

    >>> [point["backbone"] for point in one_per_backbone(["custom_cnn", "small_resnet", "mobilenet_v2"])]
    ['custom_cnn', 'mobilenet_v2', 'small_resnet']
    """
    groups: dict[str, list[str]] = {}
    for backbone in backbones:
        groups.setdefault(family(backbone), []).append(backbone)
    turns = [group[i] for i in range(max(map(len, groups.values()), default=0)) for group in groups.values()
             if i < len(group)]
    return tuple({"backbone": backbone, FAMILY_PARAMS[family(backbone)]: backbone, **STARTING_RECIPE}
                 for backbone in turns)


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


def _family_of(frozen: optuna.trial.FrozenTrial, pretrained: bool) -> str | None:
    """The family a trial of the study trains, from its record (:func:`suggest_model` notes it; a starting point fixes
    its ``backbone``)."""
    if "family" in frozen.user_attrs:
        return str(frozen.user_attrs["family"])
    backbone = frozen.system_attrs.get("fixed_params", {}).get("backbone") or frozen.params.get("backbone")
    return None if backbone is None else family(str(backbone), pretrained)


def next_family(trial: optuna.Trial, families: Sequence[str], pretrained: bool) -> str:
    """The family ``trial`` trains: a starting point's own, else the one of ``families`` with the fewest trials so far.

    Equal effort by design: a search over both families gives each half of its trials (within one), whatever the
    sampler has learnt, so a verdict "at this budget" compares families that had the same number of tries. The
    sampler still picks everything within a family. Ties go to the family listed first after the trial's number
    turns, so a search alternates.
    """
    counts = dict.fromkeys(families, 0)
    own = None
    for frozen in trial.study.get_trials(deepcopy=False):
        if frozen.number == trial.number:
            fixed = frozen.system_attrs.get("fixed_params", {}).get("backbone")
            own = None if fixed is None else family(str(fixed), pretrained)
        elif WARM_START_ATTR not in frozen.user_attrs:  # an earlier run's trial (--warm-start) is not this run's
            key = _family_of(frozen, pretrained)
            if key in counts:
                counts[key] += 1
    if own in counts:
        return own
    order = list(families[trial.number % len(families):]) + list(families[:trial.number % len(families)])
    return min(order, key=lambda key: counts[key])


def suggest_model(trial: optuna.Trial, backbones: Sequence[str], pretrained: bool) -> str:
    """Assign the trial a family (:func:`next_family`), suggest one of its ``backbones`` and that branch's parameters.

    A model gets the architecture parameters its registration names (the custom CNN: ``depth`` and ``width``); a
    pretrained backbone gets ``unfrozen_layers`` (0 to 40 in tens); a backbone without pretrained weights trains
    whole, so it gets nothing more. Returns the model's name.
    """
    groups: dict[str, list[str]] = {}
    for backbone in backbones:
        groups.setdefault(family(backbone, pretrained), []).append(backbone)
    key = next_family(trial, list(groups), pretrained)
    trial.set_user_attr("family", key)
    backbone = trial.suggest_categorical(FAMILY_PARAMS[key], groups[key])
    model = get_model(backbone)
    for name, args in model.search.items():
        H[name].suggest(trial, *args)
    if model.pretrainable and pretrained:  # without pretrained weights the whole backbone trains: nothing to unfreeze
        H["unfrozen_layers"].suggest(trial, 0, 40, step=10)
    return backbone


def suggest_all(trial: optuna.Trial, backbones: Sequence[str], pretrained: bool) -> dict[str, Any]:
    """Suggest a whole trial of a space over ``backbones``: the model and its branch, the head, and training.

    Returns ``{"backbone": ...}``, the trial's model whichever family parameter chose it (a space returns it to
    Ray Tune, which adds it to the trial's config).
    """
    backbone = suggest_model(trial, backbones, pretrained)
    suggest_head(trial)
    suggest_training(trial)
    return {"backbone": backbone}
