"""The benchmark across datasets: win/tie/loss with a sign test, average ranks, a Friedman test with Nemenyi.

Each dataset contributes one comparison: the custom CNN's finalist against the best other finalist, each
trained again with several seeds and tested (``runs.finalists``, see :mod:`benchmarks.comparison`). Here those
per-dataset answers become one answer over the datasets, the way Demšar (2006, "Statistical Comparisons of
Classifiers over Multiple Data Sets", JMLR 7) recommends comparing models over several datasets:

* **win/tie/loss and a sign test**: the other family is better on a dataset where its interval of the difference
  lies above 0, worse where it lies below, a tie ("no clear difference") where it spans 0. The two-sided sign
  test (``scipy.stats.binomtest``, p = 1/2) counts wins against losses; ties are left out of it.
* **average ranks**: on each dataset the models are ranked by mean test accuracy, 1 the best, ties sharing the
  average of their ranks (``scipy.stats.rankdata``); the ranks are averaged over the datasets. Ranks, unlike
  raw accuracies, do not let an easy dataset outweigh a hard one.
* **Friedman test** (``scipy.stats.friedmanchisquare``) of the ranks, from :data:`MIN_DATASETS` datasets and
  :data:`MIN_MODELS` models up, and Nemenyi's post-hoc test of every pair (``scikit_posthocs``) with its
  critical difference: two models whose average ranks differ by less are not told apart at ``alpha``.

scikit-posthocs is used rather than autorank: it draws the critical-difference diagram from the ranks and the
post-hoc p-values this module computes (``critical_difference_diagram``), so the test run and the picture
drawn are the same ones, and it needs no more than scipy, statsmodels and the plotting libraries the project
has; autorank picks its own tests (by normality and variance checks) and adds a Bayesian-test dependency.

>>> results = [{"dataset": "a", "finalists": {"outcome": "other_better"}},
...            {"dataset": "b", "finalists": {"difference": {"test_accuracy": {"mean": 0.01, "low": -0.02,
...                                                                          "high": 0.04}}}}]
>>> [outcome(r["finalists"]) for r in results]
['other_better', 'no_clear_difference']
>>> tally = sign_test(["other_better", "other_better", "no_clear_difference", "custom_better"])
>>> (tally.better, tally.ties, tally.worse, round(tally.p_value, 3))
(2, 1, 1, 1.0)
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.models._family import CUSTOM_CNN, family_label

__all__ = [
    "ALPHA", "CUSTOM_BETTER", "MIN_DATASETS", "MIN_MODELS", "NO_CLEAR", "NO_COMPARISON", "OTHER_BETTER",
    "OUTCOMES", "Comparison", "Friedman", "SignTest", "average_ranks", "complete_models", "friedman",
    "friedman_needs", "latest_comparisons", "other_family", "outcome", "rank_table", "suite_sentence",
    "sign_test",
]

OTHER_BETTER, CUSTOM_BETTER, NO_CLEAR, NO_COMPARISON = (
    "other_better", "custom_better", "no_clear_difference", "no_comparison")
#: A dataset's answer: the other finalist better, the custom CNN better, a tie, or nothing to compare.
OUTCOMES = (OTHER_BETTER, CUSTOM_BETTER, NO_CLEAR, NO_COMPARISON)
#: A Friedman test (and its diagram) needs this many datasets, and this many models ranked on each.
MIN_DATASETS = 3
MIN_MODELS = 3
ALPHA = 0.05


def _parsed(finalists: Any) -> dict[str, Any] | None:
    """``runs.finalists`` as a dict (it is JSON text in the database), None where there is none."""
    if isinstance(finalists, str):
        try:
            finalists = json.loads(finalists)
        except ValueError:
            return None
    return finalists if isinstance(finalists, dict) else None


def outcome(finalists: Any) -> str:
    """A run's answer, one of :data:`OUTCOMES`: the stored ``outcome``, else read from its difference.

    Without a stored outcome, the test-accuracy difference (other minus custom CNN) decides: an interval above
    0 is ``other_better``, below 0 ``custom_better``, spanning 0 or missing (a single repeat) a tie; no
    difference at all is ``no_comparison``.
    """
    stored = _parsed(finalists)
    if stored is None:
        return NO_COMPARISON
    if stored.get("outcome") in OUTCOMES:
        return str(stored["outcome"])
    difference = (stored.get("difference") or {}).get("test_accuracy") or {}
    if difference.get("mean") is None:
        return NO_COMPARISON
    low, high = difference.get("low"), difference.get("high")
    if low is not None and low > 0:
        return OTHER_BETTER
    if high is not None and high < 0:
        return CUSTOM_BETTER
    return NO_CLEAR


def other_family(finalists: Any) -> str | None:
    """The family of the finalist the custom CNN was compared with (``transfer`` or ``scratch``), if any."""
    stored = _parsed(finalists) or {}
    other = stored.get("other")
    entry = next((f for f in stored.get("finalists") or [] if f.get("repeat_of") == other), None)
    return None if entry is None else str(entry.get("family"))


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The run whose finalists speak for a dataset: its ids, its stored finalists and their outcome."""

    dataset: str
    run_id: str
    run_name: str
    finalists: dict[str, Any]
    outcome: str

    @property
    def other_family(self) -> str | None:
        """The family the custom CNN was compared with on this dataset."""
        return other_family(self.finalists)


