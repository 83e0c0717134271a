"""Putting the report together: tables formatted, plots drawn, and a plain sentence wherever there is no data."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmarks.comparison import METRICS as COMPARED_METRICS
from benchmarks.comparison import FinalistScores
from benchmarks.models import CUSTOM_CNN, FAMILIES, family, family_label
from benchmarks.stats import Interval
from benchmarks.hyperparameters import HYPERPARAMETERS as VOCABULARY
from reports import plots, tables
from reports.data import HYPERPARAMETER_COLUMNS, ReportData
from reports.document import Document, Figure, Note, Paragraph, Section, Table
from reports.formatting import (
    NUMERIC_KINDS,
    fmt_count,
    fmt_datetime,
    fmt_difference,
    fmt_interval,
    fmt_score,
    fmt_score_diff,
    formatter,
    is_missing,
)
from reports.importance import MIN_TRIALS, importance_by_family, load_studies

__all__ = ["Column", "Report", "compose", "format_table", "slugify"]

PLOTS_DIR = "plots"

TEST_FOOTNOTE = (
    "* Only the best trial of each run (by validation accuracy) was evaluated on the test split, so test "
    "metrics exist for those trials only; elsewhere they show “—” (not evaluated). Best models are picked "
    "by validation accuracy, never by test accuracy."
)
FINALISTS_FOOTNOTE = (
    "* How to read it: each family's finalist, its best search trial by validation accuracy (never by test "
    "accuracy), was trained again with {seeds} different seeds and every repeat was tested. A test figure is the "
    "mean over the repeats with its 95% Student-t interval (n = tested repeats); Difference is {other} minus "
    "custom CNN with Welch's 95% interval. A difference whose interval spans 0 is no clear difference; with a "
    "single repeat on a side there is no interval. Validation accuracy, parameters and time are means over the repeats."
)
REPEATED_INTRO = (
    "each family's finalist (its best search trial by validation accuracy) trained again with several seeds and "
    "tested, test figures as a mean with a 95% interval"
)
BEST_TRIAL_INTRO = "the searched trial with the best validation accuracy in each family, side by side"
NO_REPEATS = (
    "{dataset}: no finalists were repeated, so there is no interval: these are the best search trials of each "
    "family, each evaluated on the test split at most once. Search with --repeats N to retrain each family's "
    "finalist with N seeds, test every repeat and get a 95% interval."
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


def _hyperparameter_column(name: str) -> Column:
    """A hyperparameter's column as the vocabulary declares it: its label, and formatting by type and scale."""
    spec = VOCABULARY.get(name)
    if spec is None:
        return Column(name, name, "text")
    kind = "lr" if spec.log else {int: "int", float: "float"}.get(spec.type, "text")
    return Column(name, spec.label, kind)


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


def _trial_counts(trials: pd.DataFrame) -> str:
    """``12 trials (8 completed, 2 stopped, 2 failed)``: searches and reference recipes, not repeats."""
    own = trials[trials["role"] != "repeat"]
    return f"{_plural(len(own), 'trial')} ({_status_counts(own)})"


def _extra_counts(trials: pd.DataFrame) -> str:
    """``; 1 reference-recipe trial; 6 finalist repeats``, leaving out what there is none of."""
    references, repeats = int(trials["is_reference"].sum()), tables.repeats(trials)
    parts = [_plural(references, "reference-recipe trial")] if references else []
    parts += [f"{_plural(len(repeats), 'finalist repeat')} ({_status_counts(repeats)})"] if len(repeats) else []
    return "".join(f"; {part}" for part in parts)


def _status_counts(trials: pd.DataFrame) -> str:
    counts = trials["status"].value_counts()
    parts = [f"{int(counts.get(s, 0))} {s}" for s in ("completed", "stopped", "failed") if counts.get(s, 0)]
    other = [f"{int(n)} {s}" for s, n in counts.items() if s not in ("completed", "stopped", "failed")]
    return ", ".join(parts + other) or "none"


# --------------------------------------------------------------------------- summary across datasets


