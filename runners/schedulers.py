"""The Ray Tune schedulers behind ``--scheduler``: one builder per declared scheduler, one instance per family.

The declarations (names, budget parameters, wording) are ``records.schedulers``'; this module builds the Ray
object. An early-stopping scheduler never compares a trial with one of another model family: a custom CNN
learns from scratch and starts slower than a pretrained backbone, so compared at the grace period it would be
stopped for being a slow starter, not for being worse. :class:`PerFamilyScheduler` runs one instance of the
scheduler per family (``benchmarks.models.family``) and hands each trial to its family's.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from typing import Any

from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from benchmarks.models import family
from records.schedulers import Scheduler, declare_scheduler, get_scheduler

__all__ = ["PerFamilyScheduler", "make_scheduler", "register_scheduler"]

#: A scheduler's Ray builder: ``build(max_t=epochs, **its declared parameters)`` -> a ``TrialScheduler``.
_BUILDERS: dict[str, Callable[..., TrialScheduler]] = {}


def register_scheduler(scheduler: Scheduler, build: Callable[..., TrialScheduler]) -> Scheduler:
    """Declare ``scheduler`` (``records.schedulers``) and give it its Ray builder: one entry, and ``--scheduler``
    offers it, the search runs it once per family, and the summary and report word it by its declaration."""
    declare_scheduler(scheduler)
    _BUILDERS[scheduler.name] = build
    return scheduler


def make_scheduler(name: str, epochs: int, grace_period: int | None = None, pretrained: bool = True) -> TrialScheduler:
    """The Ray scheduler ``--scheduler NAME`` runs for trials of ``epochs`` epochs; a one-line error for an unknown
    name. ``grace_period`` is the budget's (capped at ``epochs``); ``pretrained`` says whether backbones load
    weights, which decides a trial's family. An early-stopping scheduler runs once per family."""
    scheduler = get_scheduler(name)
    if not scheduler.stops_early:
        return _BUILDERS[name](max_t=epochs, **scheduler.parameters())
    params = scheduler.parameters(grace_period)
    if "grace_period" in params:
        params["grace_period"] = min(params["grace_period"], epochs)
    return PerFamilyScheduler(functools.partial(_build, name, epochs, params), pretrained=pretrained)


def _build(name: str, epochs: int, params: dict[str, Any]) -> TrialScheduler:
    return _BUILDERS[name](max_t=epochs, **params)


class PerFamilyScheduler(TrialScheduler):
    """One scheduler per model family: each trial goes to its family's, so early stopping compares like with like.

    ``build()`` makes a family's scheduler the first time a trial of that family arrives; the search's metric and
    mode reach each one. A trial's family is ``benchmarks.models.family(config['backbone'], pretrained)``.
    """

    def __init__(self, build: Callable[[], TrialScheduler], pretrained: bool = True):
        super().__init__()
        self._build = build
        self._pretrained = pretrained
        self._by_family: dict[str, TrialScheduler] = {}
        self._family_of: dict[str, str] = {}  # trial_id -> family
        self._properties: tuple[Any, Any, dict[str, Any]] | None = None
        self._supports_buffered_results = build().supports_buffered_results

    @property
    def families(self) -> dict[str, TrialScheduler]:
        """Each family's scheduler, by family key, made so far."""
        return dict(self._by_family)

    def family_of(self, trial) -> str:
        """The family a trial is scheduled with."""
        if trial.trial_id not in self._family_of:
            self._family_of[trial.trial_id] = family(str((trial.config or {}).get("backbone", "")), self._pretrained)
        return self._family_of[trial.trial_id]

    def scheduler_of(self, trial) -> TrialScheduler:
        """The scheduler of the trial's family, made on its family's first trial."""
        key = self.family_of(trial)
        if key not in self._by_family:
            scheduler = self._build()
            if self._properties is not None:
                metric, mode, spec = self._properties
                scheduler.set_search_properties(metric, mode, **spec)
            self._by_family[key] = scheduler
        return self._by_family[key]

    def set_search_properties(self, metric: str | None, mode: str | None, **spec) -> bool:
        if self._metric and metric:
            return False
        self._properties = (metric, mode, spec)
        self._metric = metric
        return all(s.set_search_properties(metric, mode, **spec) for s in self._by_family.values())

    def on_trial_add(self, tune_controller, trial) -> None:
        self.scheduler_of(trial).on_trial_add(tune_controller, trial)

    def on_trial_error(self, tune_controller, trial) -> None:
        self.scheduler_of(trial).on_trial_error(tune_controller, trial)

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        return self.scheduler_of(trial).on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller, trial, result: dict) -> None:
        self.scheduler_of(trial).on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller, trial) -> None:
        self.scheduler_of(trial).on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller):
        for scheduler in self._by_family.values():
            trial = scheduler.choose_trial_to_run(tune_controller)
            if trial is not None:
                return trial
        return None

    def debug_string(self) -> str:
        return "; ".join(f"{key}: {s.debug_string()}" for key, s in self._by_family.items()) or "no trials yet"

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.__dict__, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.__dict__.update(pickle.load(f))


def _asha(max_t: int, grace_period: int, reduction_factor: float) -> TrialScheduler:
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(time_attr="training_iteration", max_t=max_t, grace_period=grace_period,
                         reduction_factor=reduction_factor)


def _fifo(max_t: int) -> TrialScheduler:
    return FIFOScheduler()


def _hyperband(max_t: int, reduction_factor: float) -> TrialScheduler:
    from ray.tune.schedulers import HyperBandScheduler

    return HyperBandScheduler(time_attr="training_iteration", max_t=max_t, reduction_factor=reduction_factor)


def _median(max_t: int, grace_period: int, min_samples_required: int) -> TrialScheduler:
    from ray.tune.schedulers import MedianStoppingRule

    return MedianStoppingRule(time_attr="training_iteration", grace_period=grace_period,
                              min_samples_required=min_samples_required)


for _name, _builder in (("asha", _asha), ("fifo", _fifo), ("hyperband", _hyperband), ("median", _median)):
    _BUILDERS[_name] = _builder
