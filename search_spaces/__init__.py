"""Search spaces as code: one module per space, each defining ``SPACE``.

>>> from search_spaces import get_space, list_spaces
>>> get_space("default").backbones
('custom_cnn', 'mobilenet_v2', 'efficientnet_b0', 'resnet50')

A space of your own is any importable module with a ``SPACE`` attribute:
``--space mypackage.my_space``.
"""

from __future__ import annotations

import importlib

from benchmarks.errors import UserError
from search_spaces._space import SearchSpace

__all__ = ["SearchSpace", "get_space", "list_spaces"]

# The bundled spaces: modules under search_spaces/.
_MODULES = ("default", "custom_cnn", "transfer")


def list_spaces() -> list[str]:
    return list(_MODULES)


def get_space(name: str) -> SearchSpace:
    """A bundled space by name, or any importable module whose ``SPACE`` is a :class:`SearchSpace`."""
    if name in _MODULES:
        return importlib.import_module(f"search_spaces.{name}").SPACE
    try:
        space = importlib.import_module(name).SPACE
    except (ImportError, AttributeError) as error:
        if "." not in name:
            raise UserError(
                f"unknown search space {name!r}; choose from {', '.join(_MODULES)} or give an importable module defining SPACE"
            ) from None
        raise UserError(f"cannot load search space {name!r} ({error}); it must be an importable module defining SPACE") from None
    if not isinstance(space, SearchSpace):
        raise UserError(f"{name}.SPACE is not a search_spaces.SearchSpace")
    return space