def _label(key: str) -> str:
    """A family as a table header or a legend names it: ``Transfer learning``."""
    return family_label(key, capitalize=True)


def _model_cell(label: str, backbone: str, family_key: str) -> str:
    """``run/trial (resnet50)``, naming the family where the backbone alone would suggest another one."""
    if family_key == family(backbone):
        return f"{label} ({backbone})"
    return f"{label} ({backbone}, {family_label(family_key)})"


def _others(families: Sequence[str]) -> list[str]:
    """The families among ``families`` that the custom CNN is compared with, in the order of FAMILIES
    (transfer learning where there is none)."""
    return [f for f in FAMILIES if f != CUSTOM_CNN and f in set(families)] or ["transfer"]


def _versus(families: Sequence[str], joiner: str = " and ") -> str:
    """What the custom CNN is compared with: ``transfer learning``, ``backbone from scratch`` or both."""
    return joiner.join(family_label(f) for f in _others(families))


@dataclass
class _Headline:
    """One dataset's rows of the summary table, the family its custom CNN meets, and the sentences under it."""

    rows: list[list[str]]
    other: str | None
    sentences: list[str]
    repeats: tuple[int, ...] = ()  # tested repeats per finalist; empty for a comparison of best trials


def _finalist_value(finalist: FinalistScores | None, costs: pd.DataFrame, column: str) -> Interval | float | None:
    """A finalist's figure: the interval of a test metric, else the mean over its repeats."""
    if finalist is None:
        return None
    if column in COMPARED_METRICS:
        return getattr(finalist, column)
    if column == "val_accuracy":
        return finalist.val_accuracy
    return costs.loc[finalist.repeat_of, column]


def _finalist_cells(finalist: FinalistScores | None) -> tuple[str, str]:
    """What a finalist is (the search trial it repeats) and how often it was tested, with which seeds."""
    if finalist is None:
        return "no tested repeat", "0"
    seeds = ", ".join(str(seed) for seed in finalist.seeds)
    seeds = f" (seed{'s' if len(finalist.seeds) > 1 else ''} {seeds})" if seeds else ""
    model = _model_cell(finalist.repeat_of, finalist.backbone, finalist.family)
    return model, f"{finalist.test_accuracy.n}{seeds}"


def _finalist_headline(dataset: str, repeats: pd.DataFrame) -> _Headline:
    """The summary of a dataset whose finalists were repeated: intervals, their difference and the verdict."""
    comparison = tables.finalist_comparison(repeats)
    costs = tables.finalist_costs(repeats)
    custom, other = comparison.custom, comparison.other
    (custom_model, custom_n), (other_model, other_n) = _finalist_cells(custom), _finalist_cells(other)
    rows = [
        [dataset, "Finalist (search trial repeated)", custom_model, other_model, ""],
        ["", "Tested repeats", custom_n, other_n, ""],
    ]
    for column, label, kind in tables.SUMMARY_METRICS:
        mine, theirs = _finalist_value(custom, costs, column), _finalist_value(other, costs, column)
        if column in COMPARED_METRICS:
            difference = fmt_difference(comparison.difference.get(column))
            rows.append(["", f"{label}*", fmt_interval(mine), fmt_interval(theirs), difference])
        else:
            gap = None if is_missing(mine) or is_missing(theirs) else theirs - mine
            show = formatter(kind)
            rows.append(["", f"{label} (mean)", show(mine), show(theirs), formatter(f"{kind}_diff")(gap)])
    sentences = [f"{dataset}: {comparison.verdict}."]
    if repeats["run_id"].nunique() > 1:
        runs = ", ".join(dict.fromkeys(repeats["run_name"]))
        sentences.append(
            f"{dataset}: the two finalists come from different runs ({runs}): the latest run with repeats "
            "repeated one side only, so the other side is the latest run that repeated it."
        )
    counts = tuple(f.test_accuracy.n for f in (custom, other) if f is not None)
    return _Headline(rows, None if other is None else other.family, sentences, counts)


