"""The catalogue of bundled spaces: every public module of this package, found, not listed.

Adding a space, or a reference recipe, is adding its module to ``search_spaces/``; nothing else lists it.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from benchmarks.errors import UserError
from search_spaces._space import SearchSpace

__all__ = ["REFERENCE", "get_space", "list_spaces"]

REFERENCE = "reference"  # --space reference: the dataset's recipe (search_spaces.reference)
_PACKAGE = Path(__file__).parent


def list_spaces() -> list[str]:
    """The bundled spaces: every public module of the package (searches first, then the ``reference_*`` recipes)."""
    names = [
        m.name for m in pkgutil.iter_modules([str(_PACKAGE)]) if not m.name.startswith("_") and m.name != REFERENCE
    ]
    return sorted(names, key=lambda name: (name.startswith(f"{REFERENCE}_"), name != "default", name))


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
        raise UserError(
            f"cannot load search space {name!r} ({error}); it must be an importable module defining SPACE"
        ) from None
    if not isinstance(space, SearchSpace):
        raise UserError(f"{name}.SPACE is not a search_spaces.SearchSpace")
    return space