def _when(run: Mapping[str, Any]) -> pd.Timestamp:
    value = pd.to_datetime(run.get("started_at"), utc=True, errors="coerce")
    return pd.Timestamp.min.tz_localize("UTC") if pd.isna(value) else value


def latest_comparisons(runs: Iterable[Mapping[str, Any]]) -> dict[str, Comparison]:
    """Per dataset, the latest finished run (by start time) whose finalists compare the custom CNN with another.

    ``runs``: rows of the ``runs`` table (``dataset``, ``run_id``, ``run_name``, ``status``, ``started_at``,
    ``finalists`` as JSON text or a dict). Runs are never pooled: one run's finalists were tested on one test
    split, so their difference compares like with like. Datasets in order of first appearance.
    """
    chosen: dict[str, tuple[pd.Timestamp, Comparison]] = {}
    for run in runs:
        finalists = _parsed(run.get("finalists"))
        answer = outcome(finalists)
        if run.get("status") != "finished" or finalists is None or answer == NO_COMPARISON:
            continue
        dataset, when = str(run.get("dataset")), _when(run)
        if dataset not in chosen or when >= chosen[dataset][0]:
            chosen[dataset] = (when, Comparison(dataset, str(run.get("run_id")), str(run.get("run_name")),
                                                finalists, answer))
    return {dataset: comparison for dataset, (_, comparison) in chosen.items()}


@dataclasses.dataclass(frozen=True)
class SignTest:
    """Datasets where the other finalist is better, tied (no clear difference) or worse, and the sign test's p.

    ``p_value`` is the two-sided sign test of ``better`` against ``worse`` (ties excluded); None with neither.
    """

    better: int
    ties: int
    worse: int
    p_value: float | None

    @property
    def datasets(self) -> int:
        """The datasets with a comparison."""
        return self.better + self.ties + self.worse


def sign_test(outcomes: Iterable[str]) -> SignTest:
    """Count ``outcomes`` (of :data:`OUTCOMES`; ``no_comparison`` is skipped) and run the sign test."""
    from scipy.stats import binomtest

    counted = list(outcomes)
    better, worse, ties = (counted.count(o) for o in (OTHER_BETTER, CUSTOM_BETTER, NO_CLEAR))
    p_value = float(binomtest(better, better + worse, 0.5).pvalue) if better + worse else None
    return SignTest(better, ties, worse, p_value)


def _subject(families: Sequence[str | None]) -> str:
    """What the custom CNN was compared with, named by family: ``transfer learning``, or both where mixed."""
    known = [f for f in dict.fromkeys(families) if f and f != CUSTOM_CNN]
    return " or ".join(family_label(f) for f in known) or "the other family"


def suite_sentence(comparisons: Mapping[str, Comparison]) -> str:
    """The one sentence over the datasets: "transfer learning is better than the custom CNN on k of n datasets, no
    clear difference on m, worse on l (two-sided sign test, ties excluded: p = ...)".

    >>> runs = [{"dataset": d, "run_id": d, "run_name": d, "status": "finished", "finalists": {"outcome": o,
    ...          "other": "t1", "finalists": [{"repeat_of": "t1", "family": "transfer"}]}}
    ...         for d, o in [("a", "other_better"), ("b", "other_better"), ("c", "no_clear_difference")]]
    >>> suite_sentence(latest_comparisons(runs))
    'transfer learning is better than the custom CNN on 2 of 3 datasets, no clear difference on 1, worse on 0 (two-sided sign test over the 2 datasets with a difference, ties excluded: p = 0.5)'
    """
    if not comparisons:
        return ("no dataset has a comparison yet: a run needs finalists of the custom CNN and of another family, "
                "each repeated and tested (--repeats N, N >= 2)")
    tally = sign_test(c.outcome for c in comparisons.values())
    subject = _subject([c.other_family for c in comparisons.values()])
    counts = (f"{subject} is better than the custom CNN on {tally.better} of {tally.datasets} datasets, "
              f"no clear difference on {tally.ties}, worse on {tally.worse}")
    if tally.p_value is None:
        return f"{counts} (no sign test: no dataset shows a clear difference)"
    decided = tally.better + tally.worse
    return (f"{counts} (two-sided sign test over the {decided} dataset{'s' if decided != 1 else ''} with a "
            f"difference, ties excluded: p = {tally.p_value:.2g})")


