"""Ray Tune searchers: the search's Optuna searcher, told the number the search ranks by, and the repeats' fixed list."""

from __future__ import annotations

import contextlib
import math
import pickle
from typing import Any

import optuna
from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch

from records.contract import TRIAL_ERROR

__all__ = ["FixedConfigs", "RankedOptunaSearch"]


class RankedOptunaSearch(OptunaSearch):
    """Ray's ``OptunaSearch``, telling the study each trial's best-epoch value, and how the trial ended.

    - Every epoch's report carries ``best_val_accuracy``; it is the study's intermediate value, and the value a
      trial that ran its own course (all its epochs, or Keras's early stopping: ``final`` in its last report)
      is told with as COMPLETE.
    - A trial the scheduler stopped (ASHA: its last report is not ``final``) is told as PRUNED. Optuna's samplers
      know that state: it is what Optuna's own pruners produce, and TPE ranks pruned trials after every
      completed one (the further a trial got, the better), using the last intermediate value. Telling it
      COMPLETE would rank a two-epoch value among finished trials as if it were a finished trial's. Its last
      report, the one that made ASHA stop it, reaches the searcher only at completion: it is reported there.
    - A trial that raised (its last report carries ``trial_error``) is told as FAIL, not as a value.
    - Two objectives (``metric`` a list: ``best_val_accuracy`` and a cost, ``runners.objectives``): Optuna keeps no
      intermediate values then (Ray's searcher reports none), and the trial is told both values of its last report;
      one it could not measure (a FLOPs count the profiler could not make) makes it FAIL for the sampler, never a
      made-up value. The scheduler is FIFO then, so every trial ends as its own: COMPLETE.
    """

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if TRIAL_ERROR in result:
            return  # the NaN a failed trial reports is no intermediate value
        with _already_told():
            super().on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if result and TRIAL_ERROR in result:
            result, error = None, True
        elif result and not result.get("final"):
            # PRUNED, valued at its last intermediate value. Ray hands the result that made the scheduler stop the
            # trial to on_trial_complete only, never to on_trial_result: report it here, or Optuna would value the
            # trial at the epoch before.
            ot_trial = self._ot_trials.get(trial_id)
            step, value = result.get("training_iteration"), result.get(self.metric)
            if ot_trial is not None and step is not None and _finite(value) and not isinstance(self.metric, list):
                with _already_told():
                    ot_trial.report(value, step)
            result = None
        elif result and isinstance(self.metric, list) and not all(_finite(result.get(m)) for m in self.metric):
            result, error = None, True
        super().on_trial_complete(trial_id, result, error)


@contextlib.contextmanager
def _already_told():
    """Ignore a report to an Optuna trial the stored study already holds as finished.

    A driver that died after a trial ended but before Ray saved its state leaves that trial finished in the study
    (Optuna's storage is written at once) yet unfinished for Ray, which runs it again on ``--resume``: the study
    keeps its first ending, and the rerun's reports have nothing to change.
    """
    try:
        yield
    except optuna.exceptions.UpdateFinishedTrialError:
        pass


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


class FixedConfigs(Searcher):
    """Hands out a fixed list of trial configs, once each, in order: the finalists' repeats.

    Ray's ``BasicVariantGenerator`` only presets keys its ``param_space`` declares, and filling that with
    placeholders would put every key (``head: None``...) into every config; this hands out the configs as
    they are. Its position is saved with the experiment, so a restored run hands out the rest.
    """

    def __init__(self, configs: list[dict[str, Any]], metric: str, mode: str = "max"):
        super().__init__(metric=metric, mode=mode)
        self.configs = [dict(config) for config in configs]
        self.handed_out = 0

    def suggest(self, trial_id: str) -> dict[str, Any] | str:
        if self.handed_out >= len(self.configs):
            return Searcher.FINISHED
        self.handed_out += 1
        return dict(self.configs[self.handed_out - 1])

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        pass  # nothing to learn: the configs are fixed

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump({"configs": self.configs, "handed_out": self.handed_out}, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        self.configs, self.handed_out = state["configs"], state["handed_out"]
