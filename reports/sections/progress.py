"""Section "Search progress" of a dataset: each searched trial's validation accuracy in order, best so far per run."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from reports import plots
from reports.document import Section
from reports.sections.base import Context, plot_section
from reports.trials import of_dataset, searched

__all__ = ["NO_FINISHED", "PLOTS", "build", "search_progress", "search_progress_plot"]

PLOTS = ("progress",)
#: The sentence of a plot section whose dataset has no finished searched trial.
NO_FINISHED = "No plot: no searched trial of this dataset finished."


def search_progress(trials: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Searched trials of ``dataset`` in the order they were stored, per run, with the best-so-far value.

    ``trial_number`` counts from 1 within each run (failed trials included, their value NaN);
    ``best_so_far`` is the running maximum of validation accuracy within the run.
    """
    frame = searched(of_dataset(trials, dataset)).sort_values("id")
    frame = frame[["id", "run_id", "run_name", "label", "family", "backbone", "status", "val_accuracy"]].copy()
    frame["trial_number"] = frame.groupby("run_id").cumcount() + 1
    frame["best_so_far"] = frame.groupby("run_id")["val_accuracy"].cummax()
    frame["best_so_far"] = frame.groupby("run_id")["best_so_far"].ffill()
    return frame.reset_index(drop=True)


def search_progress_plot(trials: pd.DataFrame, dataset: str, path: str | os.PathLike) -> Path | None:
    """Validation accuracy of each trial in the order it finished, with a best-so-far line per run."""
    progress = search_progress(trials, dataset)
    points = plots.with_family_label(progress[progress["val_accuracy"].notna() & (progress["status"] != "failed")])
    if points.empty:
        return None
    plots.style()
    fig, ax = plt.subplots(figsize=(10, 4.2))
    hue_order = plots.family_order(points)
    points = points.rename(columns={"family_label": "Family", "status": "Status"})
    statuses = ["completed", "stopped", *sorted(set(points["Status"]) - {"completed", "stopped"})]
    statuses = [s for s in statuses if s in set(points["Status"])]
    sns.scatterplot(
        data=points, x="trial_number", y="val_accuracy", hue="Family", hue_order=hue_order,
        palette=plots.family_palette(hue_order), style="Status", style_order=statuses,
        s=55, alpha=0.8, ax=ax,
    )  # fmt: skip
    runs = list(dict.fromkeys(progress["run_name"]))
    for index, run in enumerate(runs):
        line = progress[(progress["run_name"] == run) & progress["best_so_far"].notna()]
        if line.empty:
            continue
        label = "best so far" if len(runs) == 1 else f"best so far: {plots.short(run)}"
        ax.step(line["trial_number"], line["best_so_far"], where="post", color=str(0.15 + 0.25 * (index % 3)),
                linestyle=["-", "--", ":"][index % 3], linewidth=1.6, label=label)  # fmt: skip
    ax.yaxis.set_major_formatter(plots.PERCENT)
    ax.set_xlabel("trial (in the order stored, per run)")
    ax.set_ylabel("validation accuracy")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlim(0.5, progress["trial_number"].max() + 0.5)
    failed = int((progress["status"] == "failed").sum())
    note = f" ({failed} failed not shown)" if failed else ""
    ax.set_title(f"Search progress on {plots.short(dataset, 40)}{note}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    return plots.save(fig, path)


def build(context: Context) -> Section:
    """The search-progress plot, or why there is none."""
    return plot_section(
        context, "Search progress", "progress",
        lambda path: search_progress_plot(context.data.trials, context.dataset, path),
        kind="progress", alt=f"Search progress on {context.dataset}",
        caption="Validation accuracy of each trial in the order it was stored, with the best so far per run.",
        empty=NO_FINISHED,
    )  # fmt: skip
