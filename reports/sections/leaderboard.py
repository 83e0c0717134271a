"""Section "Leaderboard" of a dataset: its top searched trials by validation accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from records.schedulers import stopped_wording
from reports.document import Note, Paragraph, Section
from reports.sections.base import TEST_FOOTNOTE, Column, Context, format_table, plural, trial_columns
from reports.trials import finished, of_dataset, ranked, searched, trial_table

__all__ = ["PLOTS", "build", "leaderboard"]

PLOTS: tuple[str, ...] = ()

STOPPED_NOTE = (
    "Status “stopped”: {stopped}; its validation accuracy comes from fewer epochs. "
    "Test F1 is macro-averaged; Time is training time; LR is the learning rate; Dense is the head's dense "
    "units; Unfrozen is the number of backbone layers fine-tuned; Depth and Width size the custom CNN."
)


def leaderboard(trials: pd.DataFrame, dataset: str, top: int | None = 10) -> pd.DataFrame:
    """The ``top`` finished searched trials of ``dataset`` with their metrics and hyperparameters.

    Column ``rank`` starts at 1; ``top=None`` keeps every finished trial.
    """
    board = ranked(searched(of_dataset(trials, dataset)))
    if top is not None:
        board = board.head(top)
    board = trial_table(board, "id", "is_best").reset_index(drop=True)
    board.insert(0, "rank", np.arange(1, len(board) + 1))
    return board


def build(context: Context) -> Section:
    """The leaderboard, or why there is none."""
    dataset, trials = context.dataset, context.trials
    searched_trials = searched(trials)
    board = leaderboard(context.data.trials, dataset, top=context.top)
    finished_count = len(finished(searched_trials))
    section = context.subsection("Leaderboard", "leaderboard")
    if board.empty:
        failed = int((searched_trials["status"] == "failed").sum())
        if searched_trials.empty:
            reason = "this dataset has only reference-recipe trials (see below)"
        else:
            reason = (
                f"all {plural(len(searched_trials), 'searched trial')} failed"
                if failed == len(searched_trials)
                else "no searched trial finished"
            )
        return section.add(Paragraph(f"No leaderboard: {reason}.", "empty"))
    with_run = trials["run_id"].nunique() > 1
    columns = trial_columns(board, with_run=with_run, leading=[Column("rank", "#", "int")])
    caption = (
        f"Top {len(board)} of {plural(finished_count, 'finished searched trial')} on {dataset}, by validation accuracy"
    )
    return section.add(
        format_table(
            board,
            columns,
            caption=caption,
            css_class="leaderboard",
            attrs={"dataset": dataset, "rows": str(len(board)), "finished": str(finished_count)},
        ),
        Note(TEST_FOOTNOTE),
        Note(STOPPED_NOTE.format(stopped=stopped_wording(_schedulers(context.data.runs, trials)))),
    )


def _schedulers(runs: pd.DataFrame, trials: pd.DataFrame) -> list[str]:
    """The schedulers of the runs ``trials`` come from (as ``records.schedulers`` names them)."""
    if "scheduler" not in runs or "run_id" not in runs:
        return []
    return runs.loc[runs["run_id"].isin(trials["run_id"]), "scheduler"].dropna().astype(str).tolist()
