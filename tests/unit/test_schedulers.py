"""The scheduler registry: one entry per scheduler, its Ray object built once per model family, its wording."""

from __future__ import annotations

import pytest
from ray.tune.experiment import Trial
from ray.tune.schedulers import (
    ASHAScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    TrialScheduler,
)

from benchmarks.errors import UserError
from records.contract import METRIC
from records.schedulers import Scheduler, get_scheduler, list_schedulers, stopped_wording
from runners.schedulers import PerFamilyScheduler, make_scheduler

RAY_CLASS = {"asha": ASHAScheduler, "hyperband": HyperBandScheduler, "median": MedianStoppingRule}


def _trial(backbone: str) -> Trial:
    return Trial("__fake", config={"backbone": backbone, "learning_rate": 1e-3}, stub=True)


def _asha(pretrained: bool = True) -> TrialScheduler:
    scheduler = make_scheduler("asha", epochs=4, grace_period=1, pretrained=pretrained)
    scheduler.set_search_properties(METRIC, "max")
    return scheduler


def _epoch(scheduler, trial: Trial, epoch: int, value: float) -> str:
    return scheduler.on_trial_result(None, trial, {"training_iteration": epoch, METRIC: value})


@pytest.mark.parametrize("name", [n for n in list_schedulers() if get_scheduler(n).stops_early])
def test_each_early_stopping_scheduler_is_built_once_per_family(name):
    scheduler = make_scheduler(name, epochs=6, grace_period=2, pretrained=True)
    scheduler.set_search_properties(METRIC, "max")
    assert isinstance(scheduler, PerFamilyScheduler)
    trials = [_trial("custom_cnn"), _trial("resnet50"), _trial("mobilenet_v2"), _trial("custom_cnn")]
    for trial in trials:
        scheduler.on_trial_add(None, trial)
    families = scheduler.families
    assert set(families) == {"custom_cnn", "transfer"}
    assert all(type(s) is RAY_CLASS[name] and s.metric == METRIC for s in families.values())
    assert [scheduler.family_of(t) for t in trials] == ["custom_cnn", "transfer", "transfer", "custom_cnn"]


def test_fifo_stops_nothing_and_is_plain():
    assert type(make_scheduler("fifo", epochs=3, grace_period=2)) is FIFOScheduler


def test_asha_never_stops_a_custom_cnn_for_starting_slower_than_pretrained_backbones():
    """The same results: ASHA over all trials stops the custom CNN at its first rung; per family it continues,
    and is stopped only when it falls behind another custom CNN."""
    results = [("resnet50", 0.90), ("mobilenet_v2", 0.80), ("custom_cnn", 0.30), ("custom_cnn", 0.20)]
    mixed = ASHAScheduler(time_attr="training_iteration", max_t=4, grace_period=1, reduction_factor=2,
                          metric=METRIC, mode="max")
    per_family = _asha()
    decisions = {}
    for name, scheduler in (("mixed", mixed), ("per family", per_family)):
        trials = [_trial(backbone) for backbone, _ in results]
        for trial in trials:
            scheduler.on_trial_add(None, trial)
        decisions[name] = [_epoch(scheduler, trial, 1, value) for trial, (_, value) in zip(trials, results)]
    stop, go = TrialScheduler.STOP, TrialScheduler.CONTINUE
    assert decisions["mixed"] == [go, stop, stop, stop]
    assert decisions["per family"] == [go, stop, go, stop]


def test_without_pretrained_weights_backbones_are_their_own_family():
    scheduler = _asha(pretrained=False)
    cnn, scratch = _trial("custom_cnn"), _trial("resnet50")
    for trial in (cnn, scratch):
        scheduler.on_trial_add(None, trial)
    assert (scheduler.family_of(cnn), scheduler.family_of(scratch)) == ("custom_cnn", "scratch")


