"""Statistics of repeated runs: a mean with its confidence interval, and the difference of two families.

Finalists are trained again with several seeds (``runners.finalists``); these functions turn their test
scores into the figures the summary and the report print. One family's mean gets a Student-t interval over its
repeats (scipy). The difference of two families gets, where every repeat's per-example test predictions are known,
a paired bootstrap over test images and repeats (:func:`paired_bootstrap_difference`): the images are resampled
the same for both families, so the interval covers the test set's own sampling error as well as seed-to-seed
variation; otherwise Welch's t over the repeats' scores, which covers seeds only. Where the repeats show no spread
at all there is no t interval: a point "interval" would claim a certainty that a few repeats on a small test set
(where accuracy moves in steps of one image) cannot give.

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

__all__ = ["CONFIDENCE", "Difference", "Interval", "detectable_difference", "mean_interval", "paired_bootstrap_difference",
           "verdict", "welch_difference"]

CONFIDENCE = 0.95


@dataclasses.dataclass(frozen=True)
class Interval:
    """The mean of ``n`` values, their sample standard deviation and a two-sided confidence interval.

    With one value there is no spread to estimate: ``std``, ``low`` and ``high`` are None; with several equal
    values ``std`` is 0 and there is no interval either (:attr:`reason`).
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
            return f"{mean} ({self.reason}: no interval)"
        return (f"{mean} (95% CI {self.low * scale:.{digits}f} to {self.high * scale:.{digits}f}, "
                f"sd {self.std * scale:.{digits}f}, {self.n} repeats)")

    @property
    def reason(self) -> str:
        """Why there is no interval (``1 repeat``, ``no spread over 3 repeats``); empty where there is one."""
        if self.low is not None:
            return ""
        return "1 repeat" if self.n < 2 else f"no spread over {self.n} repeats"

    def to_json(self) -> dict[str, float | int | None]:
        """Every field by name (as measured, unscaled; None where there is no interval), for the stored summaries."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Difference:
    """``mean(a) - mean(b)`` with a confidence interval (None where it cannot be estimated), and how it was made.

    ``method`` is ``paired bootstrap`` (over test images and repeats) or ``welch`` (over the repeats' scores);
    ``examples`` is the test set's size where the interval covers it.
    """

    mean: float
    low: float | None
    high: float | None
    n_a: int
    n_b: int
    confidence: float = CONFIDENCE
    method: str = "welch"
    examples: int | None = None

    @property
    def reason(self) -> str:
        """Why there is no interval (a side has 1 repeat; no spread on either side); empty where there is one."""
        if self.low is not None:
            return ""
        return "a side has 1 repeat" if min(self.n_a, self.n_b) < 2 else "no spread observed on either side"

    def describe(self) -> str:
        """``+9.0 pp (95% CI +4.8 to +13.2)``, or says why there is no interval."""
        if self.low is None:
            return f"{self.mean * 100:+.1f} pp (no interval: {self.reason})"
        return f"{self.mean * 100:+.1f} pp (95% CI {self.low * 100:+.1f} to {self.high * 100:+.1f}, {self.method})"

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
    if std == 0:  # equal scores (common on a small test set): nothing to estimate a spread from
        return Interval(mean, 0.0, None, None, int(data.size), confidence)
    low, high = stats.t.interval(confidence, df=data.size - 1, loc=mean, scale=stats.sem(data))
    low, high = max(float(low), bounds[0]), min(float(high), bounds[1])
    return Interval(mean, std, low, high, int(data.size), confidence)


def welch_difference(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Difference:
    """``mean(a) - mean(b)`` and its confidence interval from Welch's t-test (``scipy.stats.ttest_ind``).

    Args:
        a, b: the repeats' scores of each side (NaN and None are left out).
        confidence: the interval's coverage.

    With fewer than two values on a side, or no spread on either side, there is no interval (``low`` and
    ``high`` are None): equal repeats say nothing about how far the next one could fall.

    >>> welch_difference([0.9, 0.9], [0.8, 0.8]).describe()
    '+10.0 pp (no interval: no spread observed on either side)'
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
        return Difference(mean, None, None, int(first.size), int(second.size), confidence)
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
                f"but there is no interval ({difference.reason})")
    interval = f"95% CI {difference.low * 100:.1f} to {difference.high * 100:.1f}"
    if difference.spans_zero:
        return (f"no clear difference at this budget: {first} minus {second} is {points:+.1f} pp{measure}, "
                f"and its {interval} spans 0")
    better = first if points > 0 else second
    if points < 0:
        interval = f"95% CI {-difference.high * 100:.1f} to {-difference.low * 100:.1f}"
    return f"{better} is better by {abs(points):.1f} pp{measure} ({interval})"


