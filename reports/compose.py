"""Putting the report together: tables formatted, plots drawn, and a plain sentence wherever there is no data."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reports import plots, tables
from reports.data import FAMILIES, HYPERPARAMETER_COLUMNS, ReportData
from reports.document import Document, Figure, Note, Paragraph, Section, Table
from reports.formatting import (
    NUMERIC_KINDS,
    family_label,
    fmt_count,
    fmt_datetime,
    fmt_score,
    fmt_score_diff,
    formatter,
    is_missing,
)
from reports.importance import MIN_TRIALS, importance_by_family

__all__ = ["Column", "Report", "compose", "format_table", "slugify"]

PLOTS_DIR = "plots"

TEST_FOOTNOTE = (
    "* Only the best trial of each run (by validation accuracy) was evaluated on the test split, so test "
    "metrics exist for those trials only; elsewhere they show “—” (not evaluated). Best models are picked "
    "by validation accuracy, never by test accuracy."
)
STOPPED_NOTE = (
    "Status “stopped”: ended early by the ASHA scheduler; its validation accuracy comes from fewer epochs. "
    "Test F1 is macro-averaged; Time is training time; LR is the learning rate; Dense is the head's dense "
    "units; Unfrozen is the number of backbone layers fine-tuned; Depth and Width size the custom CNN."
)


@dataclass(frozen=True)
class Column:
    """A table column: the DataFrame column it shows, its header and the kind of formatting (see reports.formatting)."""

    key: str
    label: str
    kind: str = "text"


@dataclass
class Report:
    """A composed report: the document, the plot files written, and what it covers."""

    document: Document
    plots: list[Path] = field(default_factory=list)
    trials: int = 0
    runs: int = 0
    datasets: int = 0


_HYPERPARAMETER_LABELS = {
    "learning_rate": ("LR", "lr"),
    "batch_size": ("Batch", "int"),
    "optimizer": ("Optimizer", "text"),
    "dropout": ("Dropout", "float"),
    "dense_units": ("Dense", "int"),
    "augmentation": ("Augment.", "text"),
    "unfrozen_layers": ("Unfrozen", "int"),
    "depth": ("Depth", "int"),
    "width": ("Width", "int"),
}


def slugify(name: str, limit: int = 40) -> str:
    """A file- and anchor-safe version of ``name``."""
    return re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")[:limit].strip("-") or "dataset"


def format_table(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    caption: str | None = None,
    css_class: str = "",
    attrs: dict[str, str] | None = None,
    collapsed: bool = False,
) -> Table:
    """A document table from ``frame``: one row per DataFrame row, cells formatted by column kind."""
    rows = [[formatter(c.kind)(record.get(c.key)) for c in columns] for record in frame.to_dict("records")]
    return Table(
        columns=[c.label for c in columns],
        rows=rows,
        caption=caption,
        numeric=[c.kind in NUMERIC_KINDS for c in columns],
        css_class=css_class,
        attrs=dict(attrs or {}),
        collapsed=collapsed,
    )


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _status_counts(trials: pd.DataFrame) -> str:
    counts = trials["status"].value_counts()
    parts = [f"{int(counts.get(s, 0))} {s}" for s in ("completed", "stopped", "failed") if counts.get(s, 0)]
    other = [f"{int(n)} {s}" for s, n in counts.items() if s not in ("completed", "stopped", "failed")]
    return ", ".join(parts + other) or "none"


# --------------------------------------------------------------------------- summary across datasets


def _comparison_section(data: ReportData, out_dir: Path, written: list[Path]) -> Section:
    section = Section("Custom CNN vs transfer learning", "summary")
    comparison = tables.family_comparison(data.trials, data.datasets)
    difference = tables.family_difference(comparison)
    rows: list[list[str]] = []
    starts: set[int] = set()
    verdicts: list[Paragraph] = []
    for dataset in data.datasets:
        cnn, transfer = comparison.loc[(dataset, "custom_cnn")], comparison.loc[(dataset, "transfer")]
        diff = difference.loc[dataset]
        starts.add(len(rows))

        def model(entry: pd.Series) -> str:
            if not entry["present"]:
                return "no finished trial"
            # --weights none trains the backbone from scratch: say so, it is not transfer learning then.
            return f"{entry['label']} ({entry['backbone']}{', from scratch' if entry['from_scratch'] else ''})"

        rows.append([dataset, "Best trial (by validation accuracy)", model(cnn), model(transfer), ""])
        rows.append(
            ["", "Finished trials", fmt_count(cnn["finished_trials"]), fmt_count(transfer["finished_trials"]), ""]
        )
        for column, label, kind in tables.SUMMARY_METRICS:
            star = "*" if column.startswith("test_") else ""
            rows.append(
                [
                    "",
                    label + star,
                    formatter(kind)(cnn[column]),
                    formatter(kind)(transfer[column]),
                    formatter(f"{kind}_diff")(diff[column]),
                ]
            )
        verdicts.append(Paragraph(_verdict(dataset, cnn, transfer, diff, data.trials)))
    section.add(
        Paragraph(
            "For each dataset, the searched trial with the best validation accuracy in each family, side by side. "
            "Difference = transfer learning minus custom CNN."
        ),
        Table(
            columns=["Dataset", "Measure", "Custom CNN", "Transfer learning", "Difference"],
            rows=rows,
            caption="Best custom CNN and best transfer-learning model per dataset",
            numeric=[False, False, True, True, True],
            css_class="comparison",
            group_starts=starts,
        ),
        Note(TEST_FOOTNOTE),
        *verdicts,
    )
    path = plots.family_comparison_plot(data.trials, data.datasets, out_dir / PLOTS_DIR / "family-comparison.png")
    if path is None:
        section.add(Paragraph("No plot of custom CNN vs transfer learning: no trial finished.", "empty"))
    else:
        written.append(path)
        section.add(
            Figure(
                f"{PLOTS_DIR}/{path.name}",
                "Validation accuracy of every finished trial by dataset and family",
                "Each dot is a finished trial (reference recipes excluded); diamonds mark the best of each family.",
            )
        )
    return section


def _verdict(dataset: str, cnn: pd.Series, transfer: pd.Series, diff: pd.Series, trials: pd.DataFrame) -> str:
    if transfer["present"] and transfer["from_scratch"]:
        transfer = transfer.copy()
        transfer["backbone"] = f"{transfer['backbone']} trained from scratch"
    if cnn["present"] and transfer["present"]:
        delta = float(diff["val_accuracy"])
        test = ""
        if not is_missing(diff["test_accuracy"]):
            test = f"; on the test split, transfer minus custom CNN is {fmt_score_diff(diff['test_accuracy'])}"
        if delta > 0:
            return (
                f"{dataset}: transfer learning ({transfer['backbone']}) beats the custom CNN by "
                f"{fmt_score_diff(delta).lstrip('+')} validation accuracy{test}."
            )
        if delta < 0:
            return (
                f"{dataset}: the custom CNN beats transfer learning ({transfer['backbone']}) by "
                f"{fmt_score_diff(-delta).lstrip('+')} validation accuracy{test}."
            )
        tie = fmt_score(cnn["val_accuracy"])
        return f"{dataset}: custom CNN and transfer learning tie on validation accuracy ({tie})."
    if cnn["present"] or transfer["present"]:
        only, other = ("custom CNN", "transfer-learning") if cnn["present"] else ("transfer-learning", "custom CNN")
        return f"{dataset}: only {only} trials finished (no {other} trial did), so there is no comparison."
    failed = int(((trials["dataset"] == dataset) & (trials["status"] == "failed")).sum())
    return f"{dataset}: no trial finished ({_plural(failed, 'failed trial')}), so there is no comparison."


def _backbone_section(data: ReportData) -> Section:
    section = Section("Backbones across datasets", "backbones")
    summary = tables.backbone_summary(data.trials)
    if summary.empty:
        return section.add(Paragraph("No searched trials, so no backbone summary.", "empty"))
    summary = summary.assign(family=summary["family"].map(family_label))
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
                Column("mean_val_accuracy", "Mean val. accuracy", "score"),
                Column("median_params", "Median parameters", "params"),
                Column("median_wall_seconds", "Median training time", "seconds"),
            ],
            caption="Every backbone over all datasets (searched trials; means and medians over finished trials)",
            css_class="backbones",
        )
    )
    pivot = tables.backbone_by_dataset(data.trials, data.datasets)
    if len(data.datasets) > 1:
        frame = pivot.reset_index()
        columns = [Column("backbone", "Backbone")] + [Column(d, d, "score") for d in data.datasets]
        section.add(
            format_table(
                frame,
                columns,
                caption="Best validation accuracy per backbone and dataset (— : not run or none finished)",
            )
        )
    return section


# --------------------------------------------------------------------------- one dataset


def _trial_columns(frame: pd.DataFrame, *, with_run: bool, leading: Sequence[Column] = ()) -> list[Column]:
    columns = list(leading)
    columns.append(Column("run_name", "Run") if with_run else Column("trial_id", "Trial"))
    if with_run:
        columns.append(Column("trial_id", "Trial"))
    columns += [
        Column("backbone", "Backbone"),
        Column("status", "Status"),
        Column("val_accuracy", "Val. acc.", "score"),
        Column("test_accuracy", "Test acc.*", "score"),
        Column("test_f1_macro", "Test F1*", "score"),
        Column("epochs", "Epochs", "int"),
        Column("params", "Params", "params"),
        Column("wall_seconds", "Time", "seconds"),
    ]
    for name in HYPERPARAMETER_COLUMNS:
        if name in frame and frame[name].notna().any():
            label, kind = _HYPERPARAMETER_LABELS.get(name, (name, "text"))
            columns.append(Column(name, label, kind))
    return columns


def _leaderboard(data: ReportData, dataset: str, top: int, section: Section) -> None:
    of_dataset = data.trials[data.trials["dataset"] == dataset]
    searched_trials = tables.searched(of_dataset)
    board = tables.leaderboard(data.trials, dataset, top=top)
    finished_count = len(tables.finished(searched_trials))
    sub = Section("Leaderboard", f"{section.anchor}-leaderboard", level=3)
    section.add(sub)
    if board.empty:
        failed = int((searched_trials["status"] == "failed").sum())
        if searched_trials.empty:
            reason = "this dataset has only reference-recipe trials (see below)"
        else:
            reason = (
                f"all {_plural(len(searched_trials), 'searched trial')} failed"
                if failed == len(searched_trials)
                else "no searched trial finished"
            )
        sub.add(Paragraph(f"No leaderboard: {reason}.", "empty"))
        return
    with_run = of_dataset["run_id"].nunique() > 1
    columns = _trial_columns(board, with_run=with_run, leading=[Column("rank", "#", "int")])
    caption = (
        f"Top {len(board)} of {_plural(finished_count, 'finished searched trial')} on {dataset}, by validation accuracy"
    )
    sub.add(
        format_table(
            board,
            columns,
            caption=caption,
            css_class="leaderboard",
            attrs={"dataset": dataset, "rows": str(len(board)), "finished": str(finished_count)},
        ),
        Note(TEST_FOOTNOTE),
        Note(STOPPED_NOTE),
    )


REFERENCE_TEST_NOTE = (
    "Every trial of a reference recipe is evaluated on the test split: its configuration is fixed, nothing was selected."
)
PUBLISHED_NOTE = (
    "Published precision, recall and F1 are compared with our macro averages; train accuracy is from the epoch of "
    "best validation accuracy; Searched best is the dataset's best searched trial by validation accuracy."
)


def _references(data: ReportData, dataset: str, section: Section) -> None:
    frame = tables.reference_comparison(data.trials, dataset)
    if frame.empty:
        return
    frame = frame.assign(role=frame["role"].str.replace("custom_cnn", "custom CNN"))
    columns = _trial_columns(frame, with_run=True, leading=[Column("role", "Role")])
    sub = Section("Reference recipes", f"{section.anchor}-references", level=3)
    section.add(sub)
    sub.add(
        format_table(
            frame,
            columns,
            caption=f"Fixed reference recipes next to the searched best on {dataset}",
            css_class="references",
        ),
        Note(TEST_FOOTNOTE),
        Note(REFERENCE_TEST_NOTE),
    )
    figures = tables.published_comparison(data.trials, data.runs, dataset)
    if figures.empty:
        return
    variant = figures["variant"].map(lambda v: f" ({v})" if isinstance(v, str) and v else "")
    figures = figures.assign(recipe=figures["label"] + variant)
    sub.add(
        format_table(
            figures,
            [
                Column("recipe", "Reference trial"),
                Column("space", "Recipe"),
                Column("metric_label", "Figure"),
                Column("published", "Published", "score"),
                Column("reproduced", "Reproduced", "score"),
                Column("searched", "Searched best", "score"),
            ],
            caption=f"Published, reproduced and searched figures on {dataset}",
            css_class="published",
        ),
        Note(PUBLISHED_NOTE),
    )
    for space, note in figures[["space", "note"]].dropna().drop_duplicates().itertuples(index=False):
        sub.add(Note(f"{space}: {note}."))


def _best_model(data: ReportData, dataset: str, section: Section, plot_path: Path, written: list[Path]) -> None:
    sub = Section("Best model on the test split", f"{section.anchor}-test", level=3)
    section.add(sub)
    found = tables.best_model(data.trials, data.runs, dataset)
    if found is None:
        sub.add(
            Paragraph("No trial of this dataset was evaluated on the test split (no run stored test metrics).", "empty")
        )
        return
    trial, run = found
    metrics = run["test_metrics_dict"]
    examples = metrics.get("examples")
    what = f"{trial['label']} ({trial['backbone']}, validation accuracy {fmt_score(trial['val_accuracy'])})"
    metric_table = tables.test_metrics_table(metrics)
    sub.add(
        Paragraph(
            f"The test-evaluated trial with the best validation accuracy is {what}"
            + (f"; the test split has {fmt_count(examples)} examples." if examples is not None else ".")
        ),
        format_table(
            metric_table,
            [Column("metric", "Metric"), Column("value", "Value", "score")],
            caption=f"Test metrics of {trial['label']}",
            css_class="test-metrics",
        ),
    )
    matrix = metrics.get("confusion_matrix")
    class_names = run["class_names_list"]
    path = None
    if matrix:
        path = plots.confusion_matrix_plot(
            matrix, class_names, f"Confusion matrix of {trial['label']} on {dataset}", plot_path
        )
    if path is None:
        sub.add(Paragraph("No confusion matrix: the run did not store one.", "empty"))
    else:
        written.append(path)
        sub.add(
            Figure(
                f"{PLOTS_DIR}/{path.name}",
                f"Confusion matrix of the best model on {dataset}",
                "Rows: true class; numbers are test examples, colour is the share of the true class.",
            )
        )
    per_class = tables.per_class_table(metrics, class_names)
    if not per_class.empty:
        sub.add(
            format_table(
                per_class,
                [
                    Column("class", "Class"),
                    Column("precision", "Precision", "score"),
                    Column("recall", "Recall", "score"),
                    Column("f1", "F1", "score"),
                    Column("support", "Test examples", "count"),
                ],
                caption=f"Per-class test metrics ({_plural(len(per_class), 'class', 'classes')})",
                css_class="per-class",
                collapsed=len(per_class) > 12,
            )
        )


def _importance(data: ReportData, dataset: str, section: Section, plot_path: Path, written: list[Path]) -> None:
    sub = Section("Hyperparameter importance", f"{section.anchor}-importance", level=3)
    section.add(sub)
    pool = tables.searched(data.trials[data.trials["dataset"] == dataset])
    if pool.empty:
        sub.add(Paragraph("No searched trials, so no hyperparameter importance.", "empty"))
        return
    if not ((pool["status"] == "completed") & pool["val_accuracy"].notna()).any():
        sub.add(Paragraph("No hyperparameter importance: no searched trial of this dataset completed.", "empty"))
        return
    results = importance_by_family(pool)
    sub.add(
        Paragraph(
            "fANOVA importance (Optuna) of each hyperparameter for validation accuracy, computed over the completed "
            f"trials of each family (trials stopped early are left out, as Optuna does; at least {MIN_TRIALS} needed). "
            "Importances of a group sum to 1."
        )
    )
    computed = [r for r in results if r.importances]
    for result in results:
        if not result.importances:
            sub.add(Paragraph(f"{result.label}: {result.note}.", "empty"))
    if not computed:
        return
    names = list(
        dict.fromkeys(name for r in computed for name in sorted(r.importances, key=r.importances.get, reverse=True))
    )
    frame = pd.DataFrame({"parameter": names, **{r.group: [r.importances.get(n) for n in names] for r in computed}})
    sub.add(
        format_table(
            frame,
            [Column("parameter", "Hyperparameter")]
            + [Column(r.group, f"{r.label} ({r.trials})", "float3") for r in computed],
            caption="Hyperparameter importance (— : not a hyperparameter of every trial in the group, or constant)",
            css_class="importance",
        )
    )
    path = plots.importance_plot(results, dataset, plot_path)
    if path is not None:
        written.append(path)
        sub.add(Figure(f"{PLOTS_DIR}/{path.name}", f"Hyperparameter importance on {dataset}"))


def _plot_section(
    section: Section,
    title: str,
    anchor: str,
    path: Path | None,
    written: list[Path],
    alt: str,
    caption: str,
    empty: str,
) -> None:
    sub = Section(title, f"{section.anchor}-{anchor}", level=3)
    section.add(sub)
    if path is None:
        sub.add(Paragraph(empty, "empty"))
    else:
        written.append(path)
        sub.add(Figure(f"{PLOTS_DIR}/{path.name}", alt, caption))


def _dataset_section(
    data: ReportData, dataset: str, index: int, out_dir: Path, top: int, written: list[Path]
) -> Section:
    slug = slugify(dataset)
    anchor = f"dataset-{index}-{slug}"
    section = Section(f"Dataset: {dataset}", anchor)
    trials = data.trials[data.trials["dataset"] == dataset]
    runs = list(dict.fromkeys(trials["run_name"]))
    references = int(trials["is_reference"].sum())
    section.add(
        Paragraph(
            f"{_plural(len(trials), 'trial')} ({_status_counts(trials)}) from {_plural(len(runs), 'run')}: "
            f"{', '.join(runs)}; trials ran from {fmt_datetime(trials['started_at'].min())} to "
            f"{fmt_datetime(trials['finished_at'].max())} UTC"
            + (f"; {_plural(references, 'reference-recipe trial')}." if references else ".")
        )
    )
    _leaderboard(data, dataset, top, section)
    _references(data, dataset, section)
    plot = out_dir / PLOTS_DIR
    prefix = f"{index:02d}-{slug}"
    _best_model(data, dataset, section, plot / f"{prefix}-confusion-matrix.png", written)
    no_finished = "No plot: no searched trial of this dataset finished."
    progress = plots.search_progress_plot(data.trials, dataset, plot / f"{prefix}-progress.png")
    _plot_section(
        section, "Search progress", "progress", progress, written, f"Search progress on {dataset}",
        "Validation accuracy of each trial in the order it was stored, with the best so far per run.", no_finished,
    )  # fmt: skip
    curves = plots.learning_curves_plot(data.trials, dataset, plot / f"{prefix}-learning-curves.png")
    _plot_section(
        section, "Learning curves", "curves", curves, written, f"Learning curves of the top trials on {dataset}",
        "Per-epoch accuracy and loss of the best trials by validation accuracy (all training phases in sequence).",
        "No learning curves: no finished searched trial stored a per-epoch history.",
    )  # fmt: skip
    _plot_section(
        section, "Hyperparameters against validation accuracy", "hyperparameters",
        plots.hyperparameter_plot(data.trials, dataset, plot / f"{prefix}-hyperparameters.png"),
        written, f"Hyperparameters against validation accuracy on {dataset}",
        "Each finished searched trial; the learning rate is on a log scale.", no_finished,
    )  # fmt: skip
    _importance(data, dataset, section, plot / f"{prefix}-importance.png", written)
    _plot_section(
        section, "Accuracy against cost", "cost", plots.cost_plot(data.trials, dataset, plot / f"{prefix}-cost.png"),
        written, f"Accuracy against training time and parameters on {dataset}",
        "Each finished searched trial: validation accuracy against training time and parameter count.", no_finished,
    )  # fmt: skip
    failed = tables.failed_trials(data.trials, dataset)
    if not failed.empty:
        section.add(
            Section("Failed trials", f"{anchor}-failed", level=3).add(
                format_table(
                    failed,
                    [
                        Column("run_name", "Run"),
                        Column("trial_id", "Trial"),
                        Column("backbone", "Backbone"),
                        Column("error", "Error"),
                        Column("started_at", "Started (UTC)", "datetime"),
                    ],
                    caption=f"{_plural(len(failed), 'failed trial')} on {dataset}",
                    css_class="failed",
                )
            )
        )
    return section


# --------------------------------------------------------------------------- runs and the whole document


def _runs_section(data: ReportData) -> Section:
    section = Section("Runs covered", "runs")
    frame = tables.run_summary(data.runs, data.trials)
    return section.add(
        format_table(
            frame,
            [
                Column("run_name", "Run"),
                Column("run_id", "Run ID"),
                Column("dataset", "Dataset"),
                Column("space", "Space"),
                Column("budget", "Budget"),
                Column("weights", "Weights"),
                Column("image_size", "Image size", "count"),
                Column("sampler", "Sampler"),
                Column("scheduler", "Scheduler"),
                Column("status", "Status"),
                Column("stored", "Trials stored", "count"),
                Column("stored_failed", "Failed", "count"),
                Column("started_at", "Started (UTC)", "datetime"),
                Column("finished_at", "Finished (UTC)", "datetime"),
            ],
            caption=f"{_plural(len(frame), 'run')} on the datasets in this report",
            css_class="runs",
        )
    )


def _intro(data: ReportData, generated: dt.datetime) -> list[Paragraph]:
    trials = data.trials
    runs = list(dict.fromkeys(trials.sort_values("id")["run_name"]))
    started = pd.concat([trials["started_at"], data.runs["started_at"]]).min()
    finished_at = pd.concat([trials["finished_at"], data.runs["finished_at"]]).max()
    families = [family_label(f) for f in FAMILIES if (trials["family"] == f).any()]
    return [
        Paragraph(
            f"Covers {_plural(len(runs), 'run')} ({', '.join(runs)}) on {_plural(len(data.datasets), 'dataset')} "
            f"({', '.join(data.datasets)}), which ran from {fmt_datetime(started)} to {fmt_datetime(finished_at)} UTC: "
            f"{_plural(len(trials), 'trial')} ({_status_counts(trials)})"
            f"; families: {', '.join(families) or 'none'}."
        ),
        Paragraph(
            f"Built from {data.url} on {generated.strftime('%Y-%m-%d %H:%M')} UTC. Every number in a table comes "
            "from that database. Accuracies, precision, recall and F1 are percentages; differences are percentage "
            "points (pp); “—” means no value."
        ),
    ]


def compose(data: ReportData, out_dir: str | Path, *, top: int = 10, generated: dt.datetime | None = None) -> Report:
    """Build the report document for ``data``, writing its plots under ``out_dir/plots``."""
    out_dir = Path(out_dir)
    generated = generated or dt.datetime.now(dt.UTC)
    written: list[Path] = []
    document = Document(title="Custom CNN or transfer learning? Hyperparameter search report")
    document.intro = list(_intro(data, generated))
    document.sections.append(_comparison_section(data, out_dir, written))
    document.sections.append(_backbone_section(data))
    for index, dataset in enumerate(data.datasets, start=1):
        document.sections.append(_dataset_section(data, dataset, index, out_dir, top, written))
    document.sections.append(_runs_section(data))
    runs = data.trials["run_id"].nunique()
    return Report(document, written, trials=len(data.trials), runs=runs, datasets=len(data.datasets))
