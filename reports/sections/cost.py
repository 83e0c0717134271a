"""Section "Accuracy against cost" of a dataset: validation accuracy against training time and parameters."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from reports import plots
from reports.document import Section
from reports.sections.base import Context, plot_section
from reports.sections.progress import NO_FINISHED
from reports.trials import finished, searched

__all__ = ["PLOTS", "build", "cost_plot"]

PLOTS = ("cost",)


def cost_plot(trials: pd.DataFrame, dataset: str, path: str | os.PathLike) -> Path | None:
    """Validation accuracy against training time and against parameter count (log axis), by backbone."""
    data = plots.with_family_label(finished(searched(trials[trials["dataset"] == dataset])))
    data = data.rename(columns={"family_label": "Family", "backbone": "Backbone"})
    panels = [("wall_seconds", "training time (s)"), ("params", "parameters (log scale)")]
    panels = [(column, label) for column, label in panels if data[column].notna().any()]
    if data.empty or not panels:
        return None
    plots.style()
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.4), squeeze=False, sharey=True)
    backbones = sorted(data["Backbone"].unique())
    palette = dict(zip(backbones, sns.color_palette("colorblind", len(backbones)), strict=True))
    for index, (ax, (column, label)) in enumerate(zip(axes.flat, panels, strict=True)):
        subset = data[data[column].notna()]
        sns.scatterplot(
            data=subset, x=column, y="val_accuracy", hue="Backbone", hue_order=backbones, palette=palette,
            style="Family", style_order=plots.family_order(data.rename(columns={"Family": "family_label"})), s=60,
            alpha=0.8, legend=index == len(panels) - 1, ax=ax,
        )  # fmt: skip
        if column == "params" and (subset[column] > 0).all():
            plots.log_count_axis(ax)
        ax.set_xlabel(label)
        ax.set_ylabel("validation accuracy")
        ax.yaxis.set_major_formatter(plots.PERCENT)
    legend = axes.flat[len(panels) - 1].get_legend()
    if legend is not None:
        sns.move_legend(
            axes.flat[len(panels) - 1],
            "upper left",
            bbox_to_anchor=(1.02, 1),
            title=None,
            fontsize="small",
            frameon=False,
        )
    fig.suptitle(f"Accuracy against cost on {plots.short(dataset, 40)}")
    fig.tight_layout()
    return plots.save(fig, path)


def build(context: Context) -> Section:
    """The accuracy-against-cost plot, or why there is none."""
    return plot_section(
        context, "Accuracy against cost", "cost",
        lambda path: cost_plot(context.data.trials, context.dataset, path),
        kind="cost", alt=f"Accuracy against training time and parameters on {context.dataset}",
        caption="Each finished searched trial: validation accuracy against training time and parameter count.",
        empty=NO_FINISHED,
    )  # fmt: skip
