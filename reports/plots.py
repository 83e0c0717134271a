"""The report's figures, drawn with seaborn on matplotlib's Agg backend and saved as PNG files.

Every function takes the (prepared) trials it needs and a file path, writes the PNG and returns
the path, or returns None without writing anything when there is nothing to draw.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter, PercentFormatter

from benchmarks.hyperparameters import HYPERPARAMETERS as VOCABULARY
from benchmarks.models import FAMILIES, family_label
from reports import tables
from reports.data import HYPERPARAMETER_COLUMNS
from reports.formatting import fmt_params
from reports.importance import Importance

__all__ = [
    "FAMILY_COLORS",
    "confusion_matrix_plot",
    "cost_plot",
    "family_comparison_plot",
    "hyperparameter_plot",
    "importance_plot",
    "learning_curves_plot",
    "search_progress_plot",
]

_PALETTE = sns.color_palette("colorblind")
#: One colour per family of :data:`benchmarks.models.FAMILIES`, keyed by family.
FAMILY_COLORS: dict[str, tuple[float, float, float]] = dict(zip(FAMILIES, _PALETTE, strict=False))
_DPI = 100
_PERCENT = PercentFormatter(xmax=1.0, decimals=0)


def _legend_label(family: str) -> str:
    """A family as a legend names it: ``Backbone from scratch``."""
    return family_label(family, capitalize=True)


def _family_palette(labels: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """A colour for every legend label: each family its own, anything else the next unused colour (or grey)."""
    palette = {_legend_label(f): color for f, color in FAMILY_COLORS.items()}
    extra = iter(_PALETTE[len(FAMILY_COLORS) :])
    for label in labels:
        if label not in palette:
            palette[label] = next(extra, (0.5, 0.5, 0.5))
    return palette


def _with_family_label(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(family_label=frame["family"].map(_legend_label))


def _family_order(frame: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(frame["family_label"]))
    known = [_legend_label(f) for f in FAMILIES if _legend_label(f) in present]
    return known + sorted(set(present) - set(known))


def _save(fig: plt.Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return path


def _style() -> None:
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95)


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def family_comparison_plot(trials: pd.DataFrame, datasets: Sequence[str], path: str | os.PathLike) -> Path | None:
    """Validation accuracy of every finished searched trial, per dataset and family; the best of each marked."""
    data = _with_family_label(tables.finished(tables.searched(trials)))
    data = data[data["dataset"].isin(datasets)]
    if data.empty:
        return None
    _style()
    order = [d for d in datasets if d in set(data["dataset"])]
    hue_order = _family_order(data)
    palette = _family_palette(hue_order)
    height = max(2.6, 0.9 * len(order) * len(hue_order) + 1.2)
    fig, ax = plt.subplots(figsize=(10, height))
    sns.stripplot(
        data=data, y="dataset", x="val_accuracy", hue="family_label", order=order, hue_order=hue_order,
        palette=palette, dodge=True, jitter=0.15, alpha=0.55, size=6, ax=ax,
    )  # fmt: skip
    best = data.sort_values("val_accuracy", ascending=False).groupby(["dataset", "family_label"]).head(1)
    sns.stripplot(
        data=best, y="dataset", x="val_accuracy", hue="family_label", order=order, hue_order=hue_order,
        palette=palette, dodge=True, jitter=False, marker="D", size=11, edgecolor="black", linewidth=1.2,
        legend=False, ax=ax,
    )  # fmt: skip
    ax.xaxis.set_major_formatter(_PERCENT)
    ax.set_xlabel("validation accuracy (◆ = best of the family)")
    ax.set_ylabel("")
    ax.set_yticks(range(len(order)), [_short(d, 34) for d in order])
    ax.set_title(f"{' vs '.join(hue_order)}: every finished search trial per dataset")
    ax.legend(title=None, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return _save(fig, path)


def search_progress_plot(trials: pd.DataFrame, dataset: str, path: str | os.PathLike) -> Path | None:
    """Validation accuracy of each trial in the order it finished, with a best-so-far line per run."""
    progress = tables.search_progress(trials, dataset)
    points = _with_family_label(progress[progress["val_accuracy"].notna() & (progress["status"] != "failed")])
    if points.empty:
        return None
    _style()
    fig, ax = plt.subplots(figsize=(10, 4.2))
    hue_order = _family_order(points)
    points = points.rename(columns={"family_label": "Family", "status": "Status"})
    statuses = ["completed", "stopped", *sorted(set(points["Status"]) - {"completed", "stopped"})]
    statuses = [s for s in statuses if s in set(points["Status"])]
    sns.scatterplot(
        data=points, x="trial_number", y="val_accuracy", hue="Family", hue_order=hue_order,
        palette=_family_palette(hue_order), style="Status", style_order=statuses,
        s=55, alpha=0.8, ax=ax,
    )  # fmt: skip
    runs = list(dict.fromkeys(progress["run_name"]))
    for index, run in enumerate(runs):
        line = progress[(progress["run_name"] == run) & progress["best_so_far"].notna()]
        if line.empty:
            continue
        label = "best so far" if len(runs) == 1 else f"best so far: {_short(run)}"
        ax.step(line["trial_number"], line["best_so_far"], where="post", color=str(0.15 + 0.25 * (index % 3)),
                linestyle=["-", "--", ":"][index % 3], linewidth=1.6, label=label)  # fmt: skip
    ax.yaxis.set_major_formatter(_PERCENT)
    ax.set_xlabel("trial (in the order stored, per run)")
    ax.set_ylabel("validation accuracy")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlim(0.5, progress["trial_number"].max() + 0.5)
    failed = int((progress["status"] == "failed").sum())
    note = f" ({failed} failed not shown)" if failed else ""
    ax.set_title(f"Search progress on {_short(dataset, 40)}{note}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    return _save(fig, path)


def learning_curves_plot(trials: pd.DataFrame, dataset: str, path: str | os.PathLike, top: int = 5) -> Path | None:
    """Per-epoch validation accuracy (solid) and training accuracy (dashed) of the ``top`` trials; loss beside."""
    best = tables.ranked(tables.searched(trials[trials["dataset"] == dataset]))
    best = best[best["history_list"].map(len) > 0].head(top)
    if best.empty:
        return None
    _style()
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(13, 4.4))
    colors = sns.color_palette("colorblind", len(best))
    for rank, ((_, trial), color) in enumerate(zip(best.iterrows(), colors, strict=True), start=1):
        history = pd.DataFrame(trial["history_list"])
        x = np.arange(1, len(history) + 1)
        name = f"{rank}. {trial['backbone']} ({_short(str(trial['trial_id']), 16)})"
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
    acc_ax.yaxis.set_major_formatter(_PERCENT)
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Accuracy (solid: validation, dashed: training)")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss (solid: validation, dashed: training)")
    epochs = max(len(h) for h in best["history_list"])
    for ax in (acc_ax, loss_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlim(0.5, epochs + 0.5)
    handles, labels = acc_ax.get_legend_handles_labels()
    loss_ax.legend(handles, labels, fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    fig.suptitle(f"Learning curves of the top {len(best)} trial(s) on {_short(dataset, 40)} (dotted: phase change)")
    fig.tight_layout()
    return _save(fig, path)


def _hyperparameters(frame: pd.DataFrame) -> list[str]:
    names = [c for c in HYPERPARAMETER_COLUMNS if c in frame and frame[c].notna().any()]
    if frame["backbone"].nunique() > 1:
        names.insert(0, "backbone")
    return names


def hyperparameter_plot(trials: pd.DataFrame, dataset: str, path: str | os.PathLike) -> Path | None:
    """Each hyperparameter against validation accuracy (learning rate on a log axis), colored by family."""
    data = _with_family_label(tables.finished(tables.searched(trials[trials["dataset"] == dataset])))
    if data.empty:
        return None
    names = _hyperparameters(data)
    if not names:
        return None
    _style()
    columns = 3
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(13, 3.3 * rows), squeeze=False, sharey=True)
    hue_order = _family_order(data)
    palette = _family_palette(hue_order)
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
                order = [_category(v) for v in sorted(values.unique())]
            else:
                order = sorted(values.astype(str).unique())
            subset = subset.assign(**{name: values.map(_category) if numeric else values.astype(str)})
            present = [h for h in hue_order if (subset["family_label"] == h).any()]
            dodge = len(present) > 1 and name != "backbone"
            sns.stripplot(data=subset, x=name, y="val_accuracy", hue="family_label", hue_order=present,
                          order=order, palette=palette, dodge=dodge, jitter=0.2, size=5,
                          alpha=0.75, legend=False, ax=ax)  # fmt: skip
            if sum(len(label) for label in order) > 28:
                ax.tick_params(axis="x", labelrotation=25)
        ax.set_xlabel(name + (" (log scale)" if log and continuous else ""))
        ax.set_ylabel("validation accuracy")
        ax.yaxis.set_major_formatter(_PERCENT)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=palette[h], label=h) for h in hue_order]
    fig.legend(handles=handles, loc="upper right", ncols=len(handles), frameon=False)
    fig.suptitle(f"Hyperparameters against validation accuracy on {_short(dataset, 40)}", x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return _save(fig, path)


def _si_count(value: float) -> str:
    return fmt_params(value).replace(".00", "").replace(".0", "")


def _category(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return f"{int(number)}" if number.is_integer() else f"{number:g}"


def importance_plot(importances: Sequence[Importance], dataset: str, path: str | os.PathLike) -> Path | None:
    """One horizontal bar chart of fANOVA importances per group that has them."""
    groups = [imp for imp in importances if imp.importances]
    if not groups:
        return None
    _style()
    height = max(2.4, 0.38 * max(len(g.importances) for g in groups) + 1.3)
    fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups) + 1, height), squeeze=False)
    for ax, group in zip(axes.flat, groups, strict=True):
        frame = pd.DataFrame({"parameter": list(group.importances), "importance": list(group.importances.values())})
        color = FAMILY_COLORS.get(group.group, (0.45, 0.45, 0.45))
        sns.barplot(data=frame, y="parameter", x="importance", color=color, ax=ax)
        ax.set_title(f"{group.label}\n({group.trials} completed trials)", fontsize="medium")
        ax.set_xlabel("importance (fANOVA, sums to 1)")
        ax.set_ylabel("")
        ax.set_xlim(0, max(1.0, frame["importance"].max()) * 1.02)
    fig.suptitle(f"Hyperparameter importance on {_short(dataset, 40)}")
    fig.tight_layout()
    return _save(fig, path)


def confusion_matrix_plot(
    matrix: Sequence[Sequence[float]], class_names: Sequence[str] | None, title: str, path: str | os.PathLike
) -> Path | None:
    """A heat map of the confusion matrix (rows: true class), colored by row share, annotated with counts."""
    counts = np.asarray(matrix, dtype=float)
    if counts.ndim != 2 or counts.size == 0 or counts.shape[0] != counts.shape[1]:
        return None
    n = counts.shape[0]
    names = [str(c) for c in class_names] if class_names and len(class_names) == n else [str(i) for i in range(n)]
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    _style()
    side = min(12.0, max(5.0, 0.45 * n + 3))
    fig, ax = plt.subplots(figsize=(side + 1.5, side))
    labels = n <= 40
    sns.heatmap(
        share, annot=counts.astype(int) if n <= 20 else False, fmt="d", cmap="Blues", vmin=0, vmax=1,
        xticklabels=[_short(x, 18) for x in names] if labels else False,
        yticklabels=[_short(x, 18) for x in names] if labels else False,
        cbar_kws={"label": "share of the true class", "format": FuncFormatter(lambda v, _: f"{v:.0%}")},
        linewidths=0.5 if n <= 20 else 0, linecolor="white", square=True, ax=ax,
    )  # fmt: skip
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if labels:
        ax.tick_params(axis="x", labelrotation=45 if n > 6 else 0)
        ax.tick_params(axis="y", labelrotation=0)
    return _save(fig, path)


def cost_plot(trials: pd.DataFrame, dataset: str, path: str | os.PathLike) -> Path | None:
    """Validation accuracy against training time and against parameter count (log axis), by backbone."""
    data = _with_family_label(tables.finished(tables.searched(trials[trials["dataset"] == dataset])))
    data = data.rename(columns={"family_label": "Family", "backbone": "Backbone"})
    panels = [("wall_seconds", "training time (s)"), ("params", "parameters (log scale)")]
    panels = [(column, label) for column, label in panels if data[column].notna().any()]
    if data.empty or not panels:
        return None
    _style()
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.4), squeeze=False, sharey=True)
    backbones = sorted(data["Backbone"].unique())
    palette = dict(zip(backbones, sns.color_palette("colorblind", len(backbones)), strict=True))
    for index, (ax, (column, label)) in enumerate(zip(axes.flat, panels, strict=True)):
        subset = data[data[column].notna()]
        sns.scatterplot(
            data=subset, x=column, y="val_accuracy", hue="Backbone", hue_order=backbones, palette=palette,
            style="Family", style_order=_family_order(data.rename(columns={"Family": "family_label"})), s=60, alpha=0.8,
            legend=index == len(panels) - 1, ax=ax,
        )  # fmt: skip
        if column == "params" and (subset[column] > 0).all():
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _si_count(v)))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(label)
        ax.set_ylabel("validation accuracy")
        ax.yaxis.set_major_formatter(_PERCENT)
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
    fig.suptitle(f"Accuracy against cost on {_short(dataset, 40)}")
    fig.tight_layout()
    return _save(fig, path)