def _best_trial_headline(
    dataset: str, comparison: pd.DataFrame, difference: pd.DataFrame, trials: pd.DataFrame
) -> _Headline:
    """The summary of a dataset without repeats: the best search trial of each family, side by side."""
    other_key = None if is_missing(difference.loc[dataset, "family"]) else difference.loc[dataset, "family"]
    cnn = comparison.loc[(dataset, CUSTOM_CNN)]
    other = comparison.loc[(dataset, other_key)] if other_key else None
    diff = difference.loc[dataset]

    def model(entry: pd.Series | None) -> str:
        if entry is None or not entry["present"]:
            return "no finished trial"
        return _model_cell(entry["label"], entry["backbone"], entry.name[1])

    def count(entry: pd.Series | None) -> str:
        return fmt_count(None if entry is None else entry["finished_trials"])

    rows = [
        [dataset, "Best trial (by validation accuracy)", model(cnn), model(other), ""],
        ["", "Finished trials", count(cnn), count(other), ""],
    ]
    for column, label, kind in tables.SUMMARY_METRICS:
        star = "*" if column.startswith("test_") else ""
        show = formatter(kind)
        theirs = None if other is None else other[column]
        rows.append(["", label + star, show(cnn[column]), show(theirs), formatter(f"{kind}_diff")(diff[column])])
    sentences = [
        NO_REPEATS.format(dataset=dataset),
        _verdict(dataset, cnn, other, diff, trials),
    ]
    return _Headline(rows, other_key, sentences)


def _footnotes(headlines: Sequence[_Headline], other: str) -> list[Note]:
    """How to read the summary: the finalists' repeats and intervals, and where needed the best trials' tests."""
    notes = []
    counts = sorted({n for h in headlines for n in h.repeats})
    if counts:
        seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
        notes.append(Note(FINALISTS_FOOTNOTE.format(seeds=seeds, other=other)))
    if any(not h.repeats for h in headlines):
        text = TEST_FOOTNOTE.removeprefix("* ")
        text = f"For datasets without repeats, {text[:1].lower()}{text[1:]}" if counts else text
        notes.append(Note(f"* {text}"))
    return notes


def _headlines(data: ReportData) -> list[_Headline]:
    """One headline per dataset: its finalists' repeats where there are any, else its best search trials."""
    comparison = tables.family_comparison(data.trials, data.datasets)
    difference = tables.family_difference(comparison)
    headlines = []
    for dataset in data.datasets:
        repeats = tables.headline_repeats(data.trials, data.runs, dataset)
        if repeats.empty:
            headlines.append(_best_trial_headline(dataset, comparison, difference, data.trials))
        else:
            headlines.append(_finalist_headline(dataset, repeats))
    return headlines


def _summary_intro(headlines: Sequence[_Headline], other: str) -> Paragraph:
    """What the summary table compares: finalists' repeats, best trials, or each where it applies."""
    repeated, best = any(h.repeats for h in headlines), any(not h.repeats for h in headlines)
    if repeated and best:
        compared = f"where finalists were repeated, {REPEATED_INTRO}; elsewhere {BEST_TRIAL_INTRO}"
    else:
        compared = REPEATED_INTRO if repeated else BEST_TRIAL_INTRO
    return Paragraph(
        f"For each dataset, the custom CNN against the other family: {compared}. "
        f"Difference = {other} minus custom CNN."
    )


def _summary_table(headlines: Sequence[_Headline], others: Sequence[str]) -> Table:
    """Every dataset's headline rows in one table, its other column named by the families it compares."""
    rows: list[list[str]] = []
    starts: set[int] = set()
    for headline in headlines:
        starts.add(len(rows))
        rows.extend(headline.rows)
    other = _versus(others, " or ")
    caption = (
        f"Finalists per dataset: custom CNN against {other}, test figures over the repeats"
        if any(h.repeats for h in headlines)
        else f"Best custom CNN and best {other} model per dataset"
    )
    return Table(
        columns=["Dataset", "Measure", _label(CUSTOM_CNN), " / ".join(map(_label, _others(others))), "Difference"],
        rows=rows,
        caption=caption,
        numeric=[False, False, True, True, True],
        css_class="comparison",
        group_starts=starts,
    )


