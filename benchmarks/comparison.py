"""The headline answer of a dataset: custom CNN or the other family, from the finalists' repeated test scores.

Each finalist (the best configuration of a family, or of a backbone with ``--finalists per-backbone``) is
trained again with several seeds; every repeat is tested. Here those repeats become, per finalist, a mean
with a 95% interval of test accuracy and macro F1, and the difference between the custom CNN and the
best other finalist with Welch's interval and a verdict in words. The search summary
(``runners.finalists``) and the report (``reports``) both call :func:`compare_families`, so they agree.

>>> rows = [dict(repeat_of="a", family="custom_cnn", backbone="custom_cnn", seed=s, test_accuracy=v,
...              test_f1_macro=v, val_accuracy=v) for s, v in [(1, 0.80), (2, 0.82), (3, 0.84)]]
>>> rows += [dict(repeat_of="b", family="transfer", backbone="resnet50", seed=s, test_accuracy=v,
...               test_f1_macro=v, val_accuracy=v) for s, v in [(1, 0.90), (2, 0.91), (3, 0.92)]]
>>> compare_families(rows).verdict
'transfer learning (resnet50) is better by 9.0 pp in test accuracy (95% CI 4.8 to 13.2)'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

from benchmarks.models._family import CUSTOM_CNN, family_label
from benchmarks.stats import Difference, Interval, mean_interval, verdict, welch_difference

__all__ = ["FamilyComparison", "FinalistScores", "compare_families"]

SCORE_BOUNDS = (0.0, 1.0)  # accuracy and F1 are fractions: their intervals are clipped to this range
#: The test metrics summarised over repeats: column and how a sentence names it.
METRICS = {"test_accuracy": "test accuracy", "test_f1_macro": "macro F1"}


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclasses.dataclass(frozen=True)
class FinalistScores:
    """One finalist's repeats: which trial it repeats, its family and backbone, and its intervals."""

    repeat_of: str
    family: str
    backbone: str
    seeds: tuple[int, ...]
    val_accuracy: float | None  # mean over the repeats: what picks the headline finalist, never the test split
    test_accuracy: Interval
    test_f1_macro: Interval

    @property
    def label(self) -> str:
        """``custom CNN``, or ``transfer learning (resnet50)``, ``backbone from scratch (resnet50)``."""
        name = family_label(self.family)
        return name if self.family == "custom_cnn" else f"{name} ({self.backbone})"

    def to_json(self) -> dict[str, Any]:
        """The fields with the :attr:`label` added and the intervals as dicts, as ``runs.finalists`` stores them."""
        return {
            "repeat_of": self.repeat_of, "family": self.family, "backbone": self.backbone, "label": self.label,
            "seeds": list(self.seeds), "val_accuracy": self.val_accuracy,
            "test_accuracy": self.test_accuracy.to_json(), "test_f1_macro": self.test_f1_macro.to_json(),
        }


@dataclasses.dataclass(frozen=True)
class FamilyComparison:
    """Every finalist's scores, and the custom CNN against the best other finalist (None where one is missing)."""

    finalists: tuple[FinalistScores, ...]
    custom: FinalistScores | None
    other: FinalistScores | None
    difference: dict[str, Difference]  # other minus custom CNN, per metric
    verdict: str

    def to_json(self) -> dict[str, Any]:
        """The JSON the run stores in ``runs.finalists``: custom and other as their ``repeat_of`` trial ids."""
        return {
            "finalists": [f.to_json() for f in self.finalists],
            "custom": None if self.custom is None else self.custom.repeat_of,
            "other": None if self.other is None else self.other.repeat_of,
            "difference": {metric: d.to_json() for metric, d in self.difference.items()},
            "verdict": self.verdict,
        }


def _scores(repeat_of: str, rows: list[Mapping[str, Any]]) -> FinalistScores | None:
    tested = [r for r in rows if _number(r.get("test_accuracy")) is not None]
    if not tested:
        return None
    vals = [v for v in (_number(r.get("val_accuracy")) for r in tested) if v is not None]
    return FinalistScores(
        repeat_of=repeat_of,
        family=str(tested[0].get("family")),
        backbone=str(tested[0].get("backbone")),
        seeds=tuple(int(r["seed"]) for r in tested if r.get("seed") is not None),
        val_accuracy=sum(vals) / len(vals) if vals else None,
        test_accuracy=mean_interval([_number(r.get("test_accuracy")) for r in tested], bounds=SCORE_BOUNDS),
        test_f1_macro=mean_interval([_number(r.get("test_f1_macro")) for r in tested], bounds=SCORE_BOUNDS),
    )


def compare_families(repeats: Iterable[Mapping[str, Any]]) -> FamilyComparison:
    """Summarise repeat rows (``repeat_of``, ``family``, ``backbone``, ``seed``, ``val_accuracy``, test columns).

    Rows without a test accuracy (a failed repeat) are left out. The headline pits the custom CNN's finalist
    against the other finalist with the best mean validation accuracy over its repeats (with one finalist
    per family, the other family's); the verdict reads the test-accuracy difference, other minus custom CNN.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in repeats:
        groups.setdefault(str(row.get("repeat_of")), []).append(row)
    finalists = tuple(s for s in (_scores(key, rows) for key, rows in groups.items()) if s is not None)
    custom = next((f for f in finalists if f.backbone == CUSTOM_CNN), None)
    others = [f for f in finalists if f.backbone != CUSTOM_CNN]
    other = max(others, key=lambda f: -1.0 if f.val_accuracy is None else f.val_accuracy, default=None)
    if custom is None or other is None:
        missing = "the custom CNN" if custom is None else "a backbone"
        text = (f"no comparison: no tested repeat of {missing}" if finalists
                else "no comparison: no finalist was repeated and tested")
        return FamilyComparison(finalists, custom, other, {}, text)
    difference = {
        metric: welch_difference(
            [_number(r.get(metric)) for r in groups[other.repeat_of]],
            [_number(r.get(metric)) for r in groups[custom.repeat_of]],
        )
        for metric in METRICS
    }
    text = verdict(difference["test_accuracy"], other.label, "the custom CNN", f"in {METRICS['test_accuracy']}")
    return FamilyComparison(finalists, custom, other, difference, text)
