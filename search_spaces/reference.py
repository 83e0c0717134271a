"""``--space reference``: the published reference recipe of the dataset being run.

The recipe is picked by the dataset: ``oxford_flowers102`` and ``cifar10`` (tensorflow-datasets
names, with or without a version), ``hymenoptera`` and ``fruits360`` (the named downloads, or a
folder or zip whose name contains ``hymenoptera`` or ``fruit``), and the 20-class custom-CNN
recipe for any other image folder or zip.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.errors import UserError

__all__ = ["DESCRIPTION", "RECIPES", "REFERENCE", "recipe_for"]

REFERENCE = "reference"
DESCRIPTION = "the published reference recipe of --dataset (one fixed configuration per recipe variant)"

#: Dataset name -> module of its recipe.
RECIPES: dict[str, str] = {
    "oxford_flowers102": "reference_flowers102",
    "cifar10": "reference_cifar10",
    "hymenoptera": "reference_hymenoptera",
    "fruits360": "reference_fruits360",
}
FOLDER_RECIPE = "reference_custom_cnn20"

# A folder or zip is matched by a part of its name.
_FOLDER_NAMES = (("hymenoptera", "hymenoptera"), ("fruit", "fruits360"))


def recipe_for(dataset: str) -> str:
    """The module name of the reference recipe for ``dataset`` (a name, a folder or a zip)."""
    from benchmarks.datasets import dataset_kind

    kind = dataset_kind(dataset)
    if kind == "archive":
        return RECIPES[dataset]
    if kind == "folder":
        name = Path(dataset.rstrip("/\\")).name.lower()
        return next((RECIPES[key] for part, key in _FOLDER_NAMES if part in name), FOLDER_RECIPE)
    base = dataset.split(":")[0].split("/")[0]
    if kind == "tfds" and base in RECIPES:
        return RECIPES[base]
    raise UserError(
        f"no reference recipe for dataset {dataset!r}; recipes exist for {', '.join(RECIPES)} "
        "and image folders (a custom CNN); see README 'Reference recipes'"
    )
