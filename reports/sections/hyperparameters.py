"""Section "Hyperparameters against validation accuracy" of a dataset: one panel per hyperparameter."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from benchmarks.hyperparameters import HYPERPARAMETERS as VOCABULARY
from reports import plots
from reports.data import HYPERPARAMETER_COLUMNS
from reports.document import Section
from reports.sections.base import Context, plot_section
from reports.sections.progress import NO_FINISHED
from reports.trials import finished, searched

__all__ = ["PLOTS", "build", "hyperparameter_plot"]

PLOTS = ("hyperparameters",)


def _hyperparameters(frame: pd.DataFrame) -> list[str]:
    names = [c for c in HYPERPARAMETER_COLUMNS if c in frame and frame[c].notna().any()]
    if frame["backbone"].nunique() > 1:
        names.insert(0, "backbone")
    return names


def hyperparameter_plot(trials: pd.DataFrame, dataset: str, path: str | os.PathLike) -> Path | None:
    """Each hyperparameter against validation accuracy (learning rate on a log axis), colored by family."""
    data = plots.with_family_label(finished(searched(trials[trials["dataset"] == dataset])))
    if data.empty:
        return None
    names = _hyperparameters(data)
    if not names:
        return None
    plots.style()
    columns = 3
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(13, 3.3 * rows), squeeze=False, sharey=True)
    hue_order = plots.family_order(data)
    palette = plots.family_palette(hue_order)
    for ax, name in zip(axes.flat, names, strict=False):
        subset = data[data[name].notna()]
        numeric = pd.api.types.is_numeric_dtype(subset[name])
        spec = VOCABULARY.get(name)
        log = spec is not None and spec.log and bool((subset[name] > 0).all())
        continuous = (spec is not None and spec.type is float) or (numeric and subset[name].nunique() > 8)
        if continuous:
            sns.scatterplot(data=subset, x=name, y="val_accuracy", hue="family_label", hue_order=hue_order,
                            palette=palette, s=40, alpha=0.75, legend=False, ax=ax)  # fmt: skip
            if log:
                ax.set_xscale("log")
        else:
            values = subset[name]
            if numeric:
                order = [plots.category(v) for v in sorted(values.unique())]
            else:
                order = sorted(values.astype(str).unique())
            subset = subset.assign(**{name: values.map(plots.category) if numeric else values.astype(str)})
            present = [h for h in hue_order if (subset["family_label"] == h).any()]
            dodge = len(present) > 1 and name != "backbone"
            sns.stripplot(data=subset, x=name, y="val_accuracy", hue="family_label", hue_order=present,
                          order=order, palette=palette, dodge=dodge, jitter=0.2, size=5,
                          alpha=0.75, legend=False, ax=ax)  # fmt: skip
            if sum(len(label) for label in order) > 28:
                ax.tick_params(axis="x", labelrotation=25)
        ax.set_xlabel(name + (" (log scale)" if log and continuous else ""))
        ax.set_ylabel("validation accuracy")
        ax.yaxis.set_major_formatter(plots.PERCENT)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=palette[h], label=h) for h in hue_order]
    fig.legend(handles=handles, loc="upper right", ncols=len(handles), frameon=False)
    fig.suptitle(f"Hyperparameters against validation accuracy on {plots.short(dataset, 40)}", x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return plots.save(fig, path)


def build(context: Context) -> Section:
    """The hyperparameters plot, or why there is none."""
    return plot_section(
        context, "Hyperparameters against validation accuracy", "hyperparameters",
        lambda path: hyperparameter_plot(context.data.trials, context.dataset, path),
        kind="hyperparameters", alt=f"Hyperparameters against validation accuracy on {context.dataset}",
        caption="Each finished searched trial; the learning rate is on a log scale.", empty=NO_FINISHED,
    )  # fmt: skip
