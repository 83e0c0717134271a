"""The sampler sees the number the search ranks by: each trial's best epoch, and how the trial ended."""

from __future__ import annotations

import math

import optuna
import pytest

from runners.searcher import RankedOptunaSearch
from records.contract import TRIAL_ERROR
from records.contract import METRIC


def _searcher() -> RankedOptunaSearch:
    def space(trial: optuna.Trial) -> None:
        trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)

    return RankedOptunaSearch(space=space, metric=METRIC, mode="max", sampler=optuna.samplers.RandomSampler(seed=0))


def _epochs(searcher: RankedOptunaSearch, trial_id: str, val_accuracies: list[float], final: bool,
            stopped: bool = False) -> dict:
    """Report one result per epoch the way runners.trainable does, through the searcher as Ray's controller does;
    return the last one. With ``stopped``, the last result is the one that made the scheduler stop the trial:
    Ray gives it to ``on_trial_complete`` only, never to ``on_trial_result``."""
    best = -1.0
    result = {}
    for epoch, value in enumerate(val_accuracies, start=1):
        best = max(best, value)
        result = {"val_accuracy": value, METRIC: best, "training_iteration": epoch,
                  "final": final and epoch == len(val_accuracies)}
        if not (stopped and epoch == len(val_accuracies)):
            searcher.on_trial_result(trial_id, result)
    return result


def _study_trial(searcher: RankedOptunaSearch, index: int) -> optuna.trial.FrozenTrial:
    return searcher._ot_study.trials[index]  # the searcher's own study (this test reads, never writes)


def test_a_trial_whose_last_epoch_is_worse_reaches_optuna_with_its_best_epoch():
    searcher = _searcher()
    searcher.suggest("t1")
    last = _epochs(searcher, "t1", [0.70, 0.85, 0.60], final=True)
    assert last["val_accuracy"] == 0.60
    searcher.on_trial_complete("t1", last)
    trial = _study_trial(searcher, 0)
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.value == pytest.approx(0.85)


def test_a_trial_the_scheduler_stopped_is_pruned_with_its_best_value_so_far():
    searcher = _searcher()
    searcher.suggest("t1")
    last = _epochs(searcher, "t1", [0.10, 0.55], final=False, stopped=True)  # ASHA stops it on epoch 2's result
    searcher.on_trial_complete("t1", last)
    trial = _study_trial(searcher, 0)
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.value == pytest.approx(0.55)  # the best epoch, from the result that stopped it
    assert trial.intermediate_values == {1: 0.10, 2: 0.55}


def test_a_trial_that_raised_fails_instead_of_reporting_nan():
    searcher = _searcher()
    searcher.suggest("t1")
    _epochs(searcher, "t1", [0.40], final=False)
    error = {"val_accuracy": math.nan, METRIC: math.nan, TRIAL_ERROR: "NonFiniteLossError: loss became nan",
             "training_iteration": 2}
    searcher.on_trial_result("t1", error)
    searcher.on_trial_complete("t1", error)
    trial = _study_trial(searcher, 0)
    assert trial.state == optuna.trial.TrialState.FAIL
    assert trial.intermediate_values == {1: 0.40}  # the NaN never became an intermediate value


def test_reports_to_a_trial_the_stored_study_already_finished_are_ignored():
    """A driver killed after a trial ended but before Ray saved its state: Ray runs the trial again on --resume,
    and its reports reach an Optuna trial the stored study holds as COMPLETE."""
    searcher = _searcher()
    searcher.suggest("t1")
    last = _epochs(searcher, "t1", [0.40, 0.70], final=True)
    searcher.on_trial_complete("t1", last)
    finished = searcher._ot_study.trials[0]
    searcher._ot_trials["t1"] = optuna.Trial(searcher._ot_study, finished._trial_id)  # restored: still "running"
    _epochs(searcher, "t1", [0.30, 0.50, 0.60], final=False)  # epoch 3: a step the study has not seen
    stopped = _epochs(searcher, "t1", [0.3, 0.5, 0.6, 0.65], final=False, stopped=True)  # ASHA stops it at 4
    searcher.on_trial_complete("t1", stopped)
    trial = _study_trial(searcher, 0)
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.value == pytest.approx(0.70)
