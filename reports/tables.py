"""The report's tables as pandas DataFrames of raw values (formatting happens in :mod:`reports.compose`).

Conventions: a *finished* trial is one that did not fail and has a validation accuracy
(``completed`` or ``stopped`` by the scheduler); trials are *ranked* by validation accuracy,
highest first, ties broken by storage order. Only *searched* trials (role ``search``) make the
leaderboards, counts and plots of the search: reference-recipe trials are shown only in
:func:`reference_comparison`, and the finalists' repeats (role ``repeat``: the best configuration
of a family trained again with other seeds, each tested) only in :func:`finalist_comparison` and
:func:`finalist_repeats`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchmarks.comparison import FamilyComparison, compare_families
from benchmarks.models import CUSTOM_CNN, FAMILIES, family, family_label
from reports.data import HYPERPARAMETER_COLUMNS
from search_spaces import PUBLISHED_METRICS, reproduced_figures, train_accuracy_at_best

__all__ = [
    "SUMMARY_METRICS",
    "backbone_by_dataset",
    "backbone_summary",
    "best_by_family",
    "best_model",
    "dataset_overview",
    "failed_trials",
    "family_comparison",
    "family_difference",
    "finalist_comparison",
    "finalist_repeats",
    "finished",
    "headline_repeats",
    "leaderboard",
    "other_family",
    "per_class_table",
    "published_comparison",
    "ranked",
    "reference_comparison",
    "repeats",
    "run_summary",
    "search_progress",
    "searched",
    "test_metrics_table",
]

#: The measures compared between the best custom CNN and the best other trial: column, label, kind.
SUMMARY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("val_accuracy", "Validation accuracy", "score"),
    ("test_accuracy", "Test accuracy", "score"),
    ("test_f1_macro", "Test macro F1", "score"),
    ("params", "Parameters", "params"),
    ("wall_seconds", "Training time", "seconds"),
)

_TRIAL_COLUMNS = (
    "label",
    "run_id",
    "run_name",
    "trial_id",
    "dataset",
    "space",
    "family",
    "backbone",
    "status",
    "val_accuracy",
    "val_loss",
    "test_accuracy",
    "test_f1_macro",
    "epochs",
    "params",
    "wall_seconds",
    *HYPERPARAMETER_COLUMNS,
)


def searched(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials sampled by a search: neither reference recipes nor finalists' repeats."""
    return trials[(trials["role"] == "search") & ~trials["is_reference"]]


def repeats(trials: pd.DataFrame) -> pd.DataFrame:
    """The finalists' repeats: a search trial's configuration trained again with another seed, and tested."""
    return trials[trials["role"] == "repeat"]


