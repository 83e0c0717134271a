"""Section "Custom CNN vs ...": every dataset's custom CNN against the other family, and a plot of all trials.

Where a dataset's finalists were repeated its line compares them (means with 95% intervals); elsewhere it
compares the best search trial of each family (see :mod:`reports.sections.headline`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from benchmarks.models import CUSTOM_CNN, FAMILIES, family_label
from reports import plots
from reports.document import Note, Paragraph, Section, Table
from reports.sections.across import summary_sentences
from reports.sections.base import TEST_FOOTNOTE, Context, family_title, figure
from reports.sections.headline import Headline, headlines
from reports.trials import finished, searched

__all__ = ["PLOTS", "build", "family_comparison_plot"]

#: The plot this section writes, once for the report.
PLOTS = ("family-comparison",)

FINALISTS_FOOTNOTE = (
    "* How to read it: each family's finalist, its best search trial by validation accuracy (never by test "
    "accuracy), was trained again with {seeds} different seeds and every repeat was tested. A test figure is the "
    "mean over the repeats with its 95% Student-t interval (n = tested repeats; a repeat that failed is neither "
    "tested nor counted). Difference is {other} minus custom CNN: for test accuracy a paired bootstrap over the "
    "test images and the repeats where every repeat's predictions were stored (it covers the test set's own "
    "sampling error), else Welch's 95% interval over the repeats. A difference whose interval spans 0 is no clear "
    "difference; a single repeat on a side, or repeats with no spread, give no interval. Only runs tested on the "
    "same images after the same protocol are compared. Each family gets half of a search's trials and early "
    "stopping compares trials of one family only (Search effort). Validation accuracy, parameters and time are "
    "means over the repeats."
)
REPEATED_INTRO = (
    "each family's finalist (its best search trial by validation accuracy) trained again with several seeds and "
    "tested, test figures as a mean with a 95% interval"
)
BEST_TRIAL_INTRO = "the searched trial with the best validation accuracy in each family, side by side"


def _others(families: Sequence[str]) -> list[str]:
    """The families among ``families`` that the custom CNN is compared with, in the order of FAMILIES
    (transfer learning where there is none)."""
    return [f for f in FAMILIES if f != CUSTOM_CNN and f in set(families)] or ["transfer"]


def _versus(families: Sequence[str], joiner: str = " and ") -> str:
    """What the custom CNN is compared with: ``transfer learning``, ``backbone from scratch`` or both."""
    return joiner.join(family_label(f) for f in _others(families))


def _footnotes(lines: Sequence[Headline], other: str) -> list[Note]:
    """How to read the summary: the finalists' repeats and intervals, and where needed the best trials' tests."""
    notes = []
    counts = sorted({n for h in lines for n in h.repeats})
    if counts:
        seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
        notes.append(Note(FINALISTS_FOOTNOTE.format(seeds=seeds, other=other)))
    if any(not h.repeats for h in lines):
        text = TEST_FOOTNOTE.removeprefix("* ")
        text = f"For datasets without repeats, {text[:1].lower()}{text[1:]}" if counts else text
        notes.append(Note(f"* {text}"))
    return notes


def _intro(lines: Sequence[Headline], other: str) -> Paragraph:
    """What the summary table compares: finalists' repeats, best trials, or each where it applies."""
    repeated, best = any(h.repeats for h in lines), any(not h.repeats for h in lines)
    if repeated and best:
        compared = f"where finalists were repeated, {REPEATED_INTRO}; elsewhere {BEST_TRIAL_INTRO}"
    else:
        compared = REPEATED_INTRO if repeated else BEST_TRIAL_INTRO
    return Paragraph(
        f"For each dataset, the custom CNN against the other family: {compared}. "
        f"Difference = {other} minus custom CNN."
    )


def _table(lines: Sequence[Headline], others: Sequence[str]) -> Table:
    """Every dataset's headline rows in one table, its other column named by the families it compares."""
    rows: list[list[str]] = []
    starts: set[int] = set()
    for line in lines:
        starts.add(len(rows))
        rows.extend(line.rows)
    other = _versus(others, " or ")
    caption = (
        f"Finalists per dataset: custom CNN against {other}, test figures over the repeats"
        if any(h.repeats for h in lines)
        else f"Best custom CNN and best {other} model per dataset"
    )
    return Table(
        columns=["Dataset", "Measure", family_title(CUSTOM_CNN), " / ".join(map(family_title, _others(others))),
                 "Difference"],
        rows=rows,
        caption=caption,
        numeric=[False, False, True, True, True],
        css_class="comparison",
        group_starts=starts,
    )


def build(context: Context) -> Section:
    """The summary section: the comparison table, how to read it, each dataset's verdict and the plot."""
    data = context.data
    versus = _versus(data.trials["family"])
    section = Section(f"Custom CNN vs {versus}", "summary")
    lines = headlines(data)
    others = [h.other for h in lines if h.other]
    other = _versus(others, " or ")
    section.add(
        *summary_sentences(data),  # the one sentence over the datasets, at the top of the report
        _intro(lines, other),
        _table(lines, others),
        *_footnotes(lines, other),
        *(Paragraph(sentence) for line in lines for sentence in line.sentences),
    )
    path = family_comparison_plot(data.trials, data.datasets, context.plot_path("family-comparison"))
    if path is None:
        return section.add(Paragraph(f"No plot of custom CNN vs {versus}: no trial finished.", "empty"))
    return section.add(
        figure(
            path,
            "Validation accuracy of every finished search trial by dataset and family",
            "Each dot is a finished search trial (reference recipes and finalists' repeats excluded); diamonds "
            "mark the best of each family.",
        )
    )


def family_comparison_plot(trials: pd.DataFrame, datasets: Sequence[str], path: str | os.PathLike) -> Path | None:
    """Validation accuracy of every finished searched trial, per dataset and family; the best of each marked."""
    data = plots.with_family_label(finished(searched(trials)))
    data = data[data["dataset"].isin(datasets)]
    if data.empty:
        return None
    plots.style()
    order = [d for d in datasets if d in set(data["dataset"])]
    hue_order = plots.family_order(data)
    palette = plots.family_palette(hue_order)
    height = max(2.6, 0.9 * len(order) * len(hue_order) + 1.2)
    fig, ax = plt.subplots(figsize=(10, height))
    sns.stripplot(
        data=data, y="dataset", x="val_accuracy", hue="family_label", order=order, hue_order=hue_order,
        palette=palette, dodge=True, jitter=0.15, alpha=0.55, size=6, ax=ax,
    )  # fmt: skip
    best = data.sort_values("val_accuracy", ascending=False).groupby(["dataset", "family_label"]).head(1)
    sns.stripplot(
        data=best, y="dataset", x="val_accuracy", hue="family_label", order=order, hue_order=hue_order,
        palette=palette, dodge=True, jitter=False, marker="D", size=11, edgecolor="black", linewidth=1.2,
        legend=False, ax=ax,
    )  # fmt: skip
    ax.xaxis.set_major_formatter(plots.PERCENT)
    ax.set_xlabel("validation accuracy (◆ = best of the family)")
    ax.set_ylabel("")
    ax.set_yticks(range(len(order)), [plots.short(d, 34) for d in order])
    ax.set_title(f"{' vs '.join(hue_order)}: every finished search trial per dataset")
    ax.legend(title=None, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return plots.save(fig, path)
