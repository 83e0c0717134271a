"""Section "Expected best accuracy against budget": per dataset and family, Dodge et al.'s curve with its band.

The curve (:mod:`benchmarks.expected_max`) is the expected best validation accuracy after n trials drawn from
the trials that ran, against trials and against trial-hours; where the custom CNN's curve and another family's
cross, a sentence says at which budget the answer changes. Only completed trials are draws: a trial the
scheduler (ASHA) stopped early has the score of a shortened training, so it is left out, and the count of those
is given. Random-sampler runs' trials are used where a dataset has some (independent draws); otherwise the
adaptive sampler's trials are, with the caveat that they are not independent draws.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from benchmarks.expected_max import budget_curve, leader_changes
from benchmarks.models import CUSTOM_CNN, FAMILIES, family_label
from reports import plots
from reports.document import Paragraph, Section, Table
from reports.formatting import fmt_score, fmt_seconds
from reports.sections.base import Context, family_title, figure, plural
from reports.trials import of_dataset, searched

__all__ = ["PLOTS", "build", "curve_trials", "curves", "crossing_sentences", "expected_best_plot"]

#: The plot this section writes, once for the report.
PLOTS = ("expected-best",)

RANDOM = "random"
INTRO = (
    "The expected best validation accuracy after n trials (Dodge et al. 2019, “Show Your Work”): the mean of the "
    "best of n trials drawn at random from those that ran, for n = 1 up to the trials run, with a 95% bootstrap "
    "band; against trial-hours, n trials cost n times the family's mean trial time. It tells how the answer "
    "depends on the search budget. Only completed trials count: a trial ASHA stopped early has the score of a "
    "shortened training, not a full draw, so it is left out (the curves describe trials that ran to the end)."
)


def curve_trials(context: Context, dataset: str) -> tuple[pd.DataFrame, bool, int]:
    """The trials the curves of ``dataset`` are drawn from, whether they are random-sampler trials, and how many
    stopped trials were left out.

    Completed searched trials; those of runs with the random sampler where there are any; and of those, the
    trials of runs with the latest run's budget and epochs, so one curve pools only like trials.
    """
    pool = searched(of_dataset(context.data.trials, dataset))
    runs = context.data.runs.set_index("run_id")
    sampler = pool["run_id"].map(runs["sampler"]) if "sampler" in runs else pd.Series(None, index=pool.index)
    random = bool((sampler == RANDOM).any())
    if random:
        pool = pool[sampler == RANDOM]
    stopped = int((pool["status"] == "stopped").sum())
    done = pool[(pool["status"] == "completed") & pool["val_accuracy"].notna()]
    if done.empty:
        return done, random, stopped
    protocol = done["run_id"].map(lambda run_id: _protocol(runs, run_id))
    same = protocol == protocol.loc[done.sort_values("started_at").index[-1]]
    return done[same], random, stopped


def _protocol(runs: pd.DataFrame, run_id: str) -> str:
    """A run's budget and epochs as one key: trials pooled into a curve share it."""
    if run_id not in runs.index:
        return ""
    return "/".join(str(runs.at[run_id, column]) if column in runs else "" for column in ("budget", "epochs"))


