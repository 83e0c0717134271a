"""Search spaces as code: one module per space, each defining ``SPACE``.

>>> from search_spaces import get_space, list_spaces
>>> get_space("default").backbones
('custom_cnn', 'mobilenet_v2', 'efficientnet_b0', 'resnet50')

A space of your own is any importable module with a ``SPACE`` attribute:
``--space mypackage.my_space``.
"""

from __future__ import annotations

import importlib
import pkgutil

from benchmarks.errors import UserError
from search_spaces._reference import PUBLISHED_METRICS, reproduced_figures, train_accuracy_at_best
from search_spaces._space import SearchSpace
from search_spaces.reference import REFERENCE, recipe_for

__all__ = [
    "PUBLISHED_METRICS",
    "REFERENCE",
    "SearchSpace",
    "get_space",
    "list_spaces",
    "recipe_for",
    "reproduced_figures",
    "resolve_space_name",
    "train_accuracy_at_best",
]

def list_spaces() -> list[str]:
    """The bundled spaces: every public module of this package (searches first, then the ``reference_*`` recipes).

    Adding a space, or a reference recipe, is adding its module here; nothing else lists it.
    """
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_") and m.name != REFERENCE]
    return sorted(names, key=lambda name: (name.startswith(f"{REFERENCE}_"), name != "default", name))


def resolve_space_name(name: str, dataset: str) -> str:
    """``--space`` as a module name: ``reference`` becomes the recipe of ``dataset``, other names stay."""
    return recipe_for(dataset) if name == REFERENCE else name


def get_space(name: str) -> SearchSpace:
    """A bundled space by name, or any importable module whose ``SPACE`` is a :class:`SearchSpace`."""
    if name == REFERENCE:
        raise UserError("--space reference picks the recipe of the dataset; resolve it with resolve_space_name()")
    if name in list_spaces():
        return importlib.import_module(f"search_spaces.{name}").SPACE
    try:
        space = importlib.import_module(name).SPACE
    except (ImportError, AttributeError) as error:
        if "." not in name:
            raise UserError(
                f"unknown search space {name!r}; choose from {', '.join((*list_spaces(), REFERENCE))} "
                "or give an importable module defining SPACE"
            ) from None
        raise UserError(f"cannot load search space {name!r} ({error}); it must be an importable module defining SPACE") from None
    if not isinstance(space, SearchSpace):
        raise UserError(f"{name}.SPACE is not a search_spaces.SearchSpace")
    return space
