"""The headline answer of a dataset: custom CNN or the other family, from the finalists' repeated test scores.

Each finalist (the best configuration of a family, or of a backbone with ``--finalists per-backbone``) is
trained again with several seeds; every repeat that trained is tested. Here those repeats become, per finalist,
a mean with a 95% Student-t interval of test accuracy and macro F1, and the difference between the custom CNN and
the best other finalist with its interval and a verdict in words. The test-accuracy difference is a paired
bootstrap over test images and repeats where every repeat's per-example predictions are known (then it covers the
test set's own sampling error), else Welch's t over the repeats. :func:`compare_families` is the one function that
decides a verdict: the search summary, ``summary.json``, ``runs.finalists`` and the report all call it.

Only what trained counts: a repeat that failed (raised, diverged, or died before its first checkpoint) has
``status`` ``failed`` and is neither tested nor counted; the verdict says how many failed.

>>> rows = [dict(repeat_of="a", family="custom_cnn", backbone="custom_cnn", seed=s, test_accuracy=v,
...              test_f1_macro=v, val_accuracy=v, status="completed") for s, v in [(1, 0.80), (2, 0.82), (3, 0.84)]]
>>> rows += [dict(repeat_of="b", family="transfer", backbone="resnet50", seed=s, test_accuracy=v,
...               test_f1_macro=v, val_accuracy=v, status="completed") for s, v in [(1, 0.90), (2, 0.91), (3, 0.92)]]
>>> compare_families(rows).verdict
'transfer learning (resnet50) is better by 9.0 pp in test accuracy (95% CI 4.8 to 13.2)'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from benchmarks.models._family import CUSTOM_CNN, family_label
from benchmarks.stats import (
    Difference,
    Interval,
    detectable_difference,
    mean_interval,
    paired_bootstrap_difference,
    verdict,
    welch_difference,
)

__all__ = ["OUTCOMES", "FamilyComparison", "FinalistScores", "TestSet", "compare_families", "decode_predictions"]

SCORE_BOUNDS = (0.0, 1.0)  # accuracy and F1 are fractions: their intervals are clipped to this range
#: The test metrics summarised over repeats: column and how a sentence names it.
METRICS = {"test_accuracy": "test accuracy", "test_f1_macro": "macro F1"}
#: What a comparison concludes, the other finalist against the custom CNN.
OUTCOMES = ("other_better", "custom_better", "no_clear_difference", "no_comparison")


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def decode_predictions(value: Any):
    """A repeat's per-example test predictions as an integer array: decoded from the stored text, or as given."""
    import numpy as np

    from benchmarks.predictions import decode

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return decode(value) if isinstance(value, str) else np.asarray(value, dtype=np.int64)


def _trained(row: Mapping[str, Any]) -> bool:
    """Whether a repeat counts: it did not fail and it was tested."""
    return row.get("status") != "failed" and _number(row.get("test_accuracy")) is not None


@dataclasses.dataclass(frozen=True)
class FinalistScores:
    """One finalist's repeats: which trial it repeats, its family and backbone, its intervals and its failures."""

    repeat_of: str
    family: str
    backbone: str
    seeds: tuple[int, ...]
    val_accuracy: float | None  # mean over the repeats: what picks the headline finalist, never the test split
    test_accuracy: Interval
    test_f1_macro: Interval
    failed: int = 0  # repeats that failed: never tested nor counted

    @property
    def label(self) -> str:
        """``custom CNN``, or ``custom CNN (small_resnet)``, ``transfer learning (resnet50)``, ``backbone from scratch
        (resnet50)``: the family, and the model where the family's name does not say it."""
        name = family_label(self.family)
        return name if self.backbone == CUSTOM_CNN else f"{name} ({self.backbone})"

    def to_json(self) -> dict[str, Any]:
        """The fields with the :attr:`label` added and the intervals as dicts, as ``runs.finalists`` stores them."""
        return {
            "repeat_of": self.repeat_of, "family": self.family, "backbone": self.backbone, "label": self.label,
            "seeds": list(self.seeds), "val_accuracy": self.val_accuracy, "failed": self.failed,
            "test_accuracy": self.test_accuracy.to_json(), "test_f1_macro": self.test_f1_macro.to_json(),
        }


@dataclasses.dataclass(frozen=True)
class TestSet:
    """What the test split can tell: its size, and the smallest difference of the two finalists it can detect."""

    examples: int
    detectable: float | None  # paired, 5% two-sided, 80% power (benchmarks.stats.detectable_difference)

    def describe(self) -> str:
        """``test set: 1,000 images (one image is 0.10 pp); it can detect a difference of about 2.1 pp ...``."""
        text = f"test set: {self.examples:,} images (one image is {100 / self.examples:.2f} pp)"
        if self.detectable is not None:
            text += (f"; it can tell apart differences of about {100 * self.detectable:.1f} pp and more "
                     "(paired, 95%, 80% power)")
        return text


