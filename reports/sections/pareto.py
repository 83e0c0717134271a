"""Section "Accuracy against latency and size: the Pareto front" of a dataset.

Shown for a dataset where a run searched two objectives (``--objective accuracy,latency``, ``,params`` or
``,flops``) or any trial measured its latency; FLOPs alone do not show it, since every trial counts them. Every
finished searched or reference-recipe trial is a grey point; the Pareto front (validation accuracy up, cost down;
:func:`benchmarks.pareto.pareto_front`) is highlighted and joined, the finalists the search repeated and the
reference recipes are marked. One panel per cost the trials measured: latency (the Keras model's single-image CPU
latency on its trial's worker, so comparable between trials of one search on like workers, not a deployment
figure), FLOPs per image and parameters. A table lists the front against the cost a run of the dataset searched,
else against latency, else against parameters."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from benchmarks.costs import COSTS
from benchmarks.pareto import pareto_front
from reports import plots
from reports.document import Note, Paragraph, Section
from reports.sections.base import Column, Context, figure, format_table, plural
from reports.trials import finished, of_dataset, repeats

__all__ = ["COST_COLUMNS", "PLOTS", "build", "front_of", "pareto_plot", "pareto_trials", "searched_costs",
           "two_objective"]

PLOTS = ("pareto",)

#: The cost columns a trial measures beyond its parameters (benchmarks.costs); latency only for a search by it.
COST_COLUMNS = ("latency_ms", "flops")
#: The panels, each shown where a trial measured its cost: the cost column, its axis label, log scale.
PANELS = (("latency_ms", "latency (ms, Keras model, trial's CPU worker)", False),
          ("flops", "FLOPs per image (log scale)", True),
          ("params", "parameters (log scale)", True))
#: What the front is said to be against, by cost column.
AGAINST = {"latency_ms": "latency", "flops": "FLOPs", "params": "parameters"}

NOTE = (
    "Grey: every finished trial (searched or reference recipe) with the cost measured. Highlighted and joined: "
    "the Pareto front, the trials no other trial beats in validation accuracy without costing more. Latency is "
    "the Keras model's single-image CPU latency on its trial's own worker (median after warm-up), measured once "
    "per trial: comparable between trials of one search on like workers, not a deployment figure. FLOPs are per "
    "image, a multiply and an add counted apart. Size is the parameters' size as float32 weights."
)


def pareto_trials(trials: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The dataset's finished searched and reference trials, with numeric costs and the marks the plot uses:
    ``finalist`` (a search trial its run repeated), ``picked`` (its run's best) and ``size_mb``."""
    own = of_dataset(trials, dataset)
    frame = finished(own[own["role"] != "repeat"]).copy()
    for column in ("latency_ms", "flops", "params"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    finalists = set(repeats(own)["finalist"].dropna())
    frame["is_finalist"] = frame["label"].isin(finalists)
    frame["size_mb"] = frame["params"] * 4 / 2**20
    return frame.reset_index(drop=True)


def front_of(frame: pd.DataFrame, cost: str) -> pd.DataFrame:
    """The rows of ``frame`` on the Pareto front of validation accuracy (max) against ``cost`` (min), by cost."""
    measured = frame[frame[cost].notna()]
    values = list(zip(measured["val_accuracy"], measured[cost], strict=True))
    front = measured.iloc[pareto_front(values, ("max", "min"))]
    return front.sort_values([cost, "val_accuracy"], ascending=[True, False], kind="mergesort")


def _marks(row: pd.Series) -> str:
    marks = [mark for mark, on in (("picked", row.get("is_best")), ("finalist", row.get("is_finalist")),
                                   ("reference recipe", row.get("is_reference"))) if bool(on)]
    return ", ".join(marks)


def pareto_plot(frame: pd.DataFrame, dataset: str, path: str | os.PathLike) -> Path | None:
    """Validation accuracy against latency and against parameters: all trials grey, the front highlighted."""
    panels = [(c, label, log) for c, label, log in PANELS if frame[c].notna().any()]
    if frame.empty or not panels:
        return None
    plots.style()
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.4), squeeze=False, sharey=True)
    for ax, (column, label, log) in zip(axes.flat, panels, strict=True):
        data = frame[frame[column].notna()]
        front = front_of(frame, column)
        ax.scatter(data[column], data["val_accuracy"], color="0.72", s=36, label="trial", zorder=2)
        ax.step(front[column], front["val_accuracy"], where="post", color="tab:blue", linewidth=1.4, zorder=3)
        ax.scatter(front[column], front["val_accuracy"], color="tab:blue", s=60, label="Pareto front", zorder=4)
        for mask, marker, name in ((data["is_finalist"], "D", "finalist"), (data["is_reference"], "X", "reference recipe"),
                                   (data["is_best"], "*", "picked (best of its run)")):
            marked = data[mask.astype(bool)]
            if len(marked):
                ax.scatter(marked[column], marked["val_accuracy"], facecolors="none", edgecolors="black",
                           marker=marker, s=150 if marker == "*" else 90, linewidths=1.2, label=name, zorder=5)
        if log and (data[column] > 0).all():
            plots.log_count_axis(ax)
        ax.set_xlabel(label)
        ax.set_ylabel("validation accuracy")
        ax.yaxis.set_major_formatter(plots.PERCENT)
    axes.flat[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small", frameon=False)
    fig.suptitle(f"Pareto front of accuracy against cost on {plots.short(dataset, 40)}")
    fig.tight_layout()
    return plots.save(fig, path)


def searched_costs(runs: pd.DataFrame, dataset: str) -> list[str]:
    """The cost columns runs of ``dataset`` searched against accuracy (``runs.objective`` ``accuracy,COST``), in
    the order the runs were stored, each once.

    Example:
        A run of ``--objective accuracy,flops`` on digits gives ``["flops"]``; runs of accuracy alone give ``[]``.
    """
    objectives = runs.loc[runs["dataset"] == dataset, "objective"].dropna().astype(str)
    names = [text.split(",", 1)[1] for text in objectives if "," in text]
    return list(dict.fromkeys(COSTS[name].column for name in names if name in COSTS))


def two_objective(runs: pd.DataFrame, dataset: str) -> bool:
    """Whether a run of ``dataset`` searched accuracy against a cost (``runs.objective`` ``accuracy,COST``)."""
    return bool(searched_costs(runs, dataset))


def _table_cost(frame: pd.DataFrame, searched: list[str]) -> str:
    """The cost the front's table is against: the first one searched that was measured, else latency, else params."""
    for column in (*searched, "latency_ms"):
        if frame[column].notna().any():
            return column
    return "params"


def build(context: Context) -> Section | None:
    """The Pareto plot and the table of the front; None where no run of the dataset searched two objectives and
    no trial measured its latency."""
    dataset = context.dataset
    own = of_dataset(context.data.trials, dataset)
    latency = pd.to_numeric(own["latency_ms"], errors="coerce").notna().any()
    if not latency and not two_objective(context.data.runs, dataset):
        return None
    frame = pareto_trials(context.data.trials, dataset)
    section = context.subsection("Accuracy against latency and size: the Pareto front", "pareto")
    path = pareto_plot(frame, dataset, context.plot_path("pareto"))
    if path is None:
        return section.add(Paragraph("No finished trial of this dataset measured its cost.", "empty"))
    *first, last = [AGAINST[column] for column, _, _ in PANELS if frame[column].notna().any()]
    panels = f"{', '.join(first)} and {last}" if first else last
    section.add(figure(path, f"Pareto front of validation accuracy against {panels} on {dataset}",
                       "Every trial in grey, the Pareto front highlighted; finalists, reference recipes and each "
                       "run's picked trial marked."))
    cost = _table_cost(frame, searched_costs(context.data.runs, dataset))
    front = front_of(frame, cost).assign(marks=lambda f: f.apply(_marks, axis=1))
    columns = [Column("label", "Trial"), Column("backbone", "Backbone"), Column("val_accuracy", "Val. acc.", "score"),
               Column("latency_ms", "Latency (ms)", "float"), Column("size_mb", "Size (MB)", "float"),
               Column("params", "Params", "params")]
    if front["flops"].notna().any():
        columns.append(Column("flops", "FLOPs", "params"))
    columns.append(Column("marks", "Marked"))
    against = AGAINST[cost]
    return section.add(
        format_table(front, columns, css_class="pareto", attrs={"dataset": dataset, "rows": str(len(front))},
                     caption=f"The Pareto front against {against}: {len(front)} of "
                     f"{plural(int(frame[cost].notna().sum()), 'trial')} with the {against} measured on {dataset}"),
        Note(NOTE),
    )
