"""Search spaces as code: one module per space, each defining ``SPACE``.

>>> from search_spaces import get_space, list_spaces
>>> get_space("default").backbones
('custom_cnn', 'small_resnet', 'mobilenet_v2', 'efficientnet_b0', 'resnet50')

A space of your own is any importable module with a ``SPACE`` attribute:
``--space mypackage.my_space``.

The spaces belong to the ML core with ``benchmarks/``: they may import ``benchmarks`` (the vocabulary, the
model registry), never ``runners`` nor ``perf``.
"""

from __future__ import annotations

from search_spaces._catalog import REFERENCE, get_space, list_spaces
from search_spaces._reference import PUBLISHED_METRICS, reproduced_figures, train_accuracy_at_best
from search_spaces._space import WARM_START_ATTR, SearchSpace
from search_spaces.reference import recipe_for

__all__ = [
    "WARM_START_ATTR",
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

def resolve_space_name(name: str, dataset: str) -> str:
    """``--space`` as a module name: ``reference`` becomes the recipe of ``dataset``, other names stay."""
    return recipe_for(dataset) if name == REFERENCE else name
