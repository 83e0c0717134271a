"""Section "Hyperparameter importance" of a dataset: fANOVA importances per family from the runs' Optuna studies."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from reports import plots
from reports.document import Paragraph, Section
from reports.importance import MIN_TRIALS, Importance, importance_by_family, load_studies
from reports.sections.base import Column, Context, figure, format_table, plural
from reports.trials import searched

__all__ = ["PLOTS", "build", "importance_plot"]

PLOTS = ("importance",)


def importance_plot(importances: Sequence[Importance], dataset: str, path: str | os.PathLike) -> Path | None:
    """One horizontal bar chart of fANOVA importances per group that has them."""
    groups = [imp for imp in importances if imp.importances]
    if not groups:
        return None
    plots.style()
    height = max(2.4, 0.38 * max(len(g.importances) for g in groups) + 1.3)
    fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups) + 1, height), squeeze=False)
    for ax, group in zip(axes.flat, groups, strict=True):
        frame = pd.DataFrame({"parameter": list(group.importances), "importance": list(group.importances.values())})
        color = plots.FAMILY_COLORS.get(group.group, (0.45, 0.45, 0.45))
        sns.barplot(data=frame, y="parameter", x="importance", color=color, ax=ax)
        ax.set_title(f"{group.label}\n({group.trials} completed trials)", fontsize="medium")
        ax.set_xlabel("importance (fANOVA, sums to 1)")
        ax.set_ylabel("")
        ax.set_xlim(0, max(1.0, frame["importance"].max()) * 1.02)
    fig.suptitle(f"Hyperparameter importance on {plots.short(dataset, 40)}")
    fig.tight_layout()
    return plots.save(fig, path)


def build(context: Context) -> Section:
    """The importance table and plot, or why there are none."""
    data, dataset = context.data, context.dataset
    section = context.subsection("Hyperparameter importance", "importance")
    pool = searched(context.trials)
    if pool.empty:
        return section.add(Paragraph("No searched trials, so no hyperparameter importance.", "empty"))
    if not ((pool["status"] == "completed") & pool["val_accuracy"].notna()).any():
        return section.add(
            Paragraph("No hyperparameter importance: no searched trial of this dataset completed.", "empty")
        )
    runs = data.runs[data.runs["run_id"].isin(set(pool["run_id"]))]  # searches, not reference recipes
    studies, missing = load_studies(runs.to_dict("records"))
    if missing:
        section.add(Paragraph(
            f"{plural(len(missing), 'run')} ({', '.join(missing)}) recorded no Optuna study (recorded before studies "
            "were kept in Optuna's storage, or the storage is gone), so "
            f"{'its trials are' if len(missing) == 1 else 'their trials are'} left out of the importance.", "empty"))
    if not studies:
        return section
    results = importance_by_family(studies)
    section.add(
        Paragraph(
            "fANOVA importance (Optuna) of each hyperparameter for validation accuracy (best epoch), computed over the "
            "completed trials of each family in the runs' own Optuna studies, with the distributions their spaces "
            f"declared, from {MIN_TRIALS} completed trials up. It sees only the trials that finished: those the "
            "scheduler stopped early are pruned in the study and left out, as Optuna does, so a hyperparameter that "
            "mostly made trials stop early looks less important than it is. Importances of a group sum to 1."
        )
    )
    computed = [r for r in results if r.importances]
    for result in results:
        if not result.importances:
            section.add(Paragraph(f"{result.label}: {result.note}.", "empty"))
    if not computed:
        return section
    names = list(
        dict.fromkeys(name for r in computed for name in sorted(r.importances, key=r.importances.get, reverse=True))
    )
    frame = pd.DataFrame({"parameter": names, **{r.group: [r.importances.get(n) for n in names] for r in computed}})
    section.add(
        format_table(
            frame,
            [Column("parameter", "Hyperparameter")]
            + [Column(r.group, f"{r.label} ({r.trials})", "float3") for r in computed],
            caption="Hyperparameter importance (— : not a hyperparameter of every trial in the group, or constant)",
            css_class="importance",
        )
    )
    path = importance_plot(results, dataset, context.plot_path("importance"))
    if path is not None:
        section.add(figure(path, f"Hyperparameter importance on {dataset}"))
    return section