# --------------------------------------------------------------------------- ranks and the Friedman test


def complete_models(scores: pd.DataFrame) -> pd.DataFrame:
    """``scores`` (datasets x models, NaN where a model has no figure) narrowed to the models every dataset
    has, after dropping datasets with no figure at all: ranks compare a model only where all were run."""
    scores = scores.dropna(axis=0, how="all")
    return scores.dropna(axis=1, how="any")


def rank_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Each dataset's ranks of the models (1 = highest score; ties share their average rank).

    >>> scores = pd.DataFrame({"cnn": [0.8, 0.9], "resnet": [0.9, 0.9], "vgg": [0.7, 0.95]}, index=["a", "b"])
    >>> rank_table(scores).to_dict("list")
    {'cnn': [2.0, 2.5], 'resnet': [1.0, 2.5], 'vgg': [3.0, 1.0]}
    """
    from scipy.stats import rankdata

    values = rankdata(-scores.to_numpy(dtype=float), axis=1)
    return pd.DataFrame(values, index=scores.index, columns=scores.columns)


def average_ranks(scores: pd.DataFrame) -> pd.Series:
    """Every model's rank averaged over the datasets, best (lowest) first; models of :func:`complete_models`.

    >>> scores = pd.DataFrame({"cnn": [0.8, 0.9], "resnet": [0.9, 0.9], "vgg": [0.7, 0.95]}, index=["a", "b"])
    >>> average_ranks(scores).to_dict()
    {'resnet': 1.75, 'vgg': 2.0, 'cnn': 2.25}
    """
    complete = complete_models(scores)
    if complete.empty:
        return pd.Series(dtype=float)
    return rank_table(complete).mean().sort_values(kind="mergesort")


def friedman_needs(scores: pd.DataFrame) -> str | None:
    """Why a Friedman test cannot be run on ``scores`` yet (what more it needs), or None when it can."""
    complete = complete_models(scores)
    datasets, models = complete.shape
    if datasets < MIN_DATASETS:
        more = MIN_DATASETS - datasets
        return (f"a Friedman test needs finalists on at least {MIN_DATASETS} datasets; there "
                f"{'is' if datasets == 1 else 'are'} {datasets}, so {more} more dataset{'s' if more > 1 else ''}")
    if models < MIN_MODELS:
        return (f"a Friedman test needs at least {MIN_MODELS} models ranked on every dataset; there "
                f"{'is' if models == 1 else 'are'} {models} (with two, the sign test is the test; "
                "--finalists per-backbone gives a finalist per backbone)")
    return None


@dataclasses.dataclass(frozen=True)
class Friedman:
    """The Friedman test over ``datasets`` datasets and ``models`` models, and Nemenyi's post-hoc test.

    ``ranks``: average ranks, best first; ``nemenyi``: the pairwise p-values (models x models);
    ``critical_difference``: Nemenyi's CD at ``alpha`` (Demšar 2006, eq. 5).
    """

    statistic: float
    p_value: float
    datasets: int
    models: int
    ranks: pd.Series
    nemenyi: pd.DataFrame
    critical_difference: float
    alpha: float = ALPHA


def friedman(scores: pd.DataFrame, alpha: float = ALPHA) -> Friedman:
    """Friedman's test of ``scores`` (datasets x models, higher better) and Nemenyi's test of each pair.

    Raises:
        ValueError: :func:`friedman_needs` says what is missing.
    """
    import scikit_posthocs
    from scipy.stats import friedmanchisquare, studentized_range

    reason = friedman_needs(scores)
    if reason:
        raise ValueError(reason)
    complete = complete_models(scores)
    datasets, models = complete.shape
    statistic, p_value = friedmanchisquare(*(complete[column].to_numpy(dtype=float) for column in complete))
    nemenyi = scikit_posthocs.posthoc_nemenyi_friedman(complete.to_numpy(dtype=float))
    nemenyi.index = nemenyi.columns = list(complete.columns)
    q_alpha = float(studentized_range.ppf(1 - alpha, models, np.inf)) / math.sqrt(2)
    cd = q_alpha * math.sqrt(models * (models + 1) / (6 * datasets))
    return Friedman(float(statistic), float(p_value), datasets, models, average_ranks(complete), nemenyi, cd, alpha)
