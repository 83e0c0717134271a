"""Hyperparameter importance with Optuna's evaluators, over trials read back from the database.

The stored trials are turned into an in-memory Optuna study (``optuna.trial.create_trial`` with
distributions inferred from the observed values), then ``optuna.importance.get_param_importances``
(fANOVA, fixed seed) ranks the hyperparameters by how much of the variance in validation accuracy
they explain. As in Optuna, only *completed* trials count: trials stopped early by the scheduler
report an accuracy from fewer epochs. Conditional hyperparameters (``depth``/``width`` exist only
for custom CNNs, ``unfrozen_layers`` only for backbones) make a per-family analysis the
natural one; the "all trials" analysis uses the hyperparameters every trial has, plus the family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import optuna
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from benchmarks.models import FAMILIES, family_label
from reports.data import HYPERPARAMETER_COLUMNS

__all__ = [
    "MIN_TRIALS",
    "Importance",
    "build_study",
    "importance_by_family",
    "infer_distributions",
    "param_importances",
]

#: Fewer completed trials than this and no importance is computed.
MIN_TRIALS = 3

_LOG_SCALE = frozenset({"learning_rate"})


@dataclass(frozen=True)
class Importance:
    """The importances of one group of trials, or the reason there are none (``note``)."""

    group: str
    label: str
    trials: int
    importances: dict[str, float] = field(default_factory=dict)
    note: str | None = None


def _candidate_params(trials: pd.DataFrame, extra: tuple[str, ...]) -> list[str]:
    return [c for c in (*extra, *HYPERPARAMETER_COLUMNS) if c in trials and trials[c].notna().any()]


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def infer_distributions(trials: pd.DataFrame, params: list[str]) -> dict[str, BaseDistribution]:
    """One Optuna distribution per parameter that takes at least two values in ``trials``.

    Numbers become int or float ranges (learning rate on a log scale); anything else categorical.
    """
    distributions: dict[str, BaseDistribution] = {}
    for name in params:
        values = trials[name].dropna()
        if values.nunique() < 2:
            continue
        if _is_numeric(values):
            low, high = float(values.min()), float(values.max())
            if all(float(v).is_integer() for v in values) and name not in _LOG_SCALE:
                distributions[name] = IntDistribution(int(low), int(high))
            else:
                distributions[name] = FloatDistribution(low, high, log=name in _LOG_SCALE and low > 0)
        else:
            distributions[name] = CategoricalDistribution(sorted(values.astype(str).unique()))
    return distributions


def _param_value(distribution: BaseDistribution, value: object) -> object:
    if isinstance(distribution, IntDistribution):
        return int(float(value))  # type: ignore[arg-type]
    if isinstance(distribution, FloatDistribution):
        return float(value)  # type: ignore[arg-type]
    return str(value)


def build_study(trials: pd.DataFrame, distributions: dict[str, BaseDistribution]) -> optuna.Study:
    """An in-memory study (maximising validation accuracy) holding the completed ``trials``."""
    study = optuna.create_study(direction="maximize", study_name="stored-trials")
    for _, row in trials.iterrows():
        params = {name: _param_value(dist, row[name]) for name, dist in distributions.items() if not pd.isna(row[name])}
        study.add_trial(
            optuna.trial.create_trial(
                value=float(row["val_accuracy"]),
                params=params,
                distributions={name: distributions[name] for name in params},
            )
        )
    return study


def param_importances(
    trials: pd.DataFrame, *, extra: tuple[str, ...] = (), seed: int = 0
) -> tuple[dict[str, float], str | None]:
    """Normalised fANOVA importances of the hyperparameters over the completed ``trials``.

    Returns ``(importances, None)``, or ``({}, reason)`` when they cannot be computed.
    """
    completed = trials[(trials["status"] == "completed") & trials["val_accuracy"].notna()]
    completed = completed[completed["val_accuracy"].map(lambda v: math.isfinite(float(v)))]
    if len(completed) < MIN_TRIALS:
        return {}, f"not enough trials: {len(completed)} completed, at least {MIN_TRIALS} needed"
    params = _candidate_params(completed, extra)
    shared = [p for p in params if completed[p].notna().all()]
    distributions = infer_distributions(completed, shared)
    if not distributions:
        return {}, "no hyperparameter took more than one value in these trials"
    if completed["val_accuracy"].nunique() < 2:
        return {}, "every trial reached the same validation accuracy"
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = build_study(completed, distributions)
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        values = optuna.importance.get_param_importances(study, evaluator=evaluator, params=list(distributions))
    finally:
        optuna.logging.set_verbosity(previous)
    return {name: float(value) for name, value in values.items()}, None


def importance_by_family(trials: pd.DataFrame, *, seed: int = 0) -> list[Importance]:
    """Importances for each family present (with ``backbone`` among the parameters) and over all trials.

    ``trials`` should be the searched trials of one dataset. The "all" group is added only when
    two families or more are present; it uses the shared hyperparameters and ``family``. Groups are labelled
    with :func:`benchmarks.models.family_label` (``Backbone from scratch``).
    """
    results = []
    families = [f for f in FAMILIES if (trials["family"] == f).any()]
    families += sorted(set(trials["family"]) - set(FAMILIES))
    for family in families:
        group = trials[trials["family"] == family]
        values, note = param_importances(group, extra=("backbone",), seed=seed)
        completed = int(((group["status"] == "completed") & group["val_accuracy"].notna()).sum())
        results.append(Importance(family, family_label(family, capitalize=True), completed, values, note))
    if len([f for f in families if f in FAMILIES]) > 1:
        values, note = param_importances(trials, extra=("family",), seed=seed)
        completed = int(((trials["status"] == "completed") & trials["val_accuracy"].notna()).sum())
        results.append(Importance("all", "All trials (shared hyperparameters)", completed, values, note))
    return results
