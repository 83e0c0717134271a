"""Search spaces as code: one module per space, each defining ``SPACE``.

>>> from search_spaces import get_space, list_spaces
>>> get_space("default").backbones
('custom_cnn', 'mobilenet_v2', 'efficientnet_b0', 'resnet50')
"""

from __future__ import annotations

import importlib

from benchmarks.errors import UserError
from search_spaces._space import SearchSpace

__all__ = ["SearchSpace", "get_space", "list_spaces"]

# Module names under search_spaces/; adding a space is adding a module and its name here.
_MODULES = ("default", "custom_cnn", "transfer")


def list_spaces() -> list[str]:
    return list(_MODULES)


def get_space(name: str) -> SearchSpace:
    if name not in _MODULES:
        raise UserError(f"unknown search space {name!r}; choose from {', '.join(_MODULES)}")
    return importlib.import_module(f"search_spaces.{name}").SPACE
