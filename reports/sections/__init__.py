"""The report's sections, in order: the one place that lists them.

Each section is a module with ``build(context) -> Section | None`` (None: nothing to show, no heading) and
``PLOTS``, the kinds of plot file it may write. Modules of :data:`SECTIONS` are built once for the report;
one marked ``EACH_DATASET = True`` is built once per dataset, and the modules of :data:`DATASET_SECTIONS`
are built into it (their context names the dataset). Adding a section = adding a module and one line here.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any

from reports.document import Section
from reports.sections import (
    across,
    backbones,
    best_model,
    budget,
    cost,
    curves,
    dataset,
    failed,
    finalists,
    hyperparameters,
    importance,
    leaderboard,
    pareto,
    progress,
    references,
    runs,
    summary,
)
from reports.sections.base import Context, plot_name, slugify

__all__ = ["DATASET_SECTIONS", "SECTIONS", "build_sections", "is_plot_name"]

#: The top-level sections of the report, in order.
SECTIONS: list[ModuleType | Any] = [
    summary,  # custom CNN vs the other family: finalists or best trials, per dataset
    across,  # the finalists across datasets: win/tie/loss, ranks, Friedman and the critical-difference diagram
    budget,  # expected best validation accuracy against trials and trial-hours, per dataset and family
    backbones,  # every backbone across datasets
    dataset,  # "Dataset: <name>", once per dataset, holding DATASET_SECTIONS
    runs,  # the runs covered
]

#: The sections inside each dataset's section, in order.
DATASET_SECTIONS: list[ModuleType | Any] = [
    leaderboard,
    finalists,
    references,
    best_model,  # test metrics and confusion matrix
    progress,
    curves,
    hyperparameters,
    importance,
    cost,
    pareto,  # accuracy against latency and size: the Pareto front, where a trial measured its cost
    failed,
]


def _built(module: Any, context: Context) -> list[Section]:
    section = module.build(context)
    return [] if section is None else [section]


def build_sections(context: Context) -> list[Section]:
    """Build every listed section for ``context`` (a report-wide context), in the listed order."""
    sections: list[Section] = []
    for module in SECTIONS:
        if not getattr(module, "EACH_DATASET", False):
            sections += _built(module, context)
            continue
        for index, name in enumerate(context.data.datasets, start=1):
            scoped = context.for_dataset(index, name)
            for section in _built(module, scoped):
                section.add(*(child for inner in DATASET_SECTIONS for child in _built(inner, scoped)))
                sections.append(section)
    return sections


def _kinds(modules: Iterable[Any]) -> set[str]:
    return {kind for module in modules for kind in getattr(module, "PLOTS", ())}


def is_plot_name(name: str) -> bool:
    """Whether ``name`` is a plot file name a listed section writes (for any dataset): how a build recognises
    the plots of a report folder written before it kept a list of its plots."""
    once = [m for m in SECTIONS if not getattr(m, "EACH_DATASET", False)]
    if name in {plot_name(kind) for kind in _kinds(once)}:
        return True
    index, _, rest = name.partition("-")
    if len(index) != 2 or not index.isdigit():
        return False
    for kind in _kinds(DATASET_SECTIONS) | _kinds(m for m in SECTIONS if m not in once):
        slug = rest.removesuffix(f"-{kind}.png")
        if slug != rest and slug and slugify(slug) == slug and name == plot_name(kind, int(index), slug):
            return True
    return False
