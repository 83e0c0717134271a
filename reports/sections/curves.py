"""Section "Learning curves" of a dataset: per-epoch accuracy and loss of its best searched trials."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from reports import plots
from reports.document import Section
from reports.sections.base import Context, plot_section
from reports.trials import ranked, searched

__all__ = ["PLOTS", "build", "learning_curves_plot"]

PLOTS = ("learning-curves",)


def learning_curves_plot(trials: pd.DataFrame, dataset: str, path: str | os.PathLike, top: int = 5) -> Path | None:
    """Per-epoch validation accuracy (solid) and training accuracy (dashed) of the ``top`` trials; loss beside."""
    best = ranked(searched(trials[trials["dataset"] == dataset]))
    best = best[best["history_list"].map(len) > 0].head(top)
    if best.empty:
        return None
    plots.style()
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(13, 4.4))
    colors = sns.color_palette("colorblind", len(best))
    for rank, ((_, trial), color) in enumerate(zip(best.iterrows(), colors, strict=True), start=1):
        history = pd.DataFrame(trial["history_list"])
        x = np.arange(1, len(history) + 1)
        name = f"{rank}. {trial['backbone']} ({plots.short(str(trial['trial_id']), 16)})"
        if "val_accuracy" in history:
            acc_ax.plot(x, history["val_accuracy"], color=color, marker="o", markersize=3, label=name)
        if "accuracy" in history:
            acc_ax.plot(x, history["accuracy"], color=color, linestyle="--", alpha=0.6)
        if "val_loss" in history:
            loss_ax.plot(x, history["val_loss"], color=color, marker="o", markersize=3, label=name)
        if "loss" in history:
            loss_ax.plot(x, history["loss"], color=color, linestyle="--", alpha=0.6)
        if "phase" in history:
            phases = history["phase"].astype(str).tolist()
            for i in range(1, len(phases)):
                if phases[i] != phases[i - 1]:
                    for ax in (acc_ax, loss_ax):
                        ax.axvline(i + 0.5, color=color, linestyle=":", alpha=0.7)
    acc_ax.yaxis.set_major_formatter(plots.PERCENT)
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Accuracy (solid: validation, dashed: training)")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss (solid: validation, dashed: training)")
    epochs = max(len(h) for h in best["history_list"])
    for ax in (acc_ax, loss_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlim(0.5, epochs + 0.5)
    handles, labels = acc_ax.get_legend_handles_labels()
    loss_ax.legend(handles, labels, fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    fig.suptitle(
        f"Learning curves of the top {len(best)} trial(s) on {plots.short(dataset, 40)} (dotted: phase change)"
    )
    fig.tight_layout()
    return plots.save(fig, path)


def build(context: Context) -> Section:
    """The learning-curves plot, or why there is none."""
    return plot_section(
        context, "Learning curves", "curves",
        lambda path: learning_curves_plot(context.data.trials, context.dataset, path),
        kind="learning-curves", alt=f"Learning curves of the top trials on {context.dataset}",
        caption="Per-epoch accuracy and loss of the best trials by validation accuracy (all training phases in "
        "sequence).",
        empty="No learning curves: no finished searched trial stored a per-epoch history.",
    )  # fmt: skip
