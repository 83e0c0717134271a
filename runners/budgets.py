"""Budgets: presets of trials, epochs, image size and examples per split."""

from __future__ import annotations

import dataclasses

from benchmarks.errors import UserError

__all__ = ["BUDGETS", "Budget", "get_budget"]


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


BUDGETS: dict[str, Budget] = {
    b.name: b
    for b in (
        Budget("smoke", 4, 3, 32, (2048, 512, 1000), 2, 2, 2, "minutes on a 2-core CPU: CI and trying things out"),
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
