"""Statistics of repeated runs: a mean with its confidence interval, and the difference of two means.

Finalists are trained again with several seeds (``runners.finalists``); these functions turn their test
scores into the figures the summary and the report print. The arithmetic is scipy's (Student t for one
family's mean, Welch's t for the difference of two), so nothing here is a formula of our own.

>>> interval = mean_interval([0.80, 0.82, 0.84])
>>> round(interval.mean, 2), round(interval.low, 3), round(interval.high, 3)
(0.82, 0.77, 0.87)
>>> verdict(welch_difference([0.90, 0.91, 0.92], [0.80, 0.82, 0.84]), "transfer learning", "the custom CNN")
'transfer learning is better by 9.0 pp (95% CI 4.8 to 13.2)'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

__all__ = ["CONFIDENCE", "Difference", "Interval", "mean_interval", "verdict", "welch_difference"]

CONFIDENCE = 0.95


@dataclasses.dataclass(frozen=True)
class Interval:
    """The mean of ``n`` values, their sample standard deviation and a two-sided confidence interval.

    With one value there is no spread to estimate: ``std``, ``low`` and ``high`` are None.
    """

    mean: float
    std: float | None
    low: float | None
    high: float | None
    n: int
    confidence: float = CONFIDENCE

    def describe(self, scale: float = 1.0, digits: int = 4) -> str:
        """``0.8200 (95% CI 0.7703 to 0.8697, sd 0.0200, 3 repeats)``, or says that one repeat has no interval."""
        mean = f"{self.mean * scale:.{digits}f}"
        if self.low is None:
            return f"{mean} (1 repeat: no interval)"
        return (f"{mean} (95% CI {self.low * scale:.{digits}f} to {self.high * scale:.{digits}f}, "
                f"sd {self.std * scale:.{digits}f}, {self.n} repeats)")

    def to_json(self) -> dict[str, float | int | None]:
        """Every field by name (as measured, unscaled; None where there is no interval), for the stored summaries."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Difference:
    """``mean(a) - mean(b)`` with Welch's confidence interval (None where it cannot be estimated)."""

    mean: float
    low: float | None
    high: float | None
    n_a: int
    n_b: int
    confidence: float = CONFIDENCE

    def describe(self) -> str:
        """``+9.0 pp (95% CI +4.8 to +13.2)``, or says that there is no interval."""
        if self.low is None:
            return f"{self.mean * 100:+.1f} pp (no interval)"
        return f"{self.mean * 100:+.1f} pp (95% CI {self.low * 100:+.1f} to {self.high * 100:+.1f})"

    @property
    def spans_zero(self) -> bool:
        """Whether the interval holds 0, or there is none: then the data cannot say which side is better."""
        return self.low is None or self.low <= 0 <= self.high

    def to_json(self) -> dict[str, float | int | None]:
        """Every field by name (unscaled; None where there is no interval), for the stored summaries."""
        return dataclasses.asdict(self)


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE,
                  bounds: tuple[float, float] = (-math.inf, math.inf)) -> Interval:
    """Mean and Student-t confidence interval of ``values`` (``scipy.stats.t``).

    Args:
        values: one score per repeat (NaN and None are left out).
        confidence: the interval's coverage.
        bounds: the range the score cannot leave (an accuracy: 0 to 1); the interval is clipped to it, since
            with few repeats a t interval easily reaches past 1.

    Raises:
        ValueError: no finite value.
    """
    import numpy as np
    from scipy import stats

    data = np.asarray(_finite(values))
    if data.size == 0:
        raise ValueError("no values to summarise")
    mean = float(data.mean())
    if data.size == 1:
        return Interval(mean, None, None, None, 1, confidence)
    std = float(data.std(ddof=1))
    if std == 0:
        return Interval(mean, 0.0, mean, mean, int(data.size), confidence)
    low, high = stats.t.interval(confidence, df=data.size - 1, loc=mean, scale=stats.sem(data))
    low, high = max(float(low), bounds[0]), min(float(high), bounds[1])
    return Interval(mean, std, low, high, int(data.size), confidence)


def welch_difference(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Difference:
    """``mean(a) - mean(b)`` and its confidence interval from Welch's t-test (``scipy.stats.ttest_ind``).

    Args:
        a, b: the repeats' scores of each side (NaN and None are left out).
        confidence: the interval's coverage.

    With fewer than two values on a side there is no interval (``low`` and ``high`` are None); with no
    spread on either side the interval is the difference itself.
    """
    import numpy as np
    from scipy import stats

    first, second = np.asarray(_finite(a)), np.asarray(_finite(b))
    if first.size == 0 or second.size == 0:
        raise ValueError("both sides need at least one value")
    mean = float(first.mean() - second.mean())
    if first.size < 2 or second.size < 2:
        return Difference(mean, None, None, int(first.size), int(second.size), confidence)
    if first.std() == 0 and second.std() == 0:
        return Difference(mean, mean, mean, int(first.size), int(second.size), confidence)
    low, high = stats.ttest_ind(first, second, equal_var=False).confidence_interval(confidence)
    return Difference(mean, float(low), float(high), int(first.size), int(second.size), confidence)


def verdict(difference: Difference, first: str, second: str, what: str = "") -> str:
    """The difference in words, in percentage points: who is better, by how much, and whether it is clear.

    Args:
        difference: ``first`` minus ``second`` (see :func:`welch_difference`).
        first, second: how the two sides are named in a sentence ("transfer learning", "the custom CNN").
        what: the measure, inserted after "better" ("in test accuracy"); empty to leave it out.

    A difference whose interval spans 0, or that has no interval, is "no clear difference".
    """
    points = difference.mean * 100
    measure = f" {what}" if what else ""
    if difference.low is None:
        return (f"no clear difference at this budget: {first} minus {second} is {points:+.1f} pp{measure}, "
                "but one side has a single repeat, so there is no interval")
    interval = f"95% CI {difference.low * 100:.1f} to {difference.high * 100:.1f}"
    if difference.spans_zero:
        return (f"no clear difference at this budget: {first} minus {second} is {points:+.1f} pp{measure}, "
                f"and its {interval} spans 0")
    better = first if points > 0 else second
    if points < 0:
        interval = f"95% CI {-difference.high * 100:.1f} to {-difference.low * 100:.1f}"
    return f"{better} is better by {abs(points):.1f} pp{measure} ({interval})"
