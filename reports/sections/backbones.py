"""Section "Backbones across datasets": every backbone's trials, its average rank, and its best per dataset.

Datasets differ in difficulty, so raw accuracies are not averaged over them: on each dataset the backbones are
ranked by their best completed search trial's validation accuracy (a trial the scheduler stopped early is not a
full training), and those ranks are averaged (:func:`benchmarks.across_datasets.average_ranks`), over the
backbones run on every dataset. These are search-phase figures (the best of a search, optimistic); the
finalists' test figures across datasets are in the section "Across datasets".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.across_datasets import average_ranks
from benchmarks.models import family, family_label
from reports.document import Paragraph, Section
from reports.sections.base import Column, Context, family_title, format_table
from reports.trials import finished, ranked, searched

__all__ = ["PLOTS", "backbone_by_dataset", "backbone_ranks", "backbone_summary", "build"]

PLOTS: tuple[str, ...] = ()


def backbone_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per backbone and family over all datasets (searched trials): a backbone trained with
    pretrained weights and from scratch is two rows.

    Columns: family, datasets, trials, finished, failed, best_val_accuracy, best_dataset, average_rank (see
    :func:`backbone_ranks`; NaN for a backbone not run on every dataset), median_params, median_flops (NaN where
    no trial counted its FLOPs), median_wall_seconds. Sorted by family, then average rank.
    """
    pool = searched(trials)
    ranks = backbone_ranks(trials)
    rows = []
    for (backbone, key), group in pool.groupby(["backbone", "family"], sort=True):
        done = finished(group)
        best = ranked(group).head(1)
        rows.append(
            {
                "backbone": backbone,
                "family": key,
                "datasets": group["dataset"].nunique(),
                "trials": len(group),
                "finished": len(done),
                "failed": int((group["status"] == "failed").sum()),
                "best_val_accuracy": best["val_accuracy"].iat[0] if len(best) else np.nan,
                "best_dataset": best["dataset"].iat[0] if len(best) else None,
                "average_rank": ranks.get(_model(group.head(1)).iat[0], np.nan),
                "median_params": done["params"].median() if len(done) else np.nan,
                "median_flops": done["flops"].median() if len(done) and "flops" in done else np.nan,
                "median_wall_seconds": done["wall_seconds"].median() if len(done) else np.nan,
            }
        )
    columns = [
        "backbone", "family", "datasets", "trials", "finished", "failed", "best_val_accuracy",
        "best_dataset", "average_rank", "median_params", "median_flops", "median_wall_seconds",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["family", "average_rank"], na_position="last", kind="mergesort").reset_index(drop=True)


def _model(trials: pd.DataFrame) -> pd.Series:
    """The backbone, followed by its family where that is not what the backbone implies
    (``mobilenet_v2 (backbone from scratch)``)."""
    usual = trials["backbone"].map(lambda backbone: family(backbone))
    named = trials["backbone"] + " (" + trials["family"].map(family_label) + ")"
    return trials["backbone"].where(trials["family"] == usual, named)


def backbone_by_dataset(trials: pd.DataFrame, datasets: list[str] | None = None) -> pd.DataFrame:
    """Best validation accuracy of a completed search trial of every backbone (rows; a backbone from scratch
    apart) on every dataset (columns); NaN where none completed."""
    pool = searched(trials)
    pool = pool.assign(backbone=_model(pool))
    datasets = datasets if datasets is not None else list(dict.fromkeys(trials["dataset"]))
    backbones = sorted(pool["backbone"].unique())
    completed = pool[(pool["status"] == "completed") & pool["val_accuracy"].notna()]
    table = completed.pivot_table(index="backbone", columns="dataset", values="val_accuracy", aggfunc="max")
    return table.reindex(index=backbones, columns=datasets)


def backbone_ranks(trials: pd.DataFrame) -> pd.Series:
    """Every backbone's (as :func:`backbone_by_dataset` names it) rank by best completed trial, averaged over
    the datasets; only backbones with a completed trial on every dataset are ranked."""
    return average_ranks(backbone_by_dataset(trials).T)


def build(context: Context) -> Section:
    """The backbones section: the summary table, and best accuracy per backbone and dataset (several datasets)."""
    data = context.data
    section = Section("Backbones across datasets", "backbones")
    summary = backbone_summary(data.trials)
    if summary.empty:
        return section.add(Paragraph("No searched trials, so no backbone summary.", "empty"))
    summary = summary.assign(family=summary["family"].map(family_title))
    counted = summary["median_flops"].notna().any()  # none in a database from before every trial counted them
    flops = [Column("median_flops", "Median FLOPs per image", "params")] if counted else []
    section.add(
        format_table(
            summary,
            [
                Column("backbone", "Backbone"),
                Column("family", "Family"),
                Column("datasets", "Datasets", "count"),
                Column("trials", "Trials", "count"),
                Column("finished", "Finished", "count"),
                Column("failed", "Failed", "count"),
                Column("best_val_accuracy", "Best val. accuracy", "score"),
                Column("best_dataset", "…on dataset"),
                Column("average_rank", "Average rank", "float"),
                Column("median_params", "Median parameters", "params"),
                *flops,
                Column("median_wall_seconds", "Median training time", "seconds"),
            ],
            caption="Every backbone over all datasets (searched trials; medians over finished trials). Average "
            "rank: on each dataset, backbones ranked by their best completed trial (1 = best), averaged over the "
            "datasets; — where a backbone did not complete a trial on every dataset",
            css_class="backbones",
        )
    )
    pivot = backbone_by_dataset(data.trials, data.datasets)
    if len(data.datasets) > 1:
        frame = pivot.reset_index()
        columns = [Column("backbone", "Backbone")] + [Column(d, d, "score") for d in data.datasets]
        section.add(
            format_table(
                frame,
                columns,
                caption="Best validation accuracy of a completed trial per backbone and dataset (— : not run or "
                "none completed)",
            )
        )
    return section
