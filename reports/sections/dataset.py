"""Section "Dataset: <name>", one per dataset: what was run on it; the dataset sections are built into it."""

from __future__ import annotations

import pandas as pd

from reports.document import Paragraph, Section
from reports.formatting import fmt_datetime
from reports.sections.base import Context, extra_counts, plural, trial_counts
from reports.trials import of_dataset

__all__ = ["EACH_DATASET", "PLOTS", "build", "dataset_overview"]

#: Built once per dataset, holding the sections of :data:`reports.sections.DATASET_SECTIONS`.
EACH_DATASET = True
PLOTS: tuple[str, ...] = ()


def dataset_overview(trials: pd.DataFrame, datasets: list[str] | None = None) -> pd.DataFrame:
    """Per dataset: runs, trials, completed, stopped, failed, reference trials, first start and last finish."""
    datasets = datasets if datasets is not None else list(dict.fromkeys(trials["dataset"]))
    rows = []
    for dataset in datasets:
        group = of_dataset(trials, dataset)
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


def build(context: Context) -> Section:
    """The dataset's section, opened by its trial counts, runs and time span."""
    trials = context.trials
    runs = list(dict.fromkeys(trials["run_name"]))
    return Section(f"Dataset: {context.dataset}", context.anchor).add(
        Paragraph(
            f"{trial_counts(trials)} from {plural(len(runs), 'run')}: "
            f"{', '.join(runs)}; trials ran from {fmt_datetime(trials['started_at'].min())} to "
            f"{fmt_datetime(trials['finished_at'].max())} UTC{extra_counts(trials)}."
        )
    )
