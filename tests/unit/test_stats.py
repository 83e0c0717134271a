"""Intervals over repeats, the difference between families, and the verdict in words."""

from __future__ import annotations

import pytest

from benchmarks.comparison import compare_families
from benchmarks.stats import mean_interval, verdict, welch_difference


def test_student_t_interval_matches_the_textbook_value():
    # mean 0.82, sd 0.02, n 3: half-width t(0.975, 2) * 0.02 / sqrt(3) = 4.3027 * 0.011547 = 0.049683
    interval = mean_interval([0.80, 0.82, 0.84])
    assert interval.mean == pytest.approx(0.82)
    assert interval.std == pytest.approx(0.02)
    assert interval.low == pytest.approx(0.82 - 0.049683, abs=1e-5)
    assert interval.high == pytest.approx(0.82 + 0.049683, abs=1e-5)
    assert interval.n == 3


def test_one_repeat_has_no_interval_and_says_so():
    interval = mean_interval([0.9])
    assert (interval.std, interval.low, interval.high) == (None, None, None)
    assert "no interval" in interval.describe()


def test_nan_and_none_are_left_out():
    assert mean_interval([0.5, float("nan"), None, 0.7]).n == 2
    with pytest.raises(ValueError):
        mean_interval([None, float("nan")])


def test_welch_interval_matches_the_textbook_value():
    a, b = [0.90, 0.91, 0.92], [0.80, 0.82, 0.84]
    # se^2 = 0.01^2/3 + 0.02^2/3; Welch df = se^4 / ((0.01^2/3)^2/2 + (0.02^2/3)^2/2) = 2.941
    from scipy import stats

    se = (0.01**2 / 3 + 0.02**2 / 3) ** 0.5
    df = se**4 / ((0.01**2 / 3) ** 2 / 2 + (0.02**2 / 3) ** 2 / 2)
    half = stats.t.ppf(0.975, df) * se
    difference = welch_difference(a, b)
    assert difference.mean == pytest.approx(0.09)
    assert difference.low == pytest.approx(0.09 - half)
    assert difference.high == pytest.approx(0.09 + half)
    assert not difference.spans_zero


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0.90, 0.91, 0.92], [0.80, 0.82, 0.84], "transfer learning is better by 9.0 pp (95% CI 4.8 to 13.2)"),
        ([0.80, 0.82, 0.84], [0.90, 0.91, 0.92], "the custom CNN is better by 9.0 pp (95% CI 4.8 to 13.2)"),
        ([0.80, 0.90], [0.84, 0.86], "no clear difference at this budget: transfer learning minus the custom CNN "
                                     "is +0.0 pp, and its 95% CI -54.5 to 54.5 spans 0"),
        ([0.9], [0.80, 0.82], "no clear difference at this budget: transfer learning minus the custom CNN is +9.0 pp, "
                              "but one side has a single repeat, so there is no interval"),
    ],
)
def test_verdict_names_the_better_family_or_no_clear_difference(a, b, expected):
    assert verdict(welch_difference(a, b), "transfer learning", "the custom CNN") == expected


def _rows(repeat_of: str, backbone: str, family: str, scores: list[float], val: float) -> list[dict]:
    return [dict(repeat_of=repeat_of, backbone=backbone, family=family, seed=seed, test_accuracy=score,
                 test_f1_macro=score - 0.01, val_accuracy=val) for seed, score in enumerate(scores, start=1)]


def test_the_headline_pits_the_custom_cnn_against_the_other_finalist_best_on_validation():
    rows = (_rows("a", "custom_cnn", "custom_cnn", [0.80, 0.82], 0.81)
            + _rows("b", "resnet50", "scratch", [0.95, 0.97], 0.70)  # better on test, worse on validation
            + _rows("c", "mobilenet_v2", "scratch", [0.60, 0.62], 0.90))
    comparison = compare_families(rows)
    assert comparison.other.repeat_of == "c"  # picked by validation, never by test
    assert comparison.other.label == "backbone from scratch (mobilenet_v2)"
    assert comparison.difference["test_accuracy"].mean == pytest.approx(-0.20)
    assert comparison.verdict.startswith("the custom CNN is better by 20.0 pp in test accuracy")
    assert "transfer" not in comparison.verdict


def test_no_comparison_without_both_sides():
    comparison = compare_families(_rows("a", "custom_cnn", "custom_cnn", [0.8, 0.9], 0.8))
    assert comparison.other is None and comparison.difference == {}
    assert comparison.verdict == "no comparison: no tested repeat of a backbone"
    failed = [dict(r, test_accuracy=None) for r in _rows("b", "resnet50", "transfer", [0.9], 0.9)]
    assert compare_families(failed).verdict == "no comparison: no finalist was repeated and tested"


def test_an_interval_is_clipped_to_the_range_a_score_can_take():
    wide = mean_interval([0.93, 0.99])
    assert wide.high > 1
    clipped = mean_interval([0.93, 0.99], bounds=(0.0, 1.0))
    assert clipped.high == 1.0 and clipped.low == wide.low and clipped.mean == wide.mean