def _comparison_section(data: ReportData, out_dir: Path, written: list[Path]) -> Section:
    versus = _versus(data.trials["family"])
    section = Section(f"Custom CNN vs {versus}", "summary")
    headlines = _headlines(data)
    others = [h.other for h in headlines if h.other]
    other = _versus(others, " or ")
    section.add(
        _summary_intro(headlines, other),
        _summary_table(headlines, others),
        *_footnotes(headlines, other),
        *(Paragraph(sentence) for headline in headlines for sentence in headline.sentences),
    )
    path = plots.family_comparison_plot(data.trials, data.datasets, out_dir / PLOTS_DIR / "family-comparison.png")
    if path is None:
        section.add(Paragraph(f"No plot of custom CNN vs {versus}: no trial finished.", "empty"))
    else:
        written.append(path)
        section.add(
            Figure(
                f"{PLOTS_DIR}/{path.name}",
                "Validation accuracy of every finished search trial by dataset and family",
                "Each dot is a finished search trial (reference recipes and finalists' repeats excluded); diamonds "
                "mark the best of each family.",
            )
        )
    return section


def _verdict(dataset: str, cnn: pd.Series, other: pd.Series | None, diff: pd.Series, trials: pd.DataFrame) -> str:
    """The best trials' comparison in words (no interval: nothing was repeated)."""
    cnn_name = family_label(CUSTOM_CNN)
    if other is not None and cnn["present"]:
        name = f"{family_label(other.name[1])} ({other['backbone']})"
        delta = float(diff["val_accuracy"])
        test = ""
        if not is_missing(diff["test_accuracy"]):
            test = f"; on the test split, {name} minus {cnn_name} is {fmt_score_diff(diff['test_accuracy'])}"
        gap = fmt_score_diff(abs(delta)).lstrip("+")
        if delta > 0:
            return f"{dataset}: {name} beats the {cnn_name} by {gap} validation accuracy{test}."
        if delta < 0:
            return f"{dataset}: the {cnn_name} beats {name} by {gap} validation accuracy{test}."
        return f"{dataset}: the {cnn_name} and {name} tie on validation accuracy ({fmt_score(cnn['val_accuracy'])})."
    if other is not None or cnn["present"]:
        only, missing = (family_label(other.name[1]), cnn_name) if other is not None else (cnn_name, "backbone")
        return f"{dataset}: only {only} trials finished (no {missing} trial did), so there is no comparison."
    failed = int(((trials["dataset"] == dataset) & (trials["status"] == "failed")).sum())
    return f"{dataset}: no trial finished ({_plural(failed, 'failed trial')}), so there is no comparison."


def _backbone_section(data: ReportData) -> Section:
    section = Section("Backbones across datasets", "backbones")
    summary = tables.backbone_summary(data.trials)
    if summary.empty:
        return section.add(Paragraph("No searched trials, so no backbone summary.", "empty"))
    summary = summary.assign(family=summary["family"].map(_label))
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
            columns.append(_hyperparameter_column(name))
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


FINALISTS_NOTE = (
    "Each row is a repeat: a finalist (the best search trial of its family, by validation accuracy) trained "
    "again with another seed, then tested. Repeats are not search trials: they are left out of the leaderboard "
    "and the plots of the search."
)