def finished(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials that did not fail and have a validation accuracy."""
    return trials[(trials["status"] != "failed") & trials["val_accuracy"].notna()]


def ranked(trials: pd.DataFrame) -> pd.DataFrame:
    """Finished trials, best validation accuracy first. Ties: the trial its search picked and tested first (a
    search breaks ties in its own order), then the one stored first."""
    return finished(trials).sort_values(["val_accuracy", "is_best", "id"], ascending=[False, False, True],
                                        kind="mergesort")


def _of(trials: pd.DataFrame, dataset: str | None) -> pd.DataFrame:
    return trials if dataset is None else trials[trials["dataset"] == dataset]


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
                row.update({column: trial[column] for column, _, _ in SUMMARY_METRICS})
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


def _usable(trials: pd.DataFrame) -> pd.DataFrame:
    """Repeats that finished and were tested: the ones a comparison can use."""
    return trials[(trials["status"] != "failed") & trials["test_accuracy"].notna()]


def _run_starts(trials: pd.DataFrame, runs: pd.DataFrame) -> pd.Series:
    """When each run of ``trials`` started: its ``runs`` row, else its first trial."""
    first = trials.groupby("run_id")["started_at"].min()
    if len(runs):
        stored = runs.drop_duplicates("run_id").set_index("run_id")["started_at"]
        first = stored.reindex(first.index).fillna(first)
    return first


def headline_repeats(trials: pd.DataFrame, runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The tested repeats the headline of ``dataset`` compares; empty where no finalist was repeated.

    They come from the most recent run (by start) with tested repeats; a side (custom CNN, or the other
    backbones) that run lacks comes from the most recent other run that has it.
    """
    pool = _usable(repeats(_of(trials, dataset)))
    if pool.empty:
        return pool
    order = _run_starts(pool, runs).sort_values(ascending=False, kind="mergesort").index
    custom = pool["backbone"] == CUSTOM_CNN
    chosen = []
    for side in (custom, ~custom):
        runs_with_side = [run for run in order if (pool.loc[side, "run_id"] == run).any()]
        if runs_with_side:
            chosen.append(pool[side & (pool["run_id"] == runs_with_side[0])])
    return pd.concat(chosen).sort_values("id")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with None for every missing value (what :func:`compare_families` expects)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def finalist_comparison(rows: pd.DataFrame) -> FamilyComparison:
    """:func:`benchmarks.comparison.compare_families` of repeats (:func:`headline_repeats`).

    A finalist's ``repeat_of`` becomes the label (``run_name/trial_id``) of the search trial it repeats.
    """
    return compare_families(_records(rows.assign(repeat_of=rows["finalist"])))


def finalist_costs(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean parameters and training time of each finalist (indexed by its label) over its repeats."""
    return rows.groupby("finalist")[["params", "wall_seconds"]].mean()


def finalist_repeats(trials: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Every repeat of ``dataset`` (failed ones too), by run, the search trial it repeats (``finalist``), seed."""
    frame = repeats(_of(trials, dataset))
    frame = frame.assign(run_order=frame.groupby("run_id")["id"].transform("min"))
    frame = frame.sort_values(["run_order", "finalist", "seed", "id"], kind="mergesort")
    return frame[["finalist", "seed", *_TRIAL_COLUMNS]].reset_index(drop=True)


def leaderboard(trials: pd.DataFrame, dataset: str, top: int | None = 10) -> pd.DataFrame:
    """The ``top`` finished searched trials of ``dataset`` with their metrics and hyperparameters.

    Column ``rank`` starts at 1; ``top=None`` keeps every finished trial.
    """
    board = ranked(searched(_of(trials, dataset)))
    if top is not None:
        board = board.head(top)
    board = board[["id", "is_best", *_TRIAL_COLUMNS]].reset_index(drop=True)
    board.insert(0, "rank", np.arange(1, len(board) + 1))
    return board


def reference_comparison(trials: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Reference-recipe trials of ``dataset`` next to the searched best of each family.

    Empty when the dataset has no reference trials. Column ``role`` says which row is which, naming the family
    of a searched best (``searched best (transfer learning)``).
    """
    of_dataset = _of(trials, dataset)
    references = of_dataset[of_dataset["is_reference"]]
    if references.empty:
        return pd.DataFrame(columns=["role", "is_best", *_TRIAL_COLUMNS])
    best = ranked(searched(of_dataset)).groupby("family", sort=False).head(1)
    best = best.assign(role=[f"searched best ({family_label(f)})" for f in best["family"]])
    refs = references.sort_values(["val_accuracy", "id"], ascending=[False, True], na_position="last")
    refs = refs.assign(role="reference recipe")
    frame = pd.concat([best, refs], ignore_index=True)
    return frame[["role", "is_best", *_TRIAL_COLUMNS]]


def _run_field(runs: pd.DataFrame, run_id: str, column: str) -> Any:
    if column not in runs or not len(runs):
        return None
    match = runs.loc[runs["run_id"] == run_id, column]
    return match.iloc[0] if len(match) else None


def _figures(trial: pd.Series, runs: pd.DataFrame) -> dict[str, Any]:
    """A trial's figures under the published keys: full test metrics where it is its run's tested best,
    else the test accuracy and F1 stored on the trial (a reference recipe's other variants)."""
    metrics = _run_field(runs, trial["run_id"], "test_metrics_dict") if trial["is_best"] else None
    if not isinstance(metrics, dict):
        stored = {"accuracy": trial["test_accuracy"], "f1_macro": trial["test_f1_macro"]}
        metrics = {k: v for k, v in stored.items() if pd.notna(v)}
    return reproduced_figures(metrics, trial["val_accuracy"], train_accuracy_at_best(trial["history_list"]))


def published_comparison(trials: pd.DataFrame, runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Published, reproduced and searched figures side by side for each reference-recipe trial of ``dataset``.

    One row per (reference trial, figure): every figure its recipe published, plus validation and test
    accuracy. ``reproduced`` is the reference trial's own figure; ``searched`` is the figure of the best
    searched trial of the dataset (by validation accuracy; test figures only where it was evaluated).
    Columns: ``label``, ``space``, ``variant``, ``metric``, ``metric_label``, ``published``, ``reproduced``,
    ``searched`` and ``note`` (the recipe's published remark); empty without reference trials. ``runs`` is
    a prepared runs frame (``published_dict``). ``comparable`` is False where the reference trial trained a
    pretrained backbone from scratch (family ``scratch``, weights none): recipes publish figures of the
    pretrained backbone, so its figures and the published ones do not measure the same thing.
    """
    columns = [
        "label", "space", "variant", "family", "backbone", "comparable", "metric", "metric_label", "published",
        "reproduced", "searched", "note",
    ]  # fmt: skip
    of_dataset = _of(trials, dataset)
    references = finished(of_dataset[of_dataset["is_reference"]]).sort_values("id")
    if references.empty:
        return pd.DataFrame(columns=columns)
    best = ranked(searched(of_dataset)).head(1)
    searched_figures = _figures(best.iloc[0], runs) if len(best) else {}
    rows = []
    for _, trial in references.iterrows():
        published = _run_field(runs, trial["run_id"], "published_dict") or {}
        figures = _figures(trial, runs)
        for key, label in PUBLISHED_METRICS.items():
            if key in published or key in ("val_accuracy", "test_accuracy"):
                rows.append(
                    {
                        "label": trial["label"],
                        "space": trial["space"],
                        "variant": trial["config_dict"].get("variant"),
                        "family": trial["family"],
                        "backbone": trial["backbone"],
                        "comparable": trial["family"] == family(trial["backbone"]),
                        "metric": key,
                        "metric_label": label,
                        "published": published.get(key, np.nan),
                        "reproduced": figures[key],
                        "searched": searched_figures.get(key),
                        "note": published.get("note"),
                    }
                )
    return pd.DataFrame(rows, columns=columns)


def failed_trials(trials: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The failed trials of ``dataset`` with their one-line error messages."""
    failed = _of(trials, dataset)
    failed = failed[failed["status"] == "failed"].sort_values("id")
    return failed[
        ["label", "run_name", "trial_id", "family", "backbone", "is_reference", "error", "started_at"]
    ].reset_index(drop=True)


def search_progress(trials: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Searched trials of ``dataset`` in the order they were stored, per run, with the best-so-far value.

    ``trial_number`` counts from 1 within each run (failed trials included, their value NaN);
    ``best_so_far`` is the running maximum of validation accuracy within the run.
    """
    frame = searched(_of(trials, dataset)).sort_values("id")
    frame = frame[["id", "run_id", "run_name", "label", "family", "backbone", "status", "val_accuracy"]].copy()
    frame["trial_number"] = frame.groupby("run_id").cumcount() + 1
    frame["best_so_far"] = frame.groupby("run_id")["val_accuracy"].cummax()
    frame["best_so_far"] = frame.groupby("run_id")["best_so_far"].ffill()
    return frame.reset_index(drop=True)


def backbone_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per backbone and family over all datasets (searched trials): a backbone trained with
    pretrained weights and from scratch is two rows.

    Columns: family, datasets, trials, finished, failed, best_val_accuracy, best_dataset,
    mean_val_accuracy (over finished trials), median_params, median_wall_seconds.
    """
    pool = searched(trials)
    rows = []
    for (backbone, key), group in pool.groupby(["backbone", "family"], sort=True):
        done = finished(group)
        best = ranked(group).head(1)
        rows.append(
            {
                "backbone": backbone,
                "family": key,
                "datasets": group["dataset"].nunique(),
                "trials": len(group),
                "finished": len(done),
                "failed": int((group["status"] == "failed").sum()),
                "best_val_accuracy": best["val_accuracy"].iat[0] if len(best) else np.nan,
                "best_dataset": best["dataset"].iat[0] if len(best) else None,
                "mean_val_accuracy": done["val_accuracy"].mean() if len(done) else np.nan,
                "median_params": done["params"].median() if len(done) else np.nan,
                "median_wall_seconds": done["wall_seconds"].median() if len(done) else np.nan,
            }
        )
    columns = [
        "backbone", "family", "datasets", "trials", "finished", "failed", "best_val_accuracy",
        "best_dataset", "mean_val_accuracy", "median_params", "median_wall_seconds",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["family", "best_val_accuracy"], ascending=[True, False], na_position="last").reset_index(
        drop=True
    )


def _model(trials: pd.DataFrame) -> pd.Series:
    """The backbone, followed by its family where that is not what the backbone implies
    (``mobilenet_v2 (backbone from scratch)``)."""
    usual = trials["backbone"].map(lambda backbone: family(backbone))
    named = trials["backbone"] + " (" + trials["family"].map(family_label) + ")"
    return trials["backbone"].where(trials["family"] == usual, named)


def backbone_by_dataset(trials: pd.DataFrame, datasets: list[str] | None = None) -> pd.DataFrame:
    """Best validation accuracy of every backbone (rows; a backbone from scratch apart) on every dataset
    (columns); NaN where not run."""
    pool = searched(trials)
    pool = pool.assign(backbone=_model(pool))
    datasets = datasets if datasets is not None else list(dict.fromkeys(trials["dataset"]))
    backbones = sorted(pool["backbone"].unique())
    table = finished(pool).pivot_table(index="backbone", columns="dataset", values="val_accuracy", aggfunc="max")
    return table.reindex(index=backbones, columns=datasets)


def run_summary(runs: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """The runs a report covers: their settings, status, time span and the trials stored for them.

    Runs that stored trials but have no row in ``runs`` are listed with what the trials tell.
    """
    stored = trials.groupby("run_id").agg(
        stored=("id", "size"),
        stored_failed=("status", lambda s: int((s == "failed").sum())),
        first_started=("started_at", "min"),
        last_finished=("finished_at", "max"),
        trial_run_name=("run_name", "first"),
        trial_dataset=("dataset", "first"),
    )
    columns = [
        "run_id", "run_name", "dataset", "space", "budget", "weights", "image_size", "sampler", "scheduler", "status",
        "trials_total", "trials_failed", "started_at", "finished_at",
    ]  # fmt: skip
    frame = runs.reindex(columns=columns).copy() if len(runs) else pd.DataFrame(columns=columns)
    missing = [run_id for run_id in stored.index if run_id not in set(frame["run_id"])]
    if missing:
        extra = stored.loc[missing]
        frame = pd.concat(
            [
                frame,
                pd.DataFrame(
                    {
                        "run_id": missing,
                        "run_name": extra["trial_run_name"].to_numpy(),
                        "dataset": extra["trial_dataset"].to_numpy(),
                        "status": "no run record",
                        "started_at": extra["first_started"].to_numpy(),
                        "finished_at": extra["last_finished"].to_numpy(),
                    }
                ),
            ],
            ignore_index=True,
        )
    frame = frame.merge(stored[["stored", "stored_failed"]], left_on="run_id", right_index=True, how="left")
    frame[["stored", "stored_failed"]] = frame[["stored", "stored_failed"]].fillna(0).astype(int)
    frame["started_at"] = pd.to_datetime(frame["started_at"], errors="coerce")
    frame["finished_at"] = pd.to_datetime(frame["finished_at"], errors="coerce")
    return frame.sort_values(["started_at", "run_id"], na_position="last").reset_index(drop=True)


def dataset_overview(trials: pd.DataFrame, datasets: list[str] | None = None) -> pd.DataFrame:
    """Per dataset: runs, trials, completed, stopped, failed, reference trials, first start and last finish."""
    datasets = datasets if datasets is not None else list(dict.fromkeys(trials["dataset"]))
    rows = []
    for dataset in datasets:
        group = _of(trials, dataset)
        rows.append(
            {
                "dataset": dataset,
                "runs": group["run_id"].nunique(),
                "trials": len(group),
                "completed": int((group["status"] == "completed").sum()),
                "stopped": int((group["status"] == "stopped").sum()),
                "failed": int((group["status"] == "failed").sum()),
                "reference": int(group["is_reference"].sum()),
                "first_started": group["started_at"].min(),
                "last_finished": group["finished_at"].max(),
            }
        )
    return pd.DataFrame(rows).set_index("dataset") if rows else pd.DataFrame()


def best_model(trials: pd.DataFrame, runs: pd.DataFrame, dataset: str) -> tuple[pd.Series, pd.Series] | None:
    """The test-evaluated trial of ``dataset`` with the best validation accuracy, and its run.

    Only trials marked ``is_best`` (never a finalist's repeat) whose run stored ``test_metrics`` qualify; None
    when there is none.
    """
    with_metrics = runs[runs["test_metrics_dict"].map(lambda m: isinstance(m, dict))] if len(runs) else runs
    of_dataset = _of(trials, dataset)
    candidates = ranked(of_dataset[of_dataset["role"] != "repeat"])
    candidates = candidates[candidates["is_best"] & candidates["run_id"].isin(set(with_metrics["run_id"]))]
    if candidates.empty:
        return None
    trial = candidates.iloc[0]
    run = with_metrics[with_metrics["run_id"] == trial["run_id"]].iloc[0]
    return trial, run


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
