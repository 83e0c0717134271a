"""The Pareto front of models scored on two objectives, and the rules that pick one model from it.

Pure functions on plain numbers, so the search (``runners.objectives``) and the report use the same front.

Optuna has no public function for the front of arbitrary points: ``Study.best_trials`` is the front of a study's
own COMPLETE trials (not of the rows a report reads, nor of trials the study never saw), and the point-wise helper
(``optuna.study._multi_objective._is_pareto_front``) is private. So the front is computed here, by pairwise
dominance (quadratic, and searches have at most a few hundred trials).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

__all__ = ["PICK_RULES", "Pick", "dominates", "knee_index", "pareto_front", "pick_from_front"]

#: How the best model is picked from the front: the most accurate one, or the knee (see :func:`knee_index`).
PICK_RULES = ("accuracy", "knee")


def _finite(values: Sequence[float | None]) -> bool:
    return all(v is not None and isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def _better_or_equal(a: float, b: float, direction: str) -> bool:
    return a >= b if direction == "max" else a <= b


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """Whether ``a`` is at least as good as ``b`` in every objective and strictly better in one."""
    if not all(_better_or_equal(x, y, d) for x, y, d in zip(a, b, directions, strict=True)):
        return False
    return any(x != y for x, y in zip(a, b, strict=True))


def pareto_front(values: Sequence[Sequence[float | None]], directions: Sequence[str]) -> list[int]:
    """Indices (ascending) of the points no other point dominates.

    ``directions`` holds ``"max"``/``"min"`` per objective. Points with a missing or non-finite value are never
    on the front; equal points are all on it.

    >>> pareto_front([(0.9, 30.0), (0.8, 10.0), (0.7, 20.0), (0.6, None)], ["max", "min"])
    [0, 1]
    """
    if any(d not in ("max", "min") for d in directions):
        raise ValueError(f"directions must be 'max' or 'min', got {list(directions)}")
    valid = [i for i, v in enumerate(values) if len(v) == len(directions) and _finite(v)]
    return [i for i in valid if not any(dominates(values[j], values[i], directions) for j in valid if j != i)]


def _normalised(values: Sequence[Sequence[float]], directions: Sequence[str]) -> list[tuple[float, ...]]:
    """Each objective scaled to [0, 1] over ``values``, oriented so that 1 is best (an objective without spread: 0)."""
    columns = list(zip(*values, strict=True))
    scaled = []
    for column, direction in zip(columns, directions, strict=True):
        low, high = min(column), max(column)
        spread = high - low
        scaled.append([0.0 if spread == 0 else ((v - low) if direction == "max" else (high - v)) / spread
                       for v in column])
    return list(zip(*scaled, strict=True))


def knee_index(values: Sequence[Sequence[float]], directions: Sequence[str]) -> int | None:
    """The knee of a two-objective front: the index of the point farthest from the line joining its extremes.

    The extremes are the best point of the first objective and the best of the second, with both objectives
    normalised to [0, 1] over the front. None where there is no knee: fewer than three points, or none off that
    line. Ties go to the point better in the first objective.

    >>> knee_index([(0.95, 100.0), (0.90, 10.0), (0.60, 5.0)], ["max", "min"])
    1
    """
    if len(directions) != 2:
        raise ValueError("the knee is defined for two objectives")
    if len(values) < 3:
        return None
    points = _normalised(values, directions)
    # After normalisation the extremes are (1, c) for the best first objective and (a, 1) for the best second.
    first = max(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    second = max(range(len(points)), key=lambda i: (points[i][1], points[i][0]))
    (x1, y1), (x2, y2) = points[first], points[second]
    length = math.hypot(x2 - x1, y2 - y1)
    if length == 0:
        return None
    distances = [abs((x2 - x1) * (y1 - y) - (x1 - x) * (y2 - y1)) / length for x, y in points]
    best = max(range(len(points)), key=lambda i: (round(distances[i], 12), points[i][0]))
    return best if distances[best] > 1e-12 else None


@dataclasses.dataclass(frozen=True)
class Pick:
    """The point :func:`pick_from_front` chose, the rule that chose it, and why, in words."""

    index: int  # into the ``values`` given to :func:`pick_from_front`
    rule: str  # the rule that decided: "accuracy" or "knee"
    why: str  # one sentence, for the closing summary and the report


def pick_from_front(values: Sequence[Sequence[float]], directions: Sequence[str], rule: str = "accuracy") -> Pick:
    """One point of the front ``values`` (all non-dominated; the first objective is accuracy, maximised).

    ``accuracy``: the most accurate point (ties: the cheaper). ``knee``: :func:`knee_index`; a front without a
    knee (one or two points, or all on one line) falls back to the most accurate point, and ``why`` says so.
    """
    if rule not in PICK_RULES:
        raise ValueError(f"unknown pick rule {rule!r}; choose from {', '.join(PICK_RULES)}")
    if not values:
        raise ValueError("an empty front has nothing to pick")
    cost_sign = 1 if directions[1] == "min" else -1
    most_accurate = max(range(len(values)), key=lambda i: (values[i][0], -cost_sign * values[i][1]))
    if rule == "knee":
        knee = knee_index(values, directions)
        if knee is not None:
            return Pick(knee, "knee", "the knee of the front: the point farthest from the line joining its two "
                        "extremes, both objectives normalised to [0, 1]")
        return Pick(most_accurate, "accuracy", f"the front has no knee ({len(values)} point"
                    f"{'' if len(values) == 1 else 's'}, none off the line between its extremes), so the most "
                    "accurate model on it")
    return Pick(most_accurate, "accuracy", "the most accurate model on the front")
