"""Putting the report together: the introduction, then every section :mod:`reports.sections` lists, in order.

What each section shows (its tables, plots, and a plain sentence wherever there is no data) lives in its
own module under ``reports/sections/``; the plot files a report wrote are the ones its figures carry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmarks.models import FAMILIES
from reports import sections
from reports.data import ReportData
from reports.document import Document, Paragraph
from reports.formatting import fmt_datetime
from reports.sections.base import (
    Column,
    Context,
    extra_counts,
    family_title,
    format_table,
    plural,
    slugify,
    trial_counts,
)

__all__ = ["Column", "Report", "compose", "format_table", "slugify"]

TITLE = "Custom CNN or transfer learning? Hyperparameter search report"


@dataclass
class Report:
    """A composed report: the document, the plot files written, and what it covers."""

    document: Document
    plots: list[Path] = field(default_factory=list)
    trials: int = 0
    runs: int = 0
    datasets: int = 0


def _intro(data: ReportData, generated: dt.datetime) -> list[Paragraph]:
    """What the report covers (runs, datasets, time span, trials, families) and where its numbers come from."""
    trials = data.trials
    runs = list(dict.fromkeys(trials.sort_values("id")["run_name"]))
    started = pd.concat([trials["started_at"], data.runs["started_at"]]).min()
    finished_at = pd.concat([trials["finished_at"], data.runs["finished_at"]]).max()
    families = [family_title(f) for f in FAMILIES if (trials["family"] == f).any()]
    return [
        Paragraph(
            f"Covers {plural(len(runs), 'run')} ({', '.join(runs)}) on {plural(len(data.datasets), 'dataset')} "
            f"({', '.join(data.datasets)}), which ran from {fmt_datetime(started)} to {fmt_datetime(finished_at)} UTC: "
            f"{trial_counts(trials)}{extra_counts(trials)}"
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
    generated = generated or dt.datetime.now(dt.UTC)
    context = Context(data, Path(out_dir), top=top, generated=generated)
    document = Document(title=TITLE, intro=_intro(data, generated), sections=sections.build_sections(context))
    runs = data.trials["run_id"].nunique()
    return Report(document, document.plots(), trials=len(data.trials), runs=runs, datasets=len(data.datasets))
