"""Hyperparameter importance with Optuna's evaluators, over the runs' own stored Optuna studies.

Each search keeps its study in Optuna's storage (``records.study``), with the distributions its space declared:
categorical ``batch_size``, log-scale ``learning_rate``, integer ``depth``. The completed trials of a dataset's
studies are pooled per family and ``optuna.importance.get_param_importances`` (fANOVA, fixed seed) ranks the
hyperparameters by how much of the variance in the searched value (the best epoch's validation accuracy) they
explain. As in Optuna, only COMPLETE trials count: a trial ASHA stopped is PRUNED in the study. Conditional
hyperparameters (``depth``/``width`` exist only for the custom CNN, ``unfrozen_layers`` only for pretrained
backbones) make a per-family analysis the natural one; the "all trials" analysis uses the hyperparameters
every trial has (``backbone`` among them). Nothing here guesses a type or a scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import optuna

from benchmarks.models import FAMILIES, family, family_label

__all__ = ["MIN_TRIALS", "Importance", "family_trials", "importance_by_family", "load_studies", "param_importances"]

#: Fewer completed trials than this and no importance is computed: fANOVA's forest fitted to a handful of points
#: ranks noise.
MIN_TRIALS = 8


@dataclass(frozen=True)
class Importance:
    """The importances of one group of trials, or the reason there are none (``note``)."""

    group: str
    label: str
    trials: int
    importances: dict[str, float] = field(default_factory=dict)
    note: str | None = None


def load_studies(runs: Iterable[Mapping]) -> tuple[list[optuna.Study], list[str]]:
    """The stored study of each run (``run_name``, ``optuna_storage``), and the names of runs without one."""
    from records.study import load_run_study

    studies, missing = [], []
    for run in runs:
        url = run.get("optuna_storage")
        study = load_run_study(url, run["run_name"]) if isinstance(url, str) and url else None
        (studies if study is not None else missing).append(study if study is not None else run["run_name"])
    return studies, missing


def family_trials(studies: Iterable[optuna.Study]) -> dict[str, list[optuna.trial.FrozenTrial]]:
    """The studies' COMPLETE trials grouped by family.

    A trial's ``family`` user attribute (the space assigns it) says its family; a study from before it, its
    ``backbone`` and the study's ``weights`` user attribute. A two-objective trial is kept with its accuracy alone.
    """
    groups: dict[str, list[optuna.trial.FrozenTrial]] = {}
    for study in studies:
        pretrained = study.user_attrs.get("weights", "none") != "none"
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            if len(trial.values) > 1:  # a two-objective search (--objective accuracy,COST): accuracy comes first
                trial = optuna.trial.create_trial(params=trial.params, distributions=trial.distributions,
                                                  value=trial.values[0])
            model = trial.params.get("backbone", trial.params.get("custom_network"))
            key = trial.user_attrs.get("family") or family(str(model), pretrained)
            groups.setdefault(str(key), []).append(trial)
    return groups


def _shared_params(trials: list[optuna.trial.FrozenTrial]) -> list[str]:
    """Parameters every trial has with the same distribution (the space's), taking at least two values."""
    first = trials[0].distributions
    names = [n for n in first if all(t.distributions.get(n) == first[n] for t in trials)]
    return [n for n in names if len({repr(t.params[n]) for t in trials}) > 1]


def param_importances(trials: list[optuna.trial.FrozenTrial], *, seed: int = 0,
                      min_trials: int = MIN_TRIALS) -> tuple[dict[str, float], str | None]:
    """Normalised fANOVA importances over completed ``trials``: ``(importances, None)`` or ``({}, reason)``."""
    if len(trials) < min_trials:
        return {}, f"not enough trials: {len(trials)} completed, at least {min_trials} needed"
    params = _shared_params(trials)
    if not params:
        return {}, "no hyperparameter took more than one value in these trials"
    if len({t.value for t in trials}) < 2:
        return {}, "every trial reached the same validation accuracy"
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        pooled = optuna.create_study(direction="maximize")
        pooled.add_trials(trials)
        values = optuna.importance.get_param_importances(
            pooled, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed), params=params)
    finally:
        optuna.logging.set_verbosity(previous)
    return {name: float(value) for name, value in values.items()}, None


def importance_by_family(studies: Iterable[optuna.Study], *, seed: int = 0,
                         min_trials: int = MIN_TRIALS) -> list[Importance]:
    """Importances for each family present, and over all trials when two families or more are present."""
    groups = family_trials(studies)
    results = []
    for key in [f for f in FAMILIES if f in groups]:
        values, note = param_importances(groups[key], seed=seed, min_trials=min_trials)
        results.append(Importance(key, family_label(key, capitalize=True), len(groups[key]), values, note))
    if len(groups) > 1:
        everything = [t for key in groups for t in groups[key]]
        values, note = param_importances(everything, seed=seed, min_trials=min_trials)
        results.append(Importance("all", "All trials (shared hyperparameters)", len(everything), values, note))
    return results
