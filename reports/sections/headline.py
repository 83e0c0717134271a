"""One dataset's line of the summary: its finalists' repeats where there are any, else its best search trials.

The DataFrames behind it (:func:`family_comparison`, :func:`family_difference`, :func:`headline_repeats`,
:func:`finalist_comparison`) and the rows and sentences :mod:`reports.sections.summary` puts in its table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.comparison import METRICS as COMPARED_METRICS
from benchmarks.comparison import FamilyComparison, FinalistScores, compare_families
from benchmarks.models import CUSTOM_CNN, FAMILIES, family_label
from benchmarks.stats import Interval
from reports.data import ReportData
from reports.comparable import RepeatSelection, select_repeats
from reports.formatting import fmt_count, fmt_difference, fmt_interval, fmt_score, fmt_score_diff, formatter, is_missing
from reports.sections.base import model_cell, plural
from reports.trials import finished, of_dataset, ranked, searched

__all__ = [
    "SUMMARY_METRICS",
    "Headline",
    "best_by_family",
    "family_comparison",
    "family_difference",
    "finalist_comparison",
    "finalist_costs",
    "headline_repeats",
    "headlines",
    "other_family",
]

#: The measures compared between the best custom CNN and the best other trial: column, label, kind.
SUMMARY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("val_accuracy", "Validation accuracy", "score"),
    ("test_accuracy", "Test accuracy", "score"),
    ("test_f1_macro", "Test macro F1", "score"),
    ("params", "Parameters", "params"),
    ("flops", "FLOPs per image", "params"),
    ("wall_seconds", "Training time", "seconds"),
)
#: Measures a database from before every trial counted them lacks: their row shows only where a side has one.
LATER_METRICS = frozenset({"flops"})

#: The costs averaged over a finalist's repeats: the measures that are not scores.
COST_METRICS = tuple(column for column, _, kind in SUMMARY_METRICS if kind != "score")
NO_REPEATS = (
    "{dataset}: no finalists were repeated, so there is no verdict: these are the best search trials of each "
    "family, each evaluated on the test split at most once. The best of a search is optimistic (the maximum over "
    "trials and epochs, the more so for the family with more trials); repeats give the real answer: search with "
    "--repeats N to retrain each family's finalist with N seeds, test every repeat and get a 95% interval."
)


# --------------------------------------------------------------------------- the DataFrames


def best_by_family(trials: pd.DataFrame) -> pd.DataFrame:
    """The best finished searched trial per (dataset, family), indexed by those two."""
    best = ranked(searched(trials)).groupby(["dataset", "family"], sort=False).head(1)
    return best.set_index(["dataset", "family"])


def family_comparison(trials: pd.DataFrame, datasets: list[str] | None = None) -> pd.DataFrame:
    """Best trial of every family on every dataset, picked by validation accuracy (no finalists repeated).

    One row per (dataset, family) for every family of :data:`benchmarks.models.FAMILIES`, even when it has
    no finished trial (then ``present`` is False and the measures are NaN). Columns: ``present``,
    ``finished_trials``, ``label``, ``backbone``, ``is_best`` (evaluated on the test split) and
    :data:`SUMMARY_METRICS`.
    """
    datasets = datasets if datasets is not None else list(dict.fromkeys(trials["dataset"]))
    best = best_by_family(trials)
    counts = finished(searched(trials)).groupby(["dataset", "family"]).size()
    rows = []
    for dataset in datasets:
        for key in FAMILIES:
            row: dict[str, Any] = {"dataset": dataset, "family": key}
            if (dataset, key) in best.index:
                trial = best.loc[(dataset, key)]
                row.update(present=True, label=trial["label"], backbone=trial["backbone"])
                row["is_best"] = bool(trial["is_best"])
                row.update({column: trial.get(column, np.nan) for column, _, _ in SUMMARY_METRICS})
            else:
                row.update(present=False, label=None, backbone=None, is_best=False)
                row.update({column: np.nan for column, _, _ in SUMMARY_METRICS})
            row["finished_trials"] = int(counts.get((dataset, key), 0))
            rows.append(row)
    columns = ["dataset", "family", "present", "finished_trials", "label", "backbone", "is_best"]
    frame = pd.DataFrame(rows, columns=columns + [c for c, _, _ in SUMMARY_METRICS])
    return frame.set_index(["dataset", "family"])


def other_family(comparison: pd.DataFrame, dataset: str) -> str | None:
    """The family the custom CNN is compared with on ``dataset``: of the other families with a finished trial,
    the one whose best trial has the best validation accuracy; None where no other family finished."""
    others = comparison.loc[dataset].drop(index=CUSTOM_CNN)
    others = others[others["present"]]
    return None if others.empty else str(others["val_accuracy"].astype(float).idxmax())


def family_difference(comparison: pd.DataFrame) -> pd.DataFrame:
    """The other family (:func:`other_family`) minus custom CNN for every measure of :func:`family_comparison`.

    One row per dataset; column ``family`` names the other family (None, and NaN measures, where there is none).
    """
    metrics = [c for c, _, _ in SUMMARY_METRICS]
    datasets = list(dict.fromkeys(comparison.index.get_level_values("dataset")))
    rows = []
    for dataset in datasets:
        other = other_family(comparison, dataset)
        cnn = comparison.loc[(dataset, CUSTOM_CNN), metrics].astype(float)
        values = (comparison.loc[(dataset, other), metrics].astype(float) - cnn) if other else cnn * np.nan
        rows.append({"dataset": dataset, "family": other, **values.to_dict()})
    return pd.DataFrame(rows, columns=["dataset", "family", *metrics]).set_index("dataset")


def headline_repeats(trials: pd.DataFrame, runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The repeats the headline of ``dataset`` shows (:func:`reports.comparable.select_repeats`); empty where none."""
    return select_repeats(trials, runs, dataset).rows


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with None for every missing value (what :func:`compare_families` expects)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def finalist_comparison(rows: pd.DataFrame, labels=None) -> FamilyComparison:
    """:func:`benchmarks.comparison.compare_families` of repeats (:func:`headline_repeats`), the one verdict rule.

    A finalist's ``repeat_of`` becomes the label (``run_name/trial_id``) of the search trial it repeats; ``labels``
    are the run's test labels, for the paired bootstrap over test images.
    """
    return compare_families(_records(rows.assign(repeat_of=rows["finalist"])), labels=labels)


