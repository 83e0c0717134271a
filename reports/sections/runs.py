"""Section "Runs covered": every run on the report's datasets, its settings, status, time span, trials and machine.

The machine (CPU, cores, memory, GPUs) and the software versions come from the run's stored environment
(``records.environment``): training times and latencies are only comparable between runs of one machine.
"""

from __future__ import annotations

import pandas as pd

from records.environment import environment_of, machine_label, versions_label
from reports.document import Note, Section
from reports.sections.base import Column, Context, format_table, plural

__all__ = ["PLOTS", "build", "machine_notes", "run_summary"]

PLOTS: tuple[str, ...] = ()


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
    environments = [environment_of(row) for row in runs.reindex(columns=["environment"]).to_dict("records")]
    frame["machine"] = [machine_label(e) or None for e in environments]
    frame["versions"] = [versions_label(e) or None for e in environments]
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


def build(context: Context) -> Section:
    """The runs section: one row per run of the report's datasets."""
    section = Section("Runs covered", "runs")
    frame = run_summary(context.data.runs, context.data.trials)
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
                Column("machine", "Machine"),
            ],
            caption=f"{plural(len(frame), 'run')} on the datasets in this report",
            css_class="runs",
        ),
        *(Note(line) for line in machine_notes(frame)),
    )


def machine_notes(frame: pd.DataFrame) -> list[str]:
    """Notes under the runs table: each run's software versions, and whether its times compare across runs.

    ``frame`` is :func:`run_summary`'s; runs with the same versions share one line.
    """
    known = frame[frame["machine"].notna()]
    if not len(known):
        return []
    machines = known["machine"].nunique()
    lines = [
        "Training times and latencies are measured on the machine of their run (the Machine column)"
        + ("; these runs ran on one machine." if machines == 1
           else f"; these runs ran on {machines} machines: compare times only between runs of one machine.")
    ]
    for versions, runs in known.groupby("versions", sort=False)["run_name"]:
        lines.append(f"Software of {', '.join(str(name) for name in runs)}: {versions}.")
    return lines
