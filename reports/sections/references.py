"""Section "Reference recipes" of a dataset: fixed recipes next to the searched best, and published figures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchmarks.models import family, family_label
from reports.document import Note, Section
from reports.sections.base import Column, Context, format_table, trial_columns
from reports.trials import TRIAL_COLUMNS, finished, of_dataset, ranked, searched, trial_table
from search_spaces import PUBLISHED_METRICS, reproduced_figures, train_accuracy_at_best

__all__ = ["PLOTS", "build", "published_comparison", "reference_comparison"]

PLOTS: tuple[str, ...] = ()

REFERENCE_TEST_NOTE = (
    "* Test figures: every trial of a reference recipe is evaluated on the test split (its configuration is fixed, "
    "nothing was selected); of a search, only each run's best trial by validation accuracy is, so a searched row "
    "shows “—” (not evaluated) unless it is its run's best. Best models are picked by validation accuracy, never "
    "by test accuracy."
)
PUBLISHED_NOTE = (
    "Published precision, recall and F1 are compared with our macro averages; train accuracy is from the epoch of "
    "best validation accuracy; Searched best is the dataset's best searched trial by validation accuracy."
)


def reference_comparison(trials: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Reference-recipe trials of ``dataset`` next to the searched best of each family.

    Empty when the dataset has no reference trials. Column ``role`` says which row is which, naming the family
    of a searched best (``searched best (transfer learning)``).
    """
    trials = of_dataset(trials, dataset)
    references = trials[trials["is_reference"]]
    if references.empty:
        return pd.DataFrame(columns=["role", "is_best", *TRIAL_COLUMNS])
    best = ranked(searched(trials)).groupby("family", sort=False).head(1)
    best = best.assign(role=[f"searched best ({family_label(f)})" for f in best["family"]])
    refs = references.sort_values(["val_accuracy", "id"], ascending=[False, True], na_position="last")
    refs = refs.assign(role="reference recipe")
    frame = pd.concat([best, refs], ignore_index=True)
    return trial_table(frame, "role", "is_best")


def _run_field(runs: pd.DataFrame, run_id: str, column: str) -> Any:
    if column not in runs or not len(runs):
        return None
    match = runs.loc[runs["run_id"] == run_id, column]
    return match.iloc[0] if len(match) else None


def _figures(trial: pd.Series, runs: pd.DataFrame) -> dict[str, Any]:
    """A trial's figures under the published keys: full test metrics where it is its run's tested best,
    else the test accuracy and F1 stored on the trial (a reference recipe's other variants)."""
    metrics = _run_field(runs, trial["run_id"], "test_metrics_dict") if trial["is_best"] else None
    if not isinstance(metrics, dict):
        stored = {"accuracy": trial["test_accuracy"], "f1_macro": trial["test_f1_macro"]}
        metrics = {k: v for k, v in stored.items() if pd.notna(v)}
    return reproduced_figures(metrics, trial["val_accuracy"], train_accuracy_at_best(trial["history_list"]))


def published_comparison(trials: pd.DataFrame, runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Published, reproduced and searched figures side by side for each reference-recipe trial of ``dataset``.

    One row per (reference trial, figure): every figure its recipe published, plus validation and test
    accuracy. ``reproduced`` is the reference trial's own figure; ``searched`` is the figure of the best
    searched trial of the dataset (by validation accuracy; test figures only where it was evaluated).
    Columns: ``label``, ``space``, ``variant``, ``metric``, ``metric_label``, ``published``, ``reproduced``,
    ``searched`` and ``note`` (the recipe's published remark); empty without reference trials. ``runs`` is
    a prepared runs frame (``published_dict``). ``comparable`` is False where the reference trial trained a
    pretrained backbone from scratch (family ``scratch``, weights none): recipes publish figures of the
    pretrained backbone, so its figures and the published ones do not measure the same thing.
    """
    columns = [
        "label", "space", "variant", "family", "backbone", "comparable", "metric", "metric_label", "published",
        "reproduced", "searched", "note",
    ]  # fmt: skip
    trials = of_dataset(trials, dataset)
    references = finished(trials[trials["is_reference"]]).sort_values("id")
    if references.empty:
        return pd.DataFrame(columns=columns)
    best = ranked(searched(trials)).head(1)
    searched_figures = _figures(best.iloc[0], runs) if len(best) else {}
    rows = []
    for _, trial in references.iterrows():
        published = _run_field(runs, trial["run_id"], "published_dict") or {}
        figures = _figures(trial, runs)
        for key, label in PUBLISHED_METRICS.items():
            if key in published or key in ("val_accuracy", "test_accuracy"):
                rows.append(
                    {
                        "label": trial["label"],
                        "space": trial["space"],
                        "variant": trial["config_dict"].get("variant"),
                        "family": trial["family"],
                        "backbone": trial["backbone"],
                        "comparable": trial["family"] == family(trial["backbone"]),
                        "metric": key,
                        "metric_label": label,
                        "published": published.get(key, np.nan),
                        "reproduced": figures[key],
                        "searched": searched_figures.get(key),
                        "note": published.get("note"),
                    }
                )
    return pd.DataFrame(rows, columns=columns)


def _not_comparable(figures: pd.DataFrame) -> list[Note]:
    """One plain note per reference trial whose figures cannot be set against the published ones."""
    apart = figures.loc[~figures["comparable"].astype(bool), ["label", "backbone"]].drop_duplicates("label")
    return [
        Note(
            f"{label} is not comparable with the published figures: this run trained {backbone} from scratch "
            "(no pretrained weights), while the published figures used pretrained weights."
        )
        for label, backbone in apart.itertuples(index=False)
    ]


def build(context: Context) -> Section | None:
    """The reference recipes against the searched best, then the published figures; None without references."""
    data, dataset = context.data, context.dataset
    frame = reference_comparison(data.trials, dataset)
    if frame.empty:
        return None
    columns = trial_columns(frame, with_run=True, leading=[Column("role", "Role")])
    section = context.subsection("Reference recipes", "references")
    section.add(
        format_table(
            frame,
            columns,
            caption=f"Fixed reference recipes next to the searched best on {dataset}",
            css_class="references",
        ),
        Note(REFERENCE_TEST_NOTE),
    )
    figures = published_comparison(data.trials, data.runs, dataset)
    if figures.empty:
        return section
    variant = figures["variant"].map(lambda v: f" ({v})" if isinstance(v, str) and v else "")
    scratch = figures["comparable"].map(lambda comparable: "" if comparable else " (from scratch: not comparable)")
    figures = figures.assign(recipe=figures["label"] + variant + scratch)
    section.add(
        format_table(
            figures,
            [
                Column("recipe", "Reference trial"),
                Column("space", "Recipe"),
                Column("metric_label", "Figure"),
                Column("published", "Published", "score"),
                Column("reproduced", "Reproduced", "score"),
                Column("searched", "Searched best", "score"),
            ],
            caption=f"Published, reproduced and searched figures on {dataset}",
            css_class="published",
        ),
        Note(PUBLISHED_NOTE),
        *_not_comparable(figures),
    )
    for space, note in figures[["space", "note"]].dropna().drop_duplicates().itertuples(index=False):
        section.add(Note(f"{space}: {note}."))
    return section
