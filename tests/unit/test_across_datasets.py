"""The statistics across datasets and budgets, against hand computations: outcomes, the sign test, average ranks,
Friedman and Nemenyi's critical difference, and the expected best accuracy after n trials."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmarks.across_datasets import (
    average_ranks, friedman, friedman_needs, latest_comparisons, outcome, sign_test, suite_sentence,
)
from benchmarks.expected_max import budget_curve, expected_max, expected_max_band, leader_changes

#: Five datasets x three models (mean test accuracies). Ranks by hand (1 = best, ties share the average):
#: d1 3,1,2; d2 3,1.5,1.5; d3 3,2,1; d4 1,2,3; d5 3,1,2 -> averages 2.6, 1.5, 1.9.
FIVE = pd.DataFrame({"custom_cnn": [0.80, 0.70, 0.60, 0.90, 0.50], "mobilenet_v2": [0.90, 0.75, 0.65, 0.85, 0.60],
                     "resnet50": [0.85, 0.75, 0.70, 0.80, 0.55]}, index=["d1", "d2", "d3", "d4", "d5"])


def test_an_outcome_is_the_stored_one_else_read_from_the_interval_of_the_difference():
    def difference(low, high, mean=0.01):
        return {"difference": {"test_accuracy": {"mean": mean, "low": low, "high": high}}}

    assert outcome({"outcome": "custom_better", **difference(0.1, 0.2)}) == "custom_better"
    assert outcome(difference(0.01, 0.05)) == "other_better"
    assert outcome(difference(-0.05, -0.01)) == "custom_better"
    assert outcome(difference(-0.01, 0.05)) == "no_clear_difference"
    assert outcome(difference(None, None)) == "no_clear_difference"  # a single repeat: no interval
    assert outcome({"difference": {}, "verdict": "no comparison"}) == "no_comparison"
    assert outcome(None) == outcome("not json") == "no_comparison"
    assert outcome('{"outcome": "other_better"}') == "other_better"  # as the runs table stores it


def test_each_dataset_speaks_through_its_latest_finished_run_with_a_comparison():
    better = {"outcome": "other_better"}
    runs = [
        {"dataset": "a", "run_id": "a1", "run_name": "a1", "status": "finished", "started_at": "2024-01-01",
         "finalists": {"outcome": "custom_better"}},
        {"dataset": "a", "run_id": "a2", "run_name": "a2", "status": "finished", "started_at": "2024-01-02",
         "finalists": better},
        {"dataset": "a", "run_id": "a3", "run_name": "a3", "status": "failed", "started_at": "2024-01-03",
         "finalists": {"outcome": "custom_better"}},
        {"dataset": "a", "run_id": "a4", "run_name": "a4", "status": "finished", "started_at": "2024-01-04",
         "finalists": {"difference": {}, "verdict": "no comparison: no tested repeat of a backbone"}},
        {"dataset": "b", "run_id": "b1", "run_name": "b1", "status": "finished", "started_at": "2024-01-01",
         "finalists": None},
    ]
    chosen = latest_comparisons(runs)
    assert list(chosen) == ["a"] and chosen["a"].run_id == "a2" and chosen["a"].outcome == "other_better"


def test_win_tie_loss_and_the_two_sided_sign_test_match_a_hand_count():
    tally = sign_test(["other_better"] * 3 + ["no_clear_difference", "custom_better", "no_comparison"])
    assert (tally.better, tally.ties, tally.worse, tally.datasets) == (3, 1, 1, 5)
    assert tally.p_value == pytest.approx(2 * (1 + 4) / 2**4)  # P(X <= 1) + P(X >= 3), X ~ B(4, 1/2): ties out
    assert sign_test(["other_better"] * 3).p_value == pytest.approx(0.25)
    assert sign_test(["no_clear_difference"] * 2).p_value is None


def test_the_sentence_names_what_was_compared_and_counts_by_hand():
    def run(dataset, result, family):
        return {"dataset": dataset, "run_id": dataset, "run_name": dataset, "status": "finished",
                "finalists": {"outcome": result, "other": "o", "finalists": [{"repeat_of": "o", "family": family}]}}

    sentence = suite_sentence(latest_comparisons([run("a", "custom_better", "scratch")]))
    assert sentence == ("backbone from scratch is better than the custom CNN on 0 of 1 datasets, no clear difference "
                        "on 0, worse on 1 (two-sided sign test over the 1 dataset with a difference, ties "
                        "excluded: p = 1)")
    mixed = latest_comparisons([run("a", "no_clear_difference", "transfer"), run("b", "no_clear_difference", "scratch")])
    assert suite_sentence(mixed).startswith("transfer learning or backbone from scratch is better than the custom CNN "
                                            "on 0 of 2 datasets, no clear difference on 2, worse on 0 (no sign test")
    assert suite_sentence({}).startswith("no dataset has a comparison yet")


def test_average_ranks_share_ties_and_match_a_hand_computation():
    assert average_ranks(FIVE).to_dict() == pytest.approx({"mobilenet_v2": 1.5, "resnet50": 1.9, "custom_cnn": 2.6})
    assert list(average_ranks(FIVE)) == [1.5, 1.9, 2.6]
    with_gap = FIVE.assign(efficientnet_b0=[0.9, None, 0.9, 0.9, 0.9])  # not on d2: not ranked
    assert list(average_ranks(with_gap).index) == ["mobilenet_v2", "resnet50", "custom_cnn"]


@pytest.mark.parametrize("datasets, needs", [(1, "there is 1, so 2 more datasets"), (2, "there are 2, so 1 more dataset"),
                                             (3, None), (5, None)])
def test_friedman_runs_from_three_datasets_up_and_says_how_many_more_it_needs(datasets, needs):
    scores = FIVE.head(datasets)
    reason = friedman_needs(scores)
    if needs:
        assert needs in reason
        with pytest.raises(ValueError, match="more dataset"):
            friedman(scores)
    else:
        assert reason is None and friedman(scores).datasets == datasets


def test_friedman_and_the_critical_difference_match_a_hand_computation():
    result = friedman(FIVE)
    # chi2 = 12N / (k(k+1)) * (sum R_j^2 - k(k+1)^2 / 4) = 5 * (2.6^2 + 1.5^2 + 1.9^2 - 12) = 3.1, divided by
    # scipy's tie correction 1 - sum(t^3 - t) / (N k (k^2 - 1)) = 1 - 6 / 120 (one tie of two, on d2)
    assert result.statistic == pytest.approx(3.1 / 0.95)
    assert (result.datasets, result.models) == (5, 3)
    assert result.critical_difference == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 5)), abs=1e-3)  # Demšar's q
    assert result.nemenyi.shape == (3, 3) and list(result.nemenyi.index) == list(FIVE.columns)
    assert result.nemenyi.loc["mobilenet_v2", "custom_cnn"] < result.nemenyi.loc["mobilenet_v2", "resnet50"]


def test_two_models_are_the_sign_tests_case_not_friedmans():
    assert "at least 3 models" in friedman_needs(FIVE[["custom_cnn", "mobilenet_v2"]])


def test_the_expected_maximum_of_n_draws_matches_a_hand_computation():
    # sorted 0.5 < 0.7 < 0.9, N = 3: P(max of n = i-th) = (i/3)^n - ((i-1)/3)^n
    hand = [(0.5 + 0.7 + 0.9) / 3, (0.5 * 1 + 0.7 * 3 + 0.9 * 5) / 9, (0.5 * 1 + 0.7 * 7 + 0.9 * 19) / 27]
    assert list(expected_max([0.9, 0.5, 0.7])) == pytest.approx(hand)
    assert list(expected_max([0.8, float("nan"), 0.8])) == pytest.approx([0.8, 0.8])
    assert expected_max([]).size == 0


def test_the_band_is_a_seeded_bootstrap_within_the_scores_range():
    scores = [0.5, 0.6, 0.7, 0.8, 0.9]
    low, high = expected_max_band(scores)
    again = expected_max_band(scores)
    assert list(low) == list(again[0]) and list(high) == list(again[1])
    curve = expected_max(scores)
    assert (low <= curve + 1e-12).all() and (curve <= high + 1e-12).all() and (high <= 0.9).all() and low[0] >= 0.5


def test_the_curve_against_trial_hours_costs_n_times_the_mean_trial_time():
    curve = budget_curve([0.5, 0.7, 0.9], [1800, 3600, 5400])
    assert curve["trials"].tolist() == [1, 2, 3]
    assert curve["trial_hours"].tolist() == pytest.approx([1.0, 2.0, 3.0])


def test_the_leader_change_is_found_where_the_curves_cross():
    leader, changes = leader_changes(("cnn", [1, 2, 3, 4], [0.80, 0.82, 0.83, 0.84]),
                                     ("tl", [2, 4, 6], [0.70, 0.90, 0.95]))
    # shared range 2..4; tl - cnn: -0.12 at 2, (0.80 - 0.83) = -0.03 at 3, +0.06 at 4 -> crosses at 3 + 1/3
    assert leader == "cnn" and len(changes) == 1
    assert changes[0].leader == "tl" and changes[0].budget == pytest.approx(3 + 1 / 3)
    assert leader_changes(("a", [1, 2], [0.5, 0.6]), ("b", [3, 4], [0.7, 0.8])) == (None, [])
    assert leader_changes(("a", [1, 2], [0.5, 0.6]), ("b", [1, 2], [0.4, 0.5])) == ("a", [])