def curves(trials: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per family (in the order of FAMILIES), its :func:`benchmarks.expected_max.budget_curve`."""
    return {key: budget_curve(group["val_accuracy"], group["wall_seconds"])
            for key in FAMILIES if not (group := trials[trials["family"] == key]).empty}


def _budget(value: float, axis: str) -> str:
    return plural(round(value, 1) if value % 1 else int(value), "trial") if axis == "trials" else f"{value:.2g} trial-hours"


def crossing_sentences(dataset: str, by_family: dict[str, pd.DataFrame]) -> list[str]:
    """Per other family: who is ahead at the smallest budget both reached, and where the lead changes, against
    trials and against trial-hours."""
    sentences = []
    if CUSTOM_CNN not in by_family:
        return sentences
    for key in [k for k in by_family if k != CUSTOM_CNN]:
        parts = []
        for axis in ("trials", "trial_hours"):
            cnn, other = by_family[CUSTOM_CNN], by_family[key]
            leader, changes = leader_changes((CUSTOM_CNN, cnn[axis], cnn["expected"]),
                                             (key, other[axis], other["expected"]))
            what = "trials" if axis == "trials" else "trial-hours"
            if leader is None:
                parts.append(f"against {what}, the two curves cover no common budget (or are equal on it)")
            elif not changes:
                parts.append(f"against {what}, {family_label(leader)} is ahead at every budget both reached")
            else:
                moves = "; ".join(f"{family_label(c.leader)} from {_budget(c.budget, axis)} on" for c in changes)
                parts.append(f"against {what}, {family_label(leader)} is ahead at first, then {moves}: "
                             "the answer changes with the budget")
        sentences.append(f"{dataset}, custom CNN vs {family_label(key)}: " + "; ".join(parts) + ".")
    return sentences


def _caveat(dataset: str, random: bool, stopped: int) -> str:
    source = ("these are random-sampler trials, independent draws" if random else
              "these are TPE trials, which are not independent draws (each depends on the earlier ones): the "
              "curve describes this search, and random search would differ; run --sampler random for draws")
    left = f"; {plural(stopped, 'stopped trial')} left out" if stopped else ""
    return f"{dataset}: {source}{left}."


def build(context: Context) -> Section:
    """The section: how to read it, a table of the curves' ends, the crossing sentences and the plot."""
    section = Section("Expected best accuracy against budget", "expected-best")
    drawn: dict[str, dict[str, pd.DataFrame]] = {}
    rows, caveats, sentences = [], [], []
    for dataset in context.data.datasets:
        trials, random, stopped = curve_trials(context, dataset)
        by_family = curves(trials)
        if not by_family:
            continue
        drawn[dataset] = by_family
        caveats.append(_caveat(dataset, random, stopped))
        sentences += crossing_sentences(dataset, by_family)
        for key, curve in by_family.items():
            last = curve.iloc[-1]
            rows.append([dataset, family_title(key), str(len(curve)), RANDOM if random else "adaptive (TPE)",
                         fmt_seconds(curve["trial_hours"].iat[0] * 3600), fmt_score(curve["expected"].iat[0]),
                         f"{fmt_score(last['expected'])} ({fmt_score(last['low'])} to {fmt_score(last['high'])})"])
    if not drawn:
        return section.add(Paragraph("No completed search trial, so no curve.", "empty"))
    section.add(Paragraph(INTRO), Table(
        columns=["Dataset", "Family", "Trials", "Sampler", "Mean trial time", "Expected best of 1",
                 "Expected best of all (95% band)"],
        rows=rows, caption="Expected best validation accuracy per dataset and family",
        numeric=[False, False, True, False, True, True, True], css_class="budget"))
    section.add(*(Paragraph(s) for s in sentences))
    path = expected_best_plot(drawn, context.plot_path("expected-best"))
    return section.add(figure(path, "Expected best validation accuracy against trials and trial-hours",
                              "Lines: expected best validation accuracy; bands: 95% bootstrap. " + " ".join(caveats)))


def expected_best_plot(drawn: dict[str, dict[str, pd.DataFrame]], path: str | os.PathLike) -> Path:
    """One row per dataset: the families' curves with bands against trials (left) and trial-hours (right)."""
    plots.style()
    datasets: Sequence[str] = list(drawn)
    fig, axes = plt.subplots(len(datasets), 2, figsize=(10, 3.2 * len(datasets)), squeeze=False)
    for row, dataset in zip(axes, datasets, strict=True):
        for ax, axis, label in zip(row, ("trials", "trial_hours"), ("trials", "trial-hours"), strict=True):
            for key, curve in drawn[dataset].items():
                color = plots.FAMILY_COLORS.get(key)
                ax.plot(curve[axis], curve["expected"], marker="o", markersize=3, color=color,
                        label=family_title(key))
                ax.fill_between(curve[axis], curve["low"], curve["high"], color=color, alpha=0.2)
            ax.yaxis.set_major_formatter(plots.PERCENT)
            ax.set_xlabel(label)
            ax.set_ylabel("expected best val. accuracy")
            ax.set_title(f"{plots.short(dataset, 34)}: against {label}")
        row[0].legend(loc="lower right", frameon=False)
    return plots.save(fig, path)
