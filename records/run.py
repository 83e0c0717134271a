"""The identity of one run, as every trial row of it records: a typed record, built once by the search."""

from __future__ import annotations

import dataclasses
from typing import Any

from records.contract import REPEAT_OF_KEY

__all__ = ["RunRecord", "trial_role"]


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """What identifies a run in the database and what each of its trial rows repeats."""

    run_id: str
    run_name: str
    dataset: str
    space: str
    budget: str
    image_size: int
    weights: str  # "none", "imagenet" or a path
    seed: int
    is_reference: bool = False
    published: dict[str, Any] | None = None

    @property
    def pretrained(self) -> bool:
        """Whether backbones start from pretrained weights (else a backbone trains from scratch)."""
        return self.weights != "none"

    def run_fields(self) -> dict[str, Any]:
        """The columns of the run's own row (the ``runs`` table) this record holds."""
        return {"run_id": self.run_id, "run_name": self.run_name, "dataset": self.dataset, "space": self.space,
                "budget": self.budget, "image_size": self.image_size, "weights": self.weights, "seed": self.seed,
                "published": self.published}

    def trial_fields(self) -> dict[str, Any]:
        """The columns every trial row of this run shares."""
        return {"run_id": self.run_id, "run_name": self.run_name, "dataset": self.dataset, "space": self.space,
                "budget": self.budget, "image_size": self.image_size, "weights": self.weights,
                "is_reference": self.is_reference}


def trial_role(config: dict[str, Any], run: RunRecord) -> str:
    """``repeat`` for a finalist's repeat, ``reference`` for a recipe's trial, else ``search``."""
    if config.get(REPEAT_OF_KEY):
        return "repeat"
    return "reference" if run.is_reference else "search"