def test_a_trial_ends_in_its_familys_scheduler_and_the_state_survives_save_and_restore(tmp_path):
    scheduler = _asha()
    cnn, backbone = _trial("custom_cnn"), _trial("resnet50")
    for trial in (cnn, backbone):
        scheduler.on_trial_add(None, trial)
    assert _epoch(scheduler, cnn, 1, 0.3) == TrialScheduler.CONTINUE
    scheduler.on_trial_complete(None, cnn, {"training_iteration": 2, METRIC: 0.35})
    assert cnn.trial_id not in scheduler.families["custom_cnn"]._trial_info
    assert backbone.trial_id in scheduler.families["transfer"]._trial_info
    scheduler.save(str(tmp_path / "scheduler.pkl"))
    restored = make_scheduler("asha", epochs=4, grace_period=1)
    restored.restore(str(tmp_path / "scheduler.pkl"))
    assert set(restored.families) == {"custom_cnn", "transfer"}
    late = _trial("custom_cnn")
    restored.on_trial_add(None, late)
    assert _epoch(restored, late, 1, 0.1) == TrialScheduler.STOP  # behind the restored custom CNN's 0.3


def test_an_unknown_scheduler_is_a_one_line_error_never_fifo():
    with pytest.raises(UserError, match=r"^unknown scheduler 'fifoo'; choose from asha, fifo, hyperband, median$"):
        make_scheduler("fifoo", epochs=3, grace_period=2)


def test_an_unknown_scheduler_on_the_command_line_is_rejected_before_anything_starts(tmp_path, monkeypatch, capsys):
    from runners.search import main

    monkeypatch.chdir(tmp_path)
    assert main(["--budget", "smoke", "--weights", "none", "--scheduler", "bohb"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: unknown scheduler 'bohb'; choose from asha, fifo, hyperband, median"]
    assert not (tmp_path / "results").exists()


def test_the_wording_comes_from_the_declaration():
    asha = get_scheduler("asha")
    assert asha.describe(grace_period=3) == ("ASHA (grace period 3 epochs, reduction factor 2): stops a trial that "
                                             "falls behind the others of its family")
    assert asha.stopped == "stopped early by ASHA"
    assert get_scheduler("fifo").describe() == "FIFO: runs every trial to its end"
    assert stopped_wording(["asha", "asha"]) == f"ended early by ASHA ({asha.does})"
    assert stopped_wording(["median", "mine"]).startswith("ended early by the median stopping rule (stops a trial")
    assert stopped_wording(["fifo"]) == stopped_wording([]) == "ended early by the scheduler"


def test_a_registered_scheduler_is_offered_built_per_family_and_worded(monkeypatch):
    import records.schedulers as declared
    import runners.schedulers as built
    from runners.schedulers import register_scheduler

    monkeypatch.setattr(declared, "_SCHEDULERS", dict(declared._SCHEDULERS))
    monkeypatch.setattr(built, "_BUILDERS", dict(built._BUILDERS))
    register_scheduler(
        Scheduler("asha4", "ASHA by quarters", "keeps a quarter of its family at each rung",
                  params={"grace_period": 1, "reduction_factor": 4}),
        lambda max_t, grace_period, reduction_factor: ASHAScheduler(
            time_attr="training_iteration", max_t=max_t, grace_period=grace_period,
            reduction_factor=reduction_factor))
    assert "asha4" in list_schedulers()
    scheduler = make_scheduler("asha4", epochs=8, grace_period=2)
    scheduler.set_search_properties(METRIC, "max")
    scheduler.on_trial_add(None, _trial("custom_cnn"))
    (inner,) = scheduler.families.values()
    assert inner._reduction_factor == 4 and inner._brackets[0]._rungs[-1][0] == 2
    assert get_scheduler("asha4").stopped == "stopped early by ASHA by quarters"


def test_a_trial_hyperband_left_paused_after_its_last_epoch_has_ended(monkeypatch):
    """HyperBand may leave a trial PAUSED at the end after its last epoch; the search is complete, not interrupted."""
    from types import SimpleNamespace

    import ray.tune

    from runners.consistency import saved_statuses

    trials = [SimpleNamespace(status="PAUSED", last_result={"final": True, METRIC: 0.8}),
              SimpleNamespace(status="PAUSED", last_result={"final": False, METRIC: 0.5}),
              SimpleNamespace(status="RUNNING", last_result={})]
    monkeypatch.setattr(ray.tune, "ExperimentAnalysis", lambda path, storage_filesystem=None: SimpleNamespace(trials=trials))
    assert saved_statuses(SimpleNamespace(experiment_path="x", filesystem=None)) == ["TERMINATED", "PAUSED", "RUNNING"]
