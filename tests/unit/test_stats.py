"""Intervals over repeats, the difference between families, and the verdict in words."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.comparison import compare_families
from benchmarks.predictions import encode
from benchmarks.stats import detectable_difference, mean_interval, paired_bootstrap_difference, verdict, welch_difference


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
                              "but there is no interval (a side has 1 repeat)"),
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
    failed = [dict(r, test_accuracy=None, status="failed") for r in _rows("b", "resnet50", "transfer", [0.9], 0.9)]
    assert compare_families(failed).verdict == ("no comparison: no finalist was repeated and tested; "
                                                "1 of 1 repeats failed and are not counted")


def test_an_interval_is_clipped_to_the_range_a_score_can_take():
    wide = mean_interval([0.93, 0.99])
    assert wide.high > 1
    clipped = mean_interval([0.93, 0.99], bounds=(0.0, 1.0))
    assert clipped.high == 1.0 and clipped.low == wide.low and clipped.mean == wide.mean


# --- only what trained counts ------------------------------------------------------------------------------


def test_a_failed_repeat_is_not_counted_even_with_a_test_figure_and_the_verdict_says_so():
    rows = _rows("a", "custom_cnn", "custom_cnn", [0.80, 0.82, 0.84], 0.8) + _rows("b", "resnet50", "transfer",
                                                                                   [0.90, 0.91, 0.92, 0.10], 0.9)
    rows[-1]["status"] = "failed"  # diverged after a checkpoint: an older version tested it anyway
    comparison = compare_families(rows)
    assert comparison.other.test_accuracy.n == 3 and comparison.other.failed == 1 and comparison.custom.failed == 0
    assert comparison.difference["test_accuracy"].mean == pytest.approx(0.09)
    assert comparison.verdict.endswith("; 1 of 7 repeats failed and are not counted")
    assert comparison.to_json()["finalists"][1]["failed"] == 1


# --- no verdict from no spread ------------------------------------------------------------------------------


def test_zero_spread_gives_no_point_interval_and_no_better_by():
    difference = welch_difference([0.9, 0.9], [0.8, 0.8])
    assert difference.low is None and difference.high is None and difference.reason == "no spread observed on either side"
    text = verdict(difference, "transfer learning", "the custom CNN")
    assert "better by" not in text and text.startswith("no clear difference at this budget")
    assert "no spread observed on either side" in text
    interval = mean_interval([0.9, 0.9, 0.9])
    assert interval.low is None and interval.reason == "no spread over 3 repeats"
    assert interval.describe() == "0.9000 (no spread over 3 repeats: no interval)"


def test_zero_spread_over_seeds_still_gets_the_test_sets_interval_from_the_paired_bootstrap():
    """The other side of no spread: repeats all equal, but the test images still say how sure the difference is."""
    labels = np.zeros(200, dtype=int)
    right = np.arange(200) < 180  # 90% right, the same images every repeat
    other = np.arange(200) < 190  # 95% right
    rows = [dict(r, test_predictions=encode(np.where(right, 0, 1))) for r in
            _rows("a", "custom_cnn", "custom_cnn", [0.90, 0.90], 0.9)]
    rows += [dict(r, test_predictions=encode(np.where(other, 0, 1))) for r in
             _rows("b", "resnet50", "transfer", [0.95, 0.95], 0.95)]
    comparison = compare_families(rows, labels=labels)
    difference = comparison.difference["test_accuracy"]
    assert difference.method == "paired bootstrap" and difference.examples == 200
    assert difference.low < 0.05 < difference.high and difference.high - difference.low > 0.02
    assert comparison.outcome == "other_better" and "better by 5.0 pp" in comparison.verdict
    assert comparison.test_set.examples == 200 and 0 < comparison.test_set.detectable < 0.1


# --- the paired bootstrap and the detectable difference -----------------------------------------------------


def test_the_paired_bootstrap_matches_the_binomial_computed_by_hand():
    """One repeat a side; the sides disagree on 40 of 400 images, a right on 30 of them, b on 10.

    Per image the difference is +1 (30 images), -1 (10) or 0 (360). Resampling 400 images, the count of +1s and
    -1s is multinomial; its mean difference has mean 20/400 = 0.05 and variance
    (p+ + p- - (p+ - p-)^2) / n = (0.1 - 0.0025) / 400, so the 95% interval is 0.05 +- 1.96 * 0.01561 = 0.0194 to
    0.0806 by the normal approximation the bootstrap's percentiles approach.
    """
    a = np.ones(400, dtype=bool)
    b = np.ones(400, dtype=bool)
    a[:10] = False  # b right, a wrong: 10 images
    b[10:40] = False  # a right, b wrong: 30 images
    difference = paired_bootstrap_difference([a], [b], resamples=20000, seed=1)
    se = ((0.1 - 0.05**2) / 400) ** 0.5
    assert difference.mean == pytest.approx(0.05)
    assert difference.low == pytest.approx(0.05 - 1.96 * se, abs=0.004)
    assert difference.high == pytest.approx(0.05 + 1.96 * se, abs=0.004)
    # Unpaired, the same accuracies (97.5% and 92.5%) would give a wider interval: the pairing is what narrows it.
    unpaired = 1.96 * ((0.975 * 0.025 + 0.925 * 0.075) / 400) ** 0.5
    assert difference.high - difference.low < 2 * unpaired


def test_the_detectable_difference_follows_mcnemars_approximation():
    a = np.array([1, 0] * 50)
    b = np.array([0, 1] * 50)  # they disagree on every image
    expected = (1.959964 + 0.841621) * (1 / 100) ** 0.5
    assert detectable_difference([a], [b]) == pytest.approx(expected, rel=1e-5)
    same = detectable_difference([a], [a])  # never disagree: floored at one image in the test set
    assert same == pytest.approx((1.959964 + 0.841621) * (0.01 / 100) ** 0.5, rel=1e-5)
