"""The :class:`SearchSpace` record every space module defines as ``SPACE``, and the ``suggest`` signature.

It imports nothing of the project, so any space module (bundled, a recipe, or a user's own) can import it.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Collection
from typing import Any


Suggest = Callable[..., dict[str, Any] | None]

#: The user attribute that marks a trial of a study copied from an earlier run (``--warm-start``): the run it comes
#: from. A space's family balance counts only the study's own trials (``search_spaces._common.next_family``).
WARM_START_ATTR = "warm_start_from"


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """A define-by-run search space: ``suggest(trial, pretrained=...)`` asks Optuna for each hyperparameter.

    ``suggest`` may take ``models``, the models a search may pick among ``backbones`` (:meth:`without`).
    Parameters suggested inside a branch exist only in that branch (``depth`` only
    for the custom CNN, ``unfrozen_layers`` only for pretrained backbones), so the
    sampler models them conditionally; ``pretrained`` says whether backbones start from weights.
    ``suggest`` may return constants as a dict.
    ``backbones`` lists every backbone the space can pick, so weights can be checked
    before any trial starts. A fixed space (a reference recipe) runs ``num_samples`` trials
    and records its ``published`` figures; its own ``image_size``, ``epochs`` and ``patience``
    apply on the full budget only, and ``split`` (validation, test fractions) to folder datasets
    unless the command line sets them (see :mod:`search_spaces._reference`); ``datasets`` and ``folder_names``
    say which datasets it is the recipe of.
    ``starting_points`` are (partial) configurations tried first, before the sampler takes over.
    """

    name: str
    description: str
    suggest: Suggest
    backbones: tuple[str, ...]
    num_samples: int | None = None
    published: dict[str, Any] | None = None
    image_size: int | None = None
    epochs: int | None = None
    patience: int | None = None
    split: tuple[float, float] | None = None
    starting_points: tuple[dict[str, Any], ...] = ()
    # A reference recipe says which datasets it is the recipe of (see search_spaces.reference.recipe_for):
    datasets: tuple[str, ...] = ()  # tensorflow-datasets names or named downloads
    folder_names: tuple[str, ...] = ()  # parts of a folder's or zip's name ("*": any other folder)

    @property
    def is_reference(self) -> bool:
        """A fixed recipe (a set number of trials, nothing searched) rather than a search."""
        return self.num_samples is not None

    def without(self, models: Collection[str]) -> SearchSpace:
        """This space with ``models`` left out of what it may pick (a budget too small to train them), where its
        ``suggest`` takes ``models``; a space whose ``suggest`` does not, or that would have no model left, is
        returned as it is."""
        kept = tuple(b for b in self.backbones if b not in models)
        if not kept or kept == self.backbones or "models" not in inspect.signature(self.suggest).parameters:
            return self
        return dataclasses.replace(
            self, backbones=kept, suggest=functools.partial(self.suggest, models=kept),
            starting_points=tuple(p for p in self.starting_points if p.get("backbone") not in models),
        )
