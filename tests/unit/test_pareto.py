"""The Pareto front on hand-made points, the knee rule and the pick from the front (benchmarks.pareto), and how
a two-objective search chooses and prints its best trial (runners.objectives)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from benchmarks.pareto import dominates, knee_index, pareto_front, pick_from_front
from runners.objectives import choose_best, pareto_lines

ACC_COST = ("max", "min")


def test_dominance_needs_as_good_everywhere_and_better_somewhere():
    assert dominates((0.9, 10.0), (0.8, 12.0), ACC_COST)
    assert dominates((0.9, 10.0), (0.9, 12.0), ACC_COST)
    assert not dominates((0.9, 10.0), (0.9, 10.0), ACC_COST)  # equal points do not dominate each other
    assert not dominates((0.9, 12.0), (0.8, 10.0), ACC_COST)  # a trade-off: neither dominates


def test_front_of_hand_made_points():
    points = [
        (0.95, 20.0),  # 0: most accurate, slowest: front
        (0.90, 8.0),  # 1: front
        (0.85, 9.0),  # 2: dominated by 1
        (0.80, 2.0),  # 3: fastest: front
        (0.90, 8.0),  # 4: equal to 1: both on the front
        (0.70, 2.0),  # 5: dominated by 3 (same cost, less accurate)
        (0.94, 25.0),  # 6: dominated by 0
    ]
    assert pareto_front(points, ACC_COST) == [0, 1, 3, 4]


def test_front_leaves_out_points_without_a_finite_value_and_honours_directions():
    points = [(0.9, None), (0.8, math.nan), (0.7, 5.0), (0.6, 1.0), (math.inf, 1.0)]
    assert pareto_front(points, ACC_COST) == [2, 3]
    assert pareto_front([(1.0, 1.0), (2.0, 2.0)], ("max", "max")) == [1]
    assert pareto_front([(1.0, 1.0), (2.0, 2.0)], ("min", "min")) == [0]
    assert pareto_front([], ACC_COST) == []
    with pytest.raises(ValueError, match="directions"):
        pareto_front([(1.0, 1.0)], ("max", "lowest"))


def test_knee_is_the_point_farthest_from_the_line_between_the_extremes():
    # Normalised: (1, 0), (0, 1) are the extremes; (0.9, 0.9) bulges out most, (0.5, 0.6) a little.
    front = [(1.00, 100.0), (0.90, 10.0), (0.50, 40.0), (0.00, 0.0)]
    assert knee_index(front, ACC_COST) == 1
    # Normalisation makes the units irrelevant: latency in seconds instead of ms picks the same point.
    assert knee_index([(a, c / 1000) for a, c in front], ACC_COST) == 1


def test_no_knee_with_fewer_than_three_points_or_all_on_one_line():
    assert knee_index([(0.9, 10.0), (0.8, 5.0)], ACC_COST) is None
    assert knee_index([(0.9, 10.0), (0.85, 7.5), (0.8, 5.0)], ACC_COST) is None
    with pytest.raises(ValueError, match="two objectives"):
        knee_index([(1.0,), (2.0,), (3.0,)], ("max",))


def test_pick_accuracy_and_knee_and_the_knee_fallback():
    front = [(1.00, 100.0), (0.90, 10.0), (0.50, 40.0), (0.00, 0.0)]
    assert pick_from_front(front, ACC_COST, "accuracy").index == 0
    knee = pick_from_front(front, ACC_COST, "knee")
    assert (knee.index, knee.rule) == (1, "knee") and "farthest from the line" in knee.why
    fallback = pick_from_front([(0.9, 10.0), (0.8, 5.0)], ACC_COST, "knee")
    assert (fallback.index, fallback.rule) == (0, "accuracy") and "no knee" in fallback.why
    # Equal accuracy: the cheaper one.
    assert pick_from_front([(0.9, 10.0), (0.9, 5.0)], ACC_COST, "accuracy").index == 1
    with pytest.raises(ValueError, match="unknown pick rule"):
        pick_from_front(front, ACC_COST, "cheapest")


def _result(trial_id: str, accuracy: float, latency: float | None, backbone: str = "custom_cnn"):
    metrics = {"trial_id": trial_id, "best_val_accuracy": accuracy}
    if latency is not None:
        metrics["latency_ms"] = latency
    return SimpleNamespace(metrics=metrics, config={"backbone": backbone})


def test_a_two_objective_search_picks_from_the_front_and_prints_it():
    ok = [_result("a", 0.95, 20.0, "resnet50"), _result("b", 0.90, 2.0), _result("c", 0.85, 9.0),
          _result("d", 0.60, 1.0), _result("e", 0.99, None)]  # e measured nothing: not on the front
    best, pareto = choose_best(ok, "accuracy,latency", "accuracy")
    assert best.metrics["trial_id"] == "a"
    assert [p["trial_id"] for p in pareto["front"]] == ["d", "b", "a"]  # by cost
    assert pareto["measured"] == 4 and pareto["picked"] == "a" and pareto["picked_by"] == "accuracy"
    best, pareto = choose_best(ok, "accuracy,latency", "knee")
    assert best.metrics["trial_id"] == "b" and pareto["picked_by"] == "knee"
    lines = pareto_lines(pareto)
    assert lines[0].startswith("pareto front of validation accuracy against latency")
    assert "3 of 4 trials" in lines[0] and "Keras model's single-image CPU latency on the trial's worker" in lines[0]
    assert any(line.strip().startswith("b (custom_cnn): val_accuracy 0.9000, latency 2.00 ms  <- picked")
               for line in lines)
    assert lines[-1].startswith("picked b (--pick knee): the knee of the front")


def test_accuracy_alone_and_a_search_that_measured_no_cost():
    ok = [_result("a", 0.8, None), _result("b", 0.9, None)]
    best, pareto = choose_best(ok, "accuracy")
    assert best.metrics["trial_id"] == "b" and pareto is None and pareto_lines(pareto) == []
    best, pareto = choose_best(ok, "accuracy,latency", "knee")
    assert best.metrics["trial_id"] == "b" and pareto["front"] == [] and "no trial measured" in pareto["why"]
