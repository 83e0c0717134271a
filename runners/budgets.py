"""Budgets: presets of trials, epochs, image size and examples per split, and the models each can afford."""

from __future__ import annotations

import dataclasses

from benchmarks.errors import UserError

__all__ = ["BUDGETS", "Budget", "get_budget", "searched_space", "too_large"]


@dataclasses.dataclass(frozen=True)
class Budget:
    """A preset of how much a search spends: trials, epochs, image size and examples kept per split.

    A flag given on the command line (``--num-samples``, ``--epochs``, ``--image-size``, ``--repeats``) wins
    over the budget's value; a reference recipe's own image size, epochs and patience apply on ``full`` only.
    """

    name: str
    num_samples: int
    epochs: int
    image_size: int
    max_examples: tuple[int | None, int | None, int | None]  # train, validation, test
    patience: int
    grace_period: int  # epochs every trial gets before ASHA may stop it
    repeats: int  # seeds each finalist is trained again with after the search (runners.finalists)
    description: str
    # Millions of parameters above which a backbone without pretrained weights, which trains whole, is left out.
    # On smoke: a from-scratch ResNet50 (23.6 M) took longer than the whole search is meant to, and an
    # EfficientNetB0 (4.0 M) trial 67 s against MobileNetV2's (2.3 M) 51 s (benchmarks/RESULTS.md, 8). None: no limit.
    max_scratch_params: float | None = None


BUDGETS: dict[str, Budget] = {
    b.name: b
    for b in (
        Budget("smoke", 4, 3, 32, (2048, 512, 1000), 2, 2, 2, "minutes on a 2-core CPU: CI and trying things out",
               max_scratch_params=3.0),
        Budget("small", 16, 10, 96, (10_000, 2_000, 5_000), 3, 2, 3, "a meaningful laptop run"),
        Budget("full", 64, 30, 224, (None, None, None), 5, 3, 5, "a GPU-node run on whole datasets"),
    )
}


def get_budget(name: str) -> Budget:
    """The budget called ``name``; a one-line :class:`UserError` naming the budgets for any other name."""
    try:
        return BUDGETS[name]
    except KeyError:
        raise UserError(f"unknown budget {name!r}; choose from {', '.join(BUDGETS)}") from None


def too_large(budget: Budget, models: tuple[str, ...], pretrained: bool) -> tuple[str, ...]:
    """The ``models`` the budget leaves out: backbones that would train whole from scratch (no pretrained weights)
    with more parameters than its ``max_scratch_params``.

    >>> too_large(get_budget("smoke"), ("custom_cnn", "mobilenet_v2", "efficientnet_b0", "resnet50"), pretrained=False)
    ('efficientnet_b0', 'resnet50')
    >>> too_large(get_budget("smoke"), ("resnet50",), pretrained=True), too_large(get_budget("small"), ("resnet50",), False)
    ((), ())
    """
    from benchmarks.models import get_model

    if budget.max_scratch_params is None or pretrained:
        return ()
    return tuple(name for name in models
                 if get_model(name).pretrainable and (get_model(name).params or 0) > budget.max_scratch_params)


def searched_space(options):
    """The space a search runs, as its budget affords it: ``options.space`` without :func:`too_large` models."""
    from search_spaces import get_space

    space = get_space(options.space)
    return space.without(too_large(get_budget(options.budget), space.backbones, options.weights is not None))