def finalist_costs(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean parameters, FLOPs per image (where counted) and training time of each finalist (indexed by its label)
    over its repeats."""
    return rows.groupby("finalist")[[c for c in COST_METRICS if c in rows]].mean()


# --------------------------------------------------------------------------- one dataset's rows and sentences


@dataclass
class Headline:
    """One dataset's rows of the summary table, the family its custom CNN meets, and the sentences under it."""

    rows: list[list[str]]
    other: str | None
    sentences: list[str]
    repeats: tuple[int, ...] = ()  # tested repeats per finalist; empty for a comparison of best trials


def _never_counted(column: str, *values: Any) -> bool:
    """Whether ``column`` is a later measure (:data:`LATER_METRICS`) that no side of the comparison has."""
    return column in LATER_METRICS and all(is_missing(value) for value in values)


def _finalist_value(finalist: FinalistScores | None, costs: pd.DataFrame, column: str) -> Interval | float | None:
    """A finalist's figure: the interval of a test metric, else the mean over its repeats."""
    if finalist is None:
        return None
    if column in COMPARED_METRICS:
        return getattr(finalist, column)
    if column == "val_accuracy":
        return finalist.val_accuracy
    return costs.loc[finalist.repeat_of, column] if column in costs else None


def _finalist_cells(finalist: FinalistScores | None) -> tuple[str, str]:
    """What a finalist is (the search trial it repeats) and how often it was tested, with which seeds."""
    if finalist is None:
        return "no tested repeat", "0"
    seeds = ", ".join(str(seed) for seed in finalist.seeds)
    seeds = f" (seed{'s' if len(finalist.seeds) > 1 else ''} {seeds})" if seeds else ""
    model = model_cell(finalist.repeat_of, finalist.backbone, finalist.family)
    return model, f"{finalist.test_accuracy.n}{seeds}"


def _effort_cell(search: pd.DataFrame, key: str | None) -> str:
    """A family's search effort: ``2 trials, 6 epochs, 41 trial-s``."""
    if key is None:
        return "—"
    part = search[search["family"] == key]
    return (f"{len(part)} trials, {int(part['epochs'].fillna(0).sum())} epochs, "
            f"{part['wall_seconds'].fillna(0).sum():.0f} trial-s")


def _effort_row(search: pd.DataFrame, custom: str | None, other: str | None) -> list[str]:
    """The summary row of each family's search effort: equal trials by design, so the verdict is about merit."""
    return ["", "Search effort", _effort_cell(search, custom), _effort_cell(search, other), ""]


def _finalist_headline(dataset: str, selection: RepeatSelection, trials: pd.DataFrame) -> Headline:
    """The summary of a dataset whose finalists were repeated: intervals, their difference and the verdict.

    Where the two sides come from runs that cannot be pooled (:mod:`reports.comparable`), each side's figures are
    shown and there is no difference and no verdict: the sentence says why.
    """
    repeated = selection.rows
    comparison = finalist_comparison(repeated, selection.labels)
    differences = comparison.difference if selection.comparable else {}
    costs = finalist_costs(repeated)
    custom, other = comparison.custom, comparison.other
    (custom_model, custom_n), (other_model, other_n) = _finalist_cells(custom), _finalist_cells(other)
    rows = [
        [dataset, "Finalist (search trial repeated)", custom_model, other_model, ""],
        ["", "Tested repeats", custom_n, other_n, ""],
    ]
    for column, label, kind in SUMMARY_METRICS:
        mine, theirs = _finalist_value(custom, costs, column), _finalist_value(other, costs, column)
        if column in COMPARED_METRICS:
            difference = fmt_difference(differences.get(column))
            rows.append(["", f"{label}*", fmt_interval(mine), fmt_interval(theirs), difference])
        else:
            if _never_counted(column, mine, theirs):
                continue
            gap = None if is_missing(mine) or is_missing(theirs) else theirs - mine
            show = formatter(kind)
            rows.append(["", f"{label} (mean)", show(mine), show(theirs), formatter(f"{kind}_diff")(gap)])
    search = searched(trials[trials["run_id"].isin(repeated["run_id"].unique())])
    rows.append(_effort_row(search, CUSTOM_CNN, None if other is None else other.family))
    if not selection.comparable:
        latest, earlier = selection.runs
        sentences = [f"{dataset}: no verdict: the latest run with repeats ({latest}) repeated one side only, and the "
                     f"latest run that repeated the other ({earlier}) is not comparable with it: "
                     f"{'; '.join(selection.reasons)}. Run both families in one search (the default space does) "
                     "for a verdict."]
    else:
        sentences = [f"{dataset}: {comparison.verdict}."]
        if len(selection.runs) > 1:
            sentences.append(f"{dataset}: the finalists come from two comparable runs ({', '.join(selection.runs)}): "
                             "the same test images after the same protocol, so their repeats are pooled.")
        if comparison.test_set is not None:
            sentences.append(f"{dataset}: {comparison.test_set.describe()}.")
        if comparison.note:
            sentences.append(f"{dataset}: {comparison.note}.")
    counts = tuple(f.test_accuracy.n for f in (custom, other) if f is not None)
    return Headline(rows, None if other is None else other.family, sentences, counts)


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
        optimistic = "(best of the search, optimistic)"
        if delta > 0:
            return f"{dataset}: {name} leads the {cnn_name} on validation by {gap} {optimistic}{test}."
        if delta < 0:
            return f"{dataset}: the {cnn_name} leads {name} on validation by {gap} {optimistic}{test}."
        return f"{dataset}: the {cnn_name} and {name} tie on validation accuracy ({fmt_score(cnn['val_accuracy'])})."
    if other is not None or cnn["present"]:
        only, missing = (family_label(other.name[1]), cnn_name) if other is not None else (cnn_name, "backbone")
        return f"{dataset}: only {only} trials finished (no {missing} trial did), so there is no comparison."
    failed = int(((trials["dataset"] == dataset) & (trials["status"] == "failed")).sum())
    return f"{dataset}: no trial finished ({plural(failed, 'failed trial')}), so there is no comparison."


def _best_trial_headline(
    dataset: str, comparison: pd.DataFrame, difference: pd.DataFrame, trials: pd.DataFrame
) -> Headline:
    """The summary of a dataset without repeats: the best search trial of each family, side by side."""
    other_key = None if is_missing(difference.loc[dataset, "family"]) else difference.loc[dataset, "family"]
    cnn = comparison.loc[(dataset, CUSTOM_CNN)]
    other = comparison.loc[(dataset, other_key)] if other_key else None
    diff = difference.loc[dataset]

    def model(entry: pd.Series | None) -> str:
        """The family's best trial, or that it has none."""
        if entry is None or not entry["present"]:
            return "no finished trial"
        return model_cell(entry["label"], entry["backbone"], entry.name[1])

    def count(entry: pd.Series | None) -> str:
        """How many trials of the family finished."""
        return fmt_count(None if entry is None else entry["finished_trials"])

    rows = [
        [dataset, "Best trial (by validation accuracy)", model(cnn), model(other), ""],
        ["", "Finished trials", count(cnn), count(other), ""],
    ]
    for column, label, kind in SUMMARY_METRICS:
        star = "*" if column.startswith("test_") else ""
        show = formatter(kind)
        theirs = None if other is None else other[column]
        if _never_counted(column, cnn[column], theirs):
            continue
        rows.append(["", label + star, show(cnn[column]), show(theirs), formatter(f"{kind}_diff")(diff[column])])
    rows.append(_effort_row(searched(of_dataset(trials, dataset)), CUSTOM_CNN, other_key))
    sentences = [
        NO_REPEATS.format(dataset=dataset),
        _verdict(dataset, cnn, other, diff, trials),
    ]
    return Headline(rows, other_key, sentences)


def headlines(data: ReportData) -> list[Headline]:
    """One headline per dataset: its finalists' repeats where there are any, else its best search trials."""
    comparison = family_comparison(data.trials, data.datasets)
    difference = family_difference(comparison)
    found = []
    for dataset in data.datasets:
        selection = select_repeats(data.trials, data.runs, dataset)
        if selection.rows.empty:
            found.append(_best_trial_headline(dataset, comparison, difference, data.trials))
        else:
            found.append(_finalist_headline(dataset, selection, data.trials))
    return found
