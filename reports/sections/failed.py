"""Section "Failed trials" of a dataset: every failed trial with its one-line error."""

from __future__ import annotations

import pandas as pd

from reports.document import Section
from reports.sections.base import Column, Context, format_table, plural
from reports.trials import of_dataset

__all__ = ["PLOTS", "build", "failed_trials"]

PLOTS: tuple[str, ...] = ()


def failed_trials(trials: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The failed trials of ``dataset`` with their one-line error messages."""
    failed = of_dataset(trials, dataset)
    failed = failed[failed["status"] == "failed"].sort_values("id")
    return failed[
        ["label", "run_name", "trial_id", "family", "backbone", "is_reference", "error", "started_at"]
    ].reset_index(drop=True)


def build(context: Context) -> Section | None:
    """The table of failed trials; None where none failed."""
    failed = failed_trials(context.data.trials, context.dataset)
    if failed.empty:
        return None
    return context.subsection("Failed trials", "failed").add(
        format_table(
            failed,
            [
                Column("run_name", "Run"),
                Column("trial_id", "Trial"),
                Column("backbone", "Backbone"),
                Column("error", "Error"),
                Column("started_at", "Started (UTC)", "datetime"),
            ],
            caption=f"{plural(len(failed), 'failed trial')} on {context.dataset}",
            css_class="failed",
        )
    )
