"""Section "Best model on the test split" of a dataset: its test metrics, confusion matrix and per-class scores."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

from reports import plots
from reports.document import Paragraph, Section
from reports.formatting import fmt_count, fmt_score
from reports.sections.base import Column, Context, figure, format_table, plural
from reports.trials import of_dataset, ranked

__all__ = ["PLOTS", "best_model", "build", "confusion_matrix_plot", "per_class_table", "test_metrics_table"]

#: The plot this section writes, per dataset.
PLOTS = ("confusion-matrix",)

_TEST_METRICS = (
    ("accuracy", "Accuracy"),
    ("top5_accuracy", "Top-5 accuracy"),
    ("precision_macro", "Macro precision"),
    ("recall_macro", "Macro recall"),
    ("f1_macro", "Macro F1"),
    ("precision_weighted", "Weighted precision"),
    ("recall_weighted", "Weighted recall"),
    ("f1_weighted", "Weighted F1"),
)


def best_model(trials: pd.DataFrame, runs: pd.DataFrame, dataset: str) -> tuple[pd.Series, pd.Series] | None:
    """The test-evaluated trial of ``dataset`` with the best validation accuracy, and its run.

    Only trials marked ``is_best`` (never a finalist's repeat) whose run stored ``test_metrics`` qualify; None
    when there is none.
    """
    with_metrics = runs[runs["test_metrics_dict"].map(lambda m: isinstance(m, dict))] if len(runs) else runs
    trials = of_dataset(trials, dataset)
    candidates = ranked(trials[trials["role"] != "repeat"])
    candidates = candidates[candidates["is_best"] & candidates["run_id"].isin(set(with_metrics["run_id"]))]
    if candidates.empty:
        return None
    trial = candidates.iloc[0]
    run = with_metrics[with_metrics["run_id"] == trial["run_id"]].iloc[0]
    return trial, run


def test_metrics_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """The scalar test metrics of a run (``runs.test_metrics``) as rows of metric, value."""
    rows = [
        {"metric": label, "value": float(metrics[key])} for key, label in _TEST_METRICS if metrics.get(key) is not None
    ]
    return pd.DataFrame(rows, columns=["metric", "value"])


test_metrics_table.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def per_class_table(metrics: dict[str, Any], class_names: list[str] | None = None) -> pd.DataFrame:
    """Precision, recall, F1 and support per class from ``test_metrics["per_class"]``, in class order."""
    report = metrics.get("per_class") or {}
    names = list(class_names or [k for k in report if k not in ("accuracy", "macro avg", "weighted avg", "micro avg")])
    rows = []
    for name in names:
        entry = report.get(str(name))
        if isinstance(entry, dict):
            rows.append(
                {
                    "class": str(name),
                    "precision": entry.get("precision"),
                    "recall": entry.get("recall"),
                    "f1": entry.get("f1-score"),
                    "support": entry.get("support"),
                }
            )
    return pd.DataFrame(rows, columns=["class", "precision", "recall", "f1", "support"])


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
    plots.style()
    side = min(12.0, max(5.0, 0.45 * n + 3))
    fig, ax = plt.subplots(figsize=(side + 1.5, side))
    labels = n <= 40
    sns.heatmap(
        share, annot=counts.astype(int) if n <= 20 else False, fmt="d", cmap="Blues", vmin=0, vmax=1,
        xticklabels=[plots.short(x, 18) for x in names] if labels else False,
        yticklabels=[plots.short(x, 18) for x in names] if labels else False,
        cbar_kws={"label": "share of the true class", "format": FuncFormatter(lambda v, _: f"{v:.0%}")},
        linewidths=0.5 if n <= 20 else 0, linecolor="white", square=True, ax=ax,
    )  # fmt: skip
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if labels:
        ax.tick_params(axis="x", labelrotation=45 if n > 6 else 0)
        ax.tick_params(axis="y", labelrotation=0)
    return plots.save(fig, path)


def build(context: Context) -> Section:
    """The best test-evaluated model's metrics, confusion matrix and per-class table, or why there are none."""
    data, dataset = context.data, context.dataset
    section = context.subsection("Best model on the test split", "test")
    found = best_model(data.trials, data.runs, dataset)
    if found is None:
        return section.add(
            Paragraph("No trial of this dataset was evaluated on the test split (no run stored test metrics).", "empty")
        )
    trial, run = found
    metrics = run["test_metrics_dict"]
    examples = metrics.get("examples")
    what = f"{trial['label']} ({trial['backbone']}, validation accuracy {fmt_score(trial['val_accuracy'])})"
    section.add(
        Paragraph(
            f"The test-evaluated trial with the best validation accuracy is {what}"
            + (f"; the test split has {fmt_count(examples)} examples." if examples is not None else ".")
        ),
        format_table(
            test_metrics_table(metrics),
            [Column("metric", "Metric"), Column("value", "Value", "score")],
            caption=f"Test metrics of {trial['label']}",
            css_class="test-metrics",
        ),
    )
    matrix = metrics.get("confusion_matrix")
    class_names = run["class_names_list"]
    path = None
    if matrix:
        title = f"Confusion matrix of {trial['label']} on {dataset}"
        path = confusion_matrix_plot(matrix, class_names, title, context.plot_path("confusion-matrix"))
    if path is None:
        section.add(Paragraph("No confusion matrix: the run did not store one.", "empty"))
    else:
        section.add(
            figure(
                path,
                f"Confusion matrix of the best model on {dataset}",
                "Rows: true class; numbers are test examples, colour is the share of the true class.",
            )
        )
    per_class = per_class_table(metrics, class_names)
    if not per_class.empty:
        section.add(
            format_table(
                per_class,
                [
                    Column("class", "Class"),
                    Column("precision", "Precision", "score"),
                    Column("recall", "Recall", "score"),
                    Column("f1", "F1", "score"),
                    Column("support", "Test examples", "count"),
                ],
                caption=f"Per-class test metrics ({plural(len(per_class), 'class', 'classes')})",
                css_class="per-class",
                collapsed=len(per_class) > 12,
            )
        )
    return section
