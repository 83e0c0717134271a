"""Which trials a table or plot looks at: the selections every report section shares.

Conventions: a *finished* trial is one that did not fail and has a validation accuracy
(``completed`` or ``stopped`` by the scheduler); trials are *ranked* by validation accuracy,
highest first, ties broken by storage order. Only *searched* trials (role ``search``) make the
leaderboards, counts and plots of the search: reference-recipe trials are shown only in the reference
section, and the finalists' repeats (role ``repeat``: the best configuration of a family trained again
with other seeds, each tested) only in the summary and the finalists section.
"""

from __future__ import annotations

import pandas as pd

from reports.data import HYPERPARAMETER_COLUMNS

__all__ = ["TRIAL_COLUMNS", "finished", "of_dataset", "ranked", "repeats", "searched", "trial_table"]

#: The columns a table of trials carries: what it is, its measures and its hyperparameters.
TRIAL_COLUMNS: tuple[str, ...] = (
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
    "flops",  # per image at the trial's image size (benchmarks.costs); none where the trial predates the count
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


def of_dataset(trials: pd.DataFrame, dataset: str | None) -> pd.DataFrame:
    """The trials of ``dataset`` (all of them where ``dataset`` is None)."""
    return trials if dataset is None else trials[trials["dataset"] == dataset]


def trial_table(trials: pd.DataFrame, *leading: str) -> pd.DataFrame:
    """``leading`` columns then :data:`TRIAL_COLUMNS`, FLOPs as numbers."""
    frame = trials.reindex(columns=[*leading, *TRIAL_COLUMNS])
    frame["flops"] = pd.to_numeric(frame["flops"], errors="coerce")
    return frame
