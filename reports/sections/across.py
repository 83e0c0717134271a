"""Section "Across datasets": the finalists of every dataset side by side, win/tie/loss, ranks, Friedman and CD.

Each dataset speaks through one run (:func:`reports.across.comparable_finalists`); the statistics over the
datasets are :mod:`benchmarks.across_datasets`'s. The critical-difference diagram (Demšar 2006) is drawn by
scikit-posthocs from the average ranks and Nemenyi's p-values, from three datasets and three models up.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from benchmarks.across_datasets import (
    CUSTOM_BETTER, MIN_DATASETS, NO_CLEAR, OTHER_BETTER, Comparison, Friedman, average_ranks, complete_models,
    friedman, friedman_needs, suite_sentence,
)
from benchmarks.models import family_label
from benchmarks.stats import Difference
from reports import plots
from reports.across import column_label, comparable_finalists, finalist_table, mean_scores, per_backbone
from reports.document import Note, Paragraph, Section, Table
from reports.formatting import fmt_difference, fmt_interval
from reports.sections.base import Context, figure, plural

__all__ = ["PLOTS", "build", "critical_difference_plot", "summary_sentences"]

#: The plot this section writes, once for the report.
PLOTS = ("critical-difference",)

_OUTCOME_WORDS = {OTHER_BETTER: "{other} better", CUSTOM_BETTER: "custom CNN better",
                  NO_CLEAR: "no clear difference (a tie)"}
HOW_TO_READ = (
    "* How to read it: each dataset's figures come from one run, its latest finished run whose finalists compare "
    "the custom CNN with another family (one run's finalists are tested on one test split). A cell is the "
    "finalist's mean test accuracy over its repeats with its 95% interval. Win/tie/loss counts a dataset as a "
    "win of the other family where the interval of its difference lies above 0, a loss below 0, and a tie "
    "where it spans 0; the two-sided sign test counts wins against losses, ties excluded. Ranks: on each "
    "dataset the models are ranked by mean test accuracy (1 = best; ties share the average rank), then averaged "
    "over the datasets, so an easy dataset does not outweigh a hard one."
)
CD_CAPTION = (
    "Critical-difference diagram (Demšar 2006): each model at its average rank over the datasets (1 = best, "
    "left to right by rank); a bar joins models that Nemenyi's test at α = {alpha} cannot tell apart, i.e. "
    "whose average ranks differ by less than the critical difference CD = {cd:.2f}."
)


def summary_sentences(data) -> list[Paragraph]:
    """The one sentence over the datasets for the top of the report; none where no dataset has a comparison."""
    comparisons = comparable_finalists(data)
    if not comparisons:
        return []
    return [Paragraph(f"Across datasets: {suite_sentence(comparisons)} (see “Across datasets”).")]


def _interval_table(table: pd.DataFrame, by: str, caption: str) -> Table:
    rows = [[dataset, *(fmt_interval(cell) for cell in table.loc[dataset])] for dataset in table.index]
    return Table(columns=["Dataset", *(column_label(c, by) for c in table.columns)], rows=rows, caption=caption,
                 numeric=[False, *[True] * len(table.columns)], css_class="across")


def _difference(comparison: Comparison) -> Difference | None:
    stored = (comparison.finalists.get("difference") or {}).get("test_accuracy") or {}
    if stored.get("mean") is None:
        return None
    names = set(Difference.__dataclass_fields__)
    return Difference(**{key: value for key, value in stored.items() if key in names})


def _label(comparison: Comparison, side: str) -> str:
    key = comparison.finalists.get(side)
    entry = next((f for f in comparison.finalists.get("finalists") or [] if f.get("repeat_of") == key), {})
    return str(entry.get("label") or family_label(str(entry.get("family", "the other family"))))


def _win_tie_loss(comparisons: dict[str, Comparison]) -> Table:
    rows = []
    for dataset, comparison in comparisons.items():
        other = _label(comparison, "other")
        rows.append([dataset, f"custom CNN vs {other}", fmt_difference(_difference(comparison)),
                     _OUTCOME_WORDS[comparison.outcome].format(other=other), comparison.run_name])
    return Table(columns=["Dataset", "Compared", "Difference (other − custom CNN)", "Outcome", "Run"], rows=rows,
                 caption="Win/tie/loss of the other family against the custom CNN, test accuracy",
                 numeric=[False, False, True, False, False], css_class="across")


def _ranks_table(scores: pd.DataFrame, by: str) -> Table | Paragraph:
    ranks = average_ranks(scores)
    complete = complete_models(scores)
    if ranks.empty:
        return Paragraph(f"No {by} has finalists on every dataset, so there are no average ranks.", "empty")
    left = [column_label(c, by) for c in scores.columns if c not in complete.columns]
    caption = f"Average rank per {by} over {plural(len(complete), 'dataset')} (1 = best)"
    caption += f"; left out, not on every dataset: {', '.join(left)}" if left else ""
    return Table(columns=[by.capitalize(), "Average rank"], rows=[[column_label(k, by), f"{v:.2f}"]
                                                                 for k, v in ranks.items()],
                 caption=caption, numeric=[False, True], css_class="across")


def build(context: Context) -> Section:
    """The section: per-dataset tables, win/tie/loss with the sign test, ranks, and Friedman with its diagram."""
    section = Section("Across datasets", "across-datasets")
    comparisons = comparable_finalists(context.data)
    if not comparisons:
        return section.add(Paragraph(
            "No dataset has a comparison yet: a run needs repeated and tested finalists of the custom CNN and of "
            f"another family (--repeats N). A Friedman test needs {MIN_DATASETS} datasets with one.", "empty"))
    families = finalist_table(comparisons, "family")
    section.add(Paragraph(suite_sentence(comparisons) + "."),
                _interval_table(families, "family", "Mean test accuracy of each family's finalist per dataset"))
    by, scores = "family", mean_scores(families)
    if per_backbone(comparisons):
        models = finalist_table(comparisons, "model")
        section.add(_interval_table(models, "model", "Mean test accuracy of each backbone's finalist per dataset"))
        by, scores = "model", mean_scores(models)
    section.add(_win_tie_loss(comparisons), Note(HOW_TO_READ), _ranks_table(scores, by))
    reason = friedman_needs(scores)
    if reason:
        return section.add(Paragraph(f"No Friedman test or critical-difference diagram: {reason}.", "empty"))
    result = friedman(scores)
    section.add(Paragraph(
        f"Friedman test over {result.datasets} datasets and {result.models} {by}s: χ² = {result.statistic:.2f}, "
        f"p = {result.p_value:.2g}" + ("; the ranks differ." if result.p_value < result.alpha else
                                      "; the ranks do not differ clearly, so no pair below is told apart "
                                      "with confidence either.")))
    path = critical_difference_plot(result, by, context.plot_path("critical-difference"))
    return section.add(figure(path, "Critical-difference diagram of the average ranks",
                              CD_CAPTION.format(alpha=result.alpha, cd=result.critical_difference)))


def critical_difference_plot(result: Friedman, by: str, path: str | os.PathLike) -> Path:
    """The critical-difference diagram of ``result`` (scikit-posthocs), with its CD marked, saved to ``path``."""
    import scikit_posthocs

    labels = {key: column_label(key, by) for key in result.ranks.index}
    ranks = result.ranks.rename(index=labels)
    nemenyi = result.nemenyi.rename(index=labels, columns=labels)
    with plt.style.context("default"):  # no grid: the diagram draws its own axis
        fig, ax = plt.subplots(figsize=(8, 1.6 + 0.4 * result.models))
        scikit_posthocs.critical_difference_diagram(ranks, nemenyi, cd=result.critical_difference,
                                                    alpha=result.alpha, ax=ax)
        ax.set_title(f"Average rank over {result.datasets} datasets (Friedman p = {result.p_value:.2g})", pad=45)
        return plots.save(fig, path)