@dataclasses.dataclass(frozen=True)
class FamilyComparison:
    """Every finalist's scores, and the custom CNN against the best other finalist (None where one is missing)."""

    finalists: tuple[FinalistScores, ...]
    custom: FinalistScores | None
    other: FinalistScores | None
    difference: dict[str, Difference]  # other minus custom CNN, per metric
    verdict: str
    outcome: str = "no_comparison"  # one of OUTCOMES
    test_set: TestSet | None = None

    @property
    def note(self) -> str | None:
        """What to keep in mind with more than two finalists (``--finalists per-backbone``); None with two or fewer."""
        others = [f for f in self.finalists if f.family != CUSTOM_CNN]
        if len(others) < 2:
            return None
        return (f"{len(others)} backbone finalists: each one's interval stands alone (95% each, no correction for "
                "several comparisons); the verdict compares the custom CNN with the one best on validation, "
                "chosen before the test split was read")

    def to_json(self) -> dict[str, Any]:
        """The JSON the run stores in ``runs.finalists``: custom and other as their ``repeat_of`` trial ids."""
        return {
            "finalists": [f.to_json() for f in self.finalists],
            "custom": None if self.custom is None else self.custom.repeat_of,
            "other": None if self.other is None else self.other.repeat_of,
            "difference": {metric: d.to_json() for metric, d in self.difference.items()},
            "verdict": self.verdict,
            "outcome": self.outcome,
            "note": self.note,
            "test_set": None if self.test_set is None else dataclasses.asdict(self.test_set),
        }


def _scores(repeat_of: str, rows: list[Mapping[str, Any]]) -> FinalistScores | None:
    tested = [r for r in rows if _trained(r)]
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
        failed=len(rows) - len(tested),
    )


def _correct(rows: Sequence[Mapping[str, Any]], labels) -> Any:
    """Per repeat and test image, whether it was right; None unless every repeat has predictions for every label."""
    import numpy as np

    if labels is None:
        return None
    predictions = [decode_predictions(r.get("test_predictions")) for r in rows]
    if not predictions or any(p is None or len(p) != len(labels) for p in predictions):
        return None
    return np.stack([p == labels for p in predictions])


def _outcome(difference: Difference) -> str:
    if difference.low is None or difference.spans_zero:
        return "no_clear_difference"
    return "other_better" if difference.mean > 0 else "custom_better"


def compare_families(repeats: Iterable[Mapping[str, Any]], labels: Sequence[int] | None = None) -> FamilyComparison:
    """Summarise repeat rows (``repeat_of``, ``family``, ``backbone``, ``seed``, ``status``, ``val_accuracy``, test
    columns, and ``test_predictions`` where stored) into the verdict.

    ``labels`` are the test split's labels in the order the predictions follow (the run's ``test_labels``); with
    them and every counted repeat's predictions, the test-accuracy difference is a paired bootstrap. The headline
    pits the custom CNN's finalist against the other finalist with the best mean validation accuracy over its
    repeats; with several custom-CNN finalists (rows of comparable runs pooled) the best of them by the same rule.
    """
    import numpy as np

    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in repeats:
        groups.setdefault(str(row.get("repeat_of")), []).append(row)
    finalists = tuple(s for s in (_scores(key, rows) for key, rows in groups.items()) if s is not None)
    failed = sum(len(rows) - sum(_trained(r) for r in rows) for rows in groups.values())
    total = sum(len(rows) for rows in groups.values())

    def best(side: list[FinalistScores]) -> FinalistScores | None:
        return max(side, key=lambda f: -1.0 if f.val_accuracy is None else f.val_accuracy, default=None)

    custom = best([f for f in finalists if f.family == CUSTOM_CNN])
    other = best([f for f in finalists if f.family != CUSTOM_CNN])
    failures = f"; {failed} of {total} repeats failed and are not counted" if failed else ""
    if custom is None or other is None:
        missing = "the custom CNN" if custom is None else "a backbone"
        text = (f"no comparison: no tested repeat of {missing}" if finalists
                else "no comparison: no finalist was repeated and tested")
        return FamilyComparison(finalists, custom, other, {}, text + failures)
    counted = {key: [r for r in rows if _trained(r)] for key, rows in groups.items()}
    labels = None if labels is None else np.asarray(labels)
    correct = [_correct(counted[f.repeat_of], labels) for f in (other, custom)]
    difference = {
        metric: welch_difference([_number(r.get(metric)) for r in counted[other.repeat_of]],
                                 [_number(r.get(metric)) for r in counted[custom.repeat_of]])
        for metric in METRICS
    }
    test_set = None
    if correct[0] is not None and correct[1] is not None:
        difference["test_accuracy"] = paired_bootstrap_difference(*correct)
        test_set = TestSet(len(labels), detectable_difference(*correct))
    text = verdict(difference["test_accuracy"], other.label, "the custom CNN", f"in {METRICS['test_accuracy']}")
    return FamilyComparison(finalists, custom, other, difference, text + failures,
                            _outcome(difference["test_accuracy"]), test_set)
