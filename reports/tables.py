"""The report's tables as pandas DataFrames of raw values, gathered in one place for callers and tests.

Each DataFrame is built by the section that shows it (``reports/sections/``) from the shared selections
of :mod:`reports.trials` (searched, finished, ranked trials); formatting happens in the sections.
"""

from __future__ import annotations

from reports.sections.backbones import backbone_by_dataset, backbone_summary
from reports.sections.best_model import best_model, per_class_table, test_metrics_table
from reports.sections.dataset import dataset_overview
from reports.sections.failed import failed_trials
from reports.sections.finalists import finalist_repeats
from reports.sections.headline import (
    SUMMARY_METRICS,
    best_by_family,
    family_comparison,
    family_difference,
    finalist_comparison,
    finalist_costs,
    headline_repeats,
    other_family,
)
from reports.sections.leaderboard import leaderboard
from reports.sections.progress import search_progress
from reports.sections.references import published_comparison, reference_comparison
from reports.sections.runs import run_summary
from reports.trials import finished, ranked, repeats, searched

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
    "finalist_costs",
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
