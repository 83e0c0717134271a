"""The figures the report compares across datasets: which run speaks for each dataset, and its finalists' tables.

:func:`comparable_finalists` is the one place that picks, per dataset, the run whose finalists are compared;
the cross-dataset section and the summary's sentence both read it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.across_datasets import Comparison, latest_comparisons
from benchmarks.models import FAMILIES, family, family_label
from benchmarks.stats import Interval
from reports.data import ReportData

__all__ = ["column_label", "comparable_finalists", "finalist_interval", "finalist_table", "mean_scores", "model_name",
           "per_backbone"]


def comparable_finalists(data: ReportData) -> dict[str, Comparison]:
    """Per dataset of the report (in its order), the latest finished run whose finalists compare the custom CNN
    with another family: one run's finalists share one test split, so their difference compares like with like."""
    found = latest_comparisons(data.runs.to_dict("records"))
    return {dataset: found[dataset] for dataset in data.datasets if dataset in found}


def finalist_interval(entry: dict[str, Any]) -> Interval | None:
    """A stored finalist's test-accuracy interval (the fields :class:`Interval` has), None where it has none."""
    stored = entry.get("test_accuracy") or {}
    if stored.get("mean") is None:
        return None
    names = {f.name for f in dataclasses.fields(Interval)}
    return Interval(**{key: value for key, value in stored.items() if key in names})


def model_name(entry: dict[str, Any]) -> str:
    """A finalist as a model across datasets: its backbone, ``resnet50 (from scratch)`` without pretraining."""
    backbone, key = str(entry.get("backbone")), str(entry.get("family"))
    return backbone if key == family(backbone) else f"{backbone} (from scratch)"


def per_backbone(comparisons: dict[str, Comparison]) -> bool:
    """Whether any dataset's run has per-backbone finalists (more than one finalist of a family)."""
    for comparison in comparisons.values():
        families = [str(f.get("family")) for f in comparison.finalists.get("finalists") or []]
        if len(families) != len(set(families)):
            return True
    return False


def _family_pick(finalists: list[dict[str, Any]], key: str, other: Any) -> dict[str, Any] | None:
    """The finalist standing for family ``key``: the compared one where it is of that family, else the family's
    finalist with the best mean validation accuracy (as the comparison picks), never by test accuracy."""
    members = [f for f in finalists if f.get("family") == key and finalist_interval(f) is not None]
    compared = next((f for f in members if f.get("repeat_of") == other), None)
    best = max(members, key=lambda f: -1.0 if f.get("val_accuracy") is None else float(f["val_accuracy"]),
               default=None)
    return compared or best


def finalist_table(comparisons: dict[str, Comparison], by: str = "family") -> pd.DataFrame:
    """Datasets x families (``by="family"``) or x models (``by="model"``): each cell the finalist's
    test-accuracy :class:`Interval` (None where that dataset has none); columns ordered by family, then name."""
    cells: dict[str, dict[str, Interval | None]] = {}
    order: dict[str, tuple[int, str]] = {}
    for dataset, comparison in comparisons.items():
        finalists = comparison.finalists.get("finalists") or []
        row: dict[str, Interval | None] = {}
        if by == "family":
            for key in FAMILIES:
                entry = _family_pick(finalists, key, comparison.finalists.get("other"))
                if entry is not None:
                    row[key] = finalist_interval(entry)
                    order[key] = (FAMILIES.index(key), key)
        else:
            for entry in finalists:
                interval = finalist_interval(entry)
                if interval is not None:
                    name = model_name(entry)
                    row[name] = interval
                    key = str(entry.get("family"))
                    order[name] = (FAMILIES.index(key) if key in FAMILIES else len(FAMILIES), name)
        cells[dataset] = row
    columns = sorted(order, key=order.__getitem__)
    frame = pd.DataFrame.from_dict(cells, orient="index").reindex(index=list(comparisons), columns=columns)
    return frame.astype(object).where(frame.notna(), None)


def mean_scores(table: pd.DataFrame) -> pd.DataFrame:
    """The means of a :func:`finalist_table` (NaN where a cell has none): what ranks are computed from."""
    return table.map(lambda cell: np.nan if cell is None else float(cell.mean)).astype(float)


def column_label(key: str, by: str) -> str:
    """A column header of :func:`finalist_table`: the family's title, or the model as named."""
    return family_label(key, capitalize=True) if by == "family" else key