def _finalists(data: ReportData, dataset: str, section: Section) -> None:
    """Every repeat of the dataset's finalists, and which of them the summary compares."""
    frame = tables.finalist_repeats(data.trials, dataset)
    if frame.empty:
        return
    frame = frame.assign(family=frame["family"].map(_label))
    used = tables.headline_repeats(data.trials, data.runs, dataset)
    compared = ", ".join(dict.fromkeys(used["finalist"])) or "none (no repeat was tested)"
    sub = Section("Finalists", f"{section.anchor}-finalists", level=3)
    section.add(sub)
    sub.add(
        format_table(
            frame,
            [
                Column("finalist", "Finalist (search trial)"),
                Column("family", "Family"),
                Column("backbone", "Backbone"),
                Column("trial_id", "Repeat"),
                Column("seed", "Seed", "int"),
                Column("status", "Status"),
                Column("val_accuracy", "Val. acc.", "score"),
                Column("test_accuracy", "Test acc.", "score"),
                Column("test_f1_macro", "Test F1", "score"),
                Column("epochs", "Epochs", "int"),
                Column("wall_seconds", "Time", "seconds"),
            ],
            caption=(
                f"{_plural(len(frame), 'repeat')} of {_plural(frame['finalist'].nunique(), 'finalist')} on {dataset}"
            ),
            css_class="finalists",
            attrs={"dataset": dataset, "rows": str(len(frame))},
        ),
        Note(FINALISTS_NOTE),
        Note(f"The summary at the top compares the tested repeats of {compared}."),
    )


REFERENCE_TEST_NOTE = (
    "Every trial of a reference recipe is evaluated on the test split: its configuration is fixed, nothing was selected."
)
PUBLISHED_NOTE = (
    "Published precision, recall and F1 are compared with our macro averages; train accuracy is from the epoch of "
    "best validation accuracy; Searched best is the dataset's best searched trial by validation accuracy."
)


def _not_comparable(figures: pd.DataFrame) -> list[Note]:
    """One plain note per reference trial whose figures cannot be set against the published ones."""
    apart = figures.loc[~figures["comparable"].astype(bool), ["label", "backbone"]].drop_duplicates("label")
    return [
        Note(
            f"{label} is not comparable with the published figures: this run trained {backbone} from scratch "
            "(no pretrained weights), while the published figures used pretrained weights."
        )
        for label, backbone in apart.itertuples(index=False)
    ]


def _references(data: ReportData, dataset: str, section: Section) -> None:
    frame = tables.reference_comparison(data.trials, dataset)
    if frame.empty:
        return
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
    scratch = figures["comparable"].map(lambda comparable: "" if comparable else " (from scratch: not comparable)")
    figures = figures.assign(recipe=figures["label"] + variant + scratch)
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
        *_not_comparable(figures),
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
    runs = data.runs[data.runs["run_id"].isin(set(pool["run_id"]))]  # searches, not reference recipes
    studies, missing = load_studies(runs.to_dict("records"))
    if missing:
        sub.add(Paragraph(
            f"{_plural(len(missing), 'run')} ({', '.join(missing)}) recorded no Optuna study (recorded before studies "
            "were kept in Optuna's storage, or the storage is gone), so "
            f"{'its trials are' if len(missing) == 1 else 'their trials are'} left out of the importance.", "empty"))
    if not studies:
        return
    results = importance_by_family(studies)
    sub.add(
        Paragraph(
            "fANOVA importance (Optuna) of each hyperparameter for validation accuracy (best epoch), computed over the "
            "completed trials of each family in the runs' own Optuna studies, with the distributions their spaces "
            f"declared (trials stopped early are pruned in the study and left out, as Optuna does; at least "
            f"{MIN_TRIALS} needed). Importances of a group sum to 1."
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
    section.add(
        Paragraph(
            f"{_trial_counts(trials)} from {_plural(len(runs), 'run')}: "
            f"{', '.join(runs)}; trials ran from {fmt_datetime(trials['started_at'].min())} to "
            f"{fmt_datetime(trials['finished_at'].max())} UTC{_extra_counts(trials)}."
        )
    )
    _leaderboard(data, dataset, top, section)
    _finalists(data, dataset, section)
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
    families = [_label(f) for f in FAMILIES if (trials["family"] == f).any()]
    return [
        Paragraph(
            f"Covers {_plural(len(runs), 'run')} ({', '.join(runs)}) on {_plural(len(data.datasets), 'dataset')} "
            f"({', '.join(data.datasets)}), which ran from {fmt_datetime(started)} to {fmt_datetime(finished_at)} UTC: "
            f"{_trial_counts(trials)}{_extra_counts(trials)}"
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
