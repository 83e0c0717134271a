"""Section "Finalists" of a dataset: every repeat of its finalists, and which of them the summary compares."""

from __future__ import annotations

import pandas as pd

from reports.document import Note, Section
from reports.sections.base import Column, Context, family_title, format_table, plural
from reports.sections.headline import headline_repeats
from reports.trials import of_dataset, repeats, trial_table

__all__ = ["PLOTS", "build", "finalist_repeats"]

PLOTS: tuple[str, ...] = ()

FINALISTS_NOTE = (
    "Each row is a repeat: a finalist (the best search trial of its family, by validation accuracy) trained "
    "again with another seed, then tested. Repeats are not search trials: they are left out of the leaderboard "
    "and the plots of the search."
)


def finalist_repeats(trials: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Every repeat of ``dataset`` (failed ones too), by run, the search trial it repeats (``finalist``), seed."""
    frame = repeats(of_dataset(trials, dataset))
    frame = frame.assign(run_order=frame.groupby("run_id")["id"].transform("min"))
    frame = frame.sort_values(["run_order", "finalist", "seed", "id"], kind="mergesort")
    return trial_table(frame, "finalist", "seed").reset_index(drop=True)


def build(context: Context) -> Section | None:
    """The table of repeats; None where no finalist of the dataset was repeated."""
    data, dataset = context.data, context.dataset
    frame = finalist_repeats(data.trials, dataset)
    if frame.empty:
        return None
    frame = frame.assign(family=frame["family"].map(family_title))
    used = headline_repeats(data.trials, data.runs, dataset)
    compared = ", ".join(dict.fromkeys(used["finalist"])) or "none (no repeat was tested)"
    return context.subsection("Finalists", "finalists").add(
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
                f"{plural(len(frame), 'repeat')} of {plural(frame['finalist'].nunique(), 'finalist')} on {dataset}"
            ),
            css_class="finalists",
            attrs={"dataset": dataset, "rows": str(len(frame))},
        ),
        Note(FINALISTS_NOTE),
        Note(f"The summary at the top compares the tested repeats of {compared}."),
    )
