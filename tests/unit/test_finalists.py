"""Picking finalists, their repeats' configs and seeds, and the lines the closing summary prints."""

from __future__ import annotations

import pytest

from benchmarks.comparison import compare_families
from runners.finalists import Candidate, pick_finalists, repeat_configs, repeat_seeds, summary_lines

POOL = [
    Candidate("cnn-good", {"backbone": "custom_cnn", "depth": 3}, 0.81),
    Candidate("cnn-bad", {"backbone": "custom_cnn", "depth": 2}, 0.60),
    Candidate("mnv2", {"backbone": "mobilenet_v2", "unfrozen_layers": 10}, 0.90),
    Candidate("r50", {"backbone": "resnet50", "unfrozen_layers": 0}, 0.85),
]


def test_per_family_picks_the_best_of_each_family_by_validation():
    assert [c.trial_id for c in pick_finalists(POOL, pretrained=True)] == ["mnv2", "cnn-good"]
    # Without pretrained weights the backbones form the "scratch" family: still one finalist for it.
    assert [c.trial_id for c in pick_finalists(POOL, pretrained=False)] == ["mnv2", "cnn-good"]


def test_per_backbone_picks_the_best_of_every_backbone():
    assert [c.trial_id for c in pick_finalists(POOL, pretrained=True, mode="per-backbone")] == ["mnv2", "r50", "cnn-good"]


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="per-family"):
        pick_finalists(POOL, pretrained=True, mode="best")


def test_repeats_use_seeds_the_search_never_used_and_keep_the_finalists_hyperparameters():
    assert repeat_seeds(0, 3) == [1, 2, 3]
    assert repeat_seeds(7, 2) == [8, 9]
    configs = repeat_configs(POOL[:1] + POOL[2:3], repeat_seeds(0, 2))
    assert configs == [
        {"backbone": "custom_cnn", "depth": 3, "seed": 1, "repeat_of": "cnn-good"},
        {"backbone": "custom_cnn", "depth": 3, "seed": 2, "repeat_of": "cnn-good"},
        {"backbone": "mobilenet_v2", "unfrozen_layers": 10, "seed": 1, "repeat_of": "mnv2"},
        {"backbone": "mobilenet_v2", "unfrozen_layers": 10, "seed": 2, "repeat_of": "mnv2"},
    ]


def test_summary_lines_print_each_family_interval_the_difference_and_the_verdict():
    rows = [dict(repeat_of="cnn-good", backbone="custom_cnn", family="custom_cnn", seed=s, test_accuracy=v,
                 test_f1_macro=v, val_accuracy=0.8) for s, v in [(1, 0.80), (2, 0.84)]]
    rows += [dict(repeat_of="mnv2", backbone="mobilenet_v2", family="scratch", seed=s, test_accuracy=v,
                  test_f1_macro=v, val_accuracy=0.9) for s, v in [(1, 0.60), (2, 0.62)]]
    finalists = {**compare_families(rows).to_json(), "repeats": 2, "mode": "per-family",
                 "cost": {"search": {"trials": 4, "epochs": 10, "trial_seconds": 90.0},
                          "repeat": {"trials": 4, "epochs": 12, "trial_seconds": 80.0, "wall_seconds": 50.0}}}
    text = "\n".join(summary_lines(finalists))
    assert "custom CNN (repeats trial cnn-good): test accuracy 0.8200 (95% CI " in text
    assert "backbone from scratch (mobilenet_v2) (repeats trial mnv2): test accuracy 0.6100 (95% CI " in text
    assert "difference, backbone from scratch (mobilenet_v2) minus custom CNN: test accuracy -21.0 pp (95% CI" in text
    assert "verdict: the custom CNN is better by 21.0 pp in test accuracy (95% CI" in text
    assert "cost: search 4 trials, 10 epochs, 90 trial-seconds; repeats 4 trials, 12 epochs, 80 trial-seconds, 50 s wall" in text
    assert "transfer" not in text


def test_summary_without_repeats_says_there_is_no_interval():
    assert summary_lines(None) == ["finalists: none repeated (--repeats 0), so the comparison has no interval"]
