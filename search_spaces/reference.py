"""``--space reference``: the published reference recipe of the dataset being run.

The recipe is picked by the dataset, as each recipe module declares (``datasets``, ``folder_names``):
``oxford_flowers102`` and ``cifar10`` (tensorflow-datasets names, with or without a version),
``hymenoptera`` and ``fruits360`` (the named downloads, or a folder or zip whose name contains
``hymenoptera`` or ``fruit``), and the 20-class custom-CNN recipe for any other image folder or zip.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.errors import UserError
from search_spaces._catalog import REFERENCE, get_space, list_spaces
from search_spaces._space import SearchSpace

__all__ = ["DESCRIPTION", "REFERENCE", "recipe_for", "recipes"]

DESCRIPTION = "the published reference recipe of --dataset (one fixed configuration per recipe variant)"

def recipes() -> list[SearchSpace]:
    """Every bundled reference recipe (the ``reference_*`` modules), each saying which datasets it is for."""
    return [get_space(name) for name in list_spaces() if name.startswith(f"{REFERENCE}_")]


def recipe_for(dataset: str) -> str:
    """The module name of the reference recipe for ``dataset`` (a name, a folder or a zip)."""
    from benchmarks.datasets import dataset_kind

    kind = dataset_kind(dataset)
    known = recipes()
    if kind == "folder":
        name = Path(dataset.rstrip("/\\")).name.lower()
        match = next((r for r in known for part in r.folder_names if part != "*" and part in name), None)
        match = match or next((r for r in known if "*" in r.folder_names), None)
    else:
        base = dataset if kind == "archive" else dataset.split(":")[0].split("/")[0]
        match = next((r for r in known if base in r.datasets), None)
    if match is None:
        raise UserError(
            f"no reference recipe for dataset {dataset!r}; recipes exist for "
            f"{', '.join(d for r in known for d in r.datasets)} and image folders (a custom CNN); "
            "see README 'Reference recipes'"
        )
    return match.name
