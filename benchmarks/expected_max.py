"""Expected best validation accuracy against budget (Dodge et al. 2019), with a bootstrap band.

Dodge, Gururangan, Card, Schwartz and Smith (2019), "Show Your Work: Improved Reporting of Experimental
Results" (EMNLP), report for a model the expected best validation score after n hyperparameter trials,
n = 1 .. N, from the N trials that were run: the expectation of the maximum of n independent draws from the
empirical distribution of the N scores. With the scores sorted, v(1) <= ... <= v(N),

    E[max of n] = sum_i v(i) * ((i / N) ** n - ((i - 1) / N) ** n).

Against budget, n trials cost n times the mean trial time (their plots use the same axis scaled by time).

The band is a 95% percentile bootstrap (Efron and Tibshirani 1993): the N scores are resampled with
replacement (:data:`RESAMPLES` times, seeded) and the curve recomputed on each resample. Tang, Lee, Xin, Liu,
Yu and Lin (2020), "Showing Your Work Doesn't Always Work" (ACL), show that the estimator above is biased for
n near N and that its uncertainty from a few trials is large; the band shows that uncertainty, and we keep
Dodge's estimator as the curve rather than Tang et al.'s unbiased one (sampling without replacement) because
the band already covers its bias at small N.

The draws must be independent: trials an adaptive sampler (TPE) proposed depend on the earlier ones, so their
curve describes that search, not random search; the report says which it drew.

>>> curve = expected_max([0.5, 0.7, 0.9])
>>> [round(float(v), 4) for v in curve]
[0.7, 0.7889, 0.8333]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["CONFIDENCE", "RESAMPLES", "Crossing", "budget_curve", "expected_max", "expected_max_band",
           "leader_changes"]

CONFIDENCE = 0.95
RESAMPLES = 1000


def _finite(scores: Sequence[float]) -> np.ndarray:
    values = np.asarray([float(s) for s in scores if s is not None], dtype=float)
    return values[np.isfinite(values)]


def _weights(count: int) -> np.ndarray:
    """P(the maximum of n draws is the i-th smallest of ``count`` scores): rows n = 1..count, columns i."""
    i = np.arange(1, count + 1)[None, :]
    n = np.arange(1, count + 1)[:, None]
    return (i / count) ** n - ((i - 1) / count) ** n


def expected_max(scores: Sequence[float]) -> np.ndarray:
    """The expected maximum of n draws (with replacement) from ``scores``, for n = 1 .. len(scores).

    NaN and None are left out; no score left gives an empty array.
    """
    values = np.sort(_finite(scores))
    if values.size == 0:
        return values
    return _weights(values.size) @ values


def expected_max_band(scores: Sequence[float], confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The percentile-bootstrap band (low, high) of :func:`expected_max`, for n = 1 .. len(scores).

    >>> low, high = expected_max_band([0.5, 0.7, 0.9])
    >>> bool((low <= expected_max([0.5, 0.7, 0.9])).all() and (high <= 0.9).all())
    True
    """
    values = _finite(scores)
    if values.size == 0:
        return values, values
    rng = np.random.default_rng(seed)
    draws = np.sort(rng.choice(values, size=(resamples, values.size), replace=True), axis=1)
    curves = draws @ _weights(values.size).T
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(curves, [tail, 100 - tail], axis=0)
    return low, high


def budget_curve(scores: Sequence[float], trial_seconds: Sequence[float]) -> pd.DataFrame:
    """The curve and its band against trials and trial-hours: one row per n = 1 .. N.

    Columns: ``trials`` (n), ``trial_hours`` (n times the mean of ``trial_seconds``, in hours), ``expected``,
    ``low``, ``high``. ``trial_seconds``: the time of each trial whose score is in ``scores``.
    """
    curve = expected_max(scores)
    low, high = expected_max_band(scores)
    seconds = _finite(trial_seconds)
    mean_seconds = float(seconds.mean()) if seconds.size else np.nan
    trials = np.arange(1, curve.size + 1)
    return pd.DataFrame({"trials": trials, "trial_hours": trials * mean_seconds / 3600, "expected": curve,
                         "low": low, "high": high})


@dataclasses.dataclass(frozen=True)
class Crossing:
    """Where the leader changes: at ``budget`` (interpolated between grid points), ``leader`` leads from there."""

    budget: float
    leader: str


def leader_changes(first: tuple[str, Sequence[float], Sequence[float]],
                   second: tuple[str, Sequence[float], Sequence[float]]) -> tuple[str | None, list[Crossing]]:
    """Which of two curves leads at the smallest budget both reach, and every budget where the lead changes.

    Each curve is (name, budgets ascending, values). Both are compared on the budgets either has, within the
    range both cover (linear interpolation between points); a crossing's budget is interpolated where the
    difference changes sign. Equal values keep the leader it had. None (and no crossing) where the ranges do
    not overlap.

    >>> leader_changes(("cnn", [1, 2, 3], [0.8, 0.85, 0.86]), ("tl", [1, 2, 3], [0.7, 0.84, 0.9]))
    ('cnn', [Crossing(budget=2.2, leader='tl')])
    """
    (name_a, x_a, y_a), (name_b, x_b, y_b) = first, second
    x_a, y_a, x_b, y_b = (np.asarray(v, dtype=float) for v in (x_a, y_a, x_b, y_b))
    if x_a.size == 0 or x_b.size == 0:
        return None, []
    start, end = max(x_a[0], x_b[0]), min(x_a[-1], x_b[-1])
    if start > end:
        return None, []
    grid = np.unique(np.concatenate([x_a, x_b, [start, end]]))
    grid = grid[(grid >= start) & (grid <= end)]
    difference = np.interp(grid, x_b, y_b) - np.interp(grid, x_a, y_a)
    leader, crossings = None, []
    previous = None
    for x, d in zip(grid, difference, strict=True):
        ahead = name_b if d > 0 else name_a if d < 0 else None
        if ahead is None:
            previous = (x, d)
            continue
        if leader is None:
            leader = ahead
        elif ahead != crossings[-1].leader if crossings else ahead != leader:
            x0, d0 = previous
            at = x0 + (x - x0) * d0 / (d0 - d) if d0 != d else x
            crossings.append(Crossing(round(float(at), 10), ahead))
        previous = (x, d)
    return leader, crossings