def paired_bootstrap_difference(correct_a, correct_b, *, resamples: int = 4000, seed: int = 0,
                                confidence: float = CONFIDENCE) -> Difference:
    """Accuracy of side a minus side b, with a percentile interval from a paired bootstrap over images and repeats.

    Args:
        correct_a, correct_b: one row per repeat of each side, one column per test image (the same images in the
            same order on both sides): whether that repeat classified that image right.
        resamples: bootstrap draws; seed: their generator's seed (the same data give the same interval).

    Each draw resamples the test images with replacement, the same images for both sides (the pairing: an image
    hard for one family is usually hard for the other), and each side's repeats with replacement (the seeds'
    variation), then takes the difference of the two mean accuracies. The interval is the draws' central
    ``confidence`` share (Efron and Tibshirani 1993, ch. 13). It is never a point unless every draw agrees,
    which only happens when the two sides disagree on no image or on every image in the same direction.

    >>> a = [[1, 1, 1, 1]]; b = [[0, 0, 0, 0]]
    >>> d = paired_bootstrap_difference(a, b); (d.mean, d.low, d.high)
    (1.0, 1.0, 1.0)
    """
    import numpy as np

    first, second = np.asarray(correct_a, dtype=np.float32), np.asarray(correct_b, dtype=np.float32)
    if first.ndim != 2 or second.ndim != 2 or first.shape[1] != second.shape[1] or first.shape[1] == 0:
        raise ValueError("both sides need per-image results on the same, non-empty test set")
    rng = np.random.default_rng(seed)
    images, draws = first.shape[1], []
    chunk = max(1, min(resamples, 2_000_000 // (images * max(first.shape[0], second.shape[0]))))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        picked = rng.integers(0, images, (size, images))
        means = []
        for side in (first, second):
            repeats = side[rng.integers(0, side.shape[0], (size, side.shape[0]))].mean(axis=1)  # (size, images)
            means.append(np.take_along_axis(repeats, picked, axis=1).mean(axis=1))
        draws.append(means[0] - means[1])
    values = np.concatenate(draws)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    mean = float(first.mean() - second.mean())
    return Difference(mean, float(low), float(high), int(first.shape[0]), int(second.shape[0]), confidence,
                      method="paired bootstrap", examples=int(images))


def detectable_difference(correct_a, correct_b, *, alpha: float = 1 - CONFIDENCE, power: float = 0.8) -> float:
    """The smallest accuracy difference this test set can tell apart: paired, at ``alpha``, with ``power``.

    McNemar's test in its normal approximation (Connor 1987): a difference ``delta`` between two classifiers on
    ``n`` images is found with the given power where ``delta >= (z(1 - alpha/2) + z(power)) * sqrt(d / n)``,
    ``d`` being the share of images on which the two disagree about being right. ``d`` is estimated from the
    repeats (each image's chance of being right on each side, the repeats averaged); at least one image.

    >>> round(detectable_difference([[1, 0] * 50], [[0, 1] * 50]), 3)
    0.28
    """
    import numpy as np
    from scipy import stats

    first, second = np.asarray(correct_a, dtype=float).mean(axis=0), np.asarray(correct_b, dtype=float).mean(axis=0)
    images = first.size
    disagree = float(np.mean(first * (1 - second) + (1 - first) * second))
    disagree = max(disagree, 1 / images)
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z * math.sqrt(disagree / images))
