"""What a search optimises: validation accuracy alone (``--objective accuracy``), or accuracy against a cost.

``--objective accuracy,latency`` (or ``,params``, ``,flops``) makes the search multi-objective: Ray's
``OptunaSearch`` gets two metrics, ``best_val_accuracy`` (max) and the cost (min, :data:`benchmarks.costs.COSTS`),
and the sampler is Optuna's multi-objective TPE (``--sampler tpe``, the default). TPE rather than NSGA-II: a
search has tens of trials, fewer than one NSGA-II generation (50 by default), so NSGA-II would sample at random
for the whole search, while TPE models the front from its first trials on, handles the spaces' conditional
(define-by-run) parameters and keeps ``constant_liar`` for parallel trials; Optuna 5 made it its own default for
several objectives. ``random`` works too; ``cmaes`` cannot (Optuna's CMA-ES is single-objective), and ``gp`` only
from Optuna 4.4 on. ASHA ranks trials by one number, so a two-objective search runs every trial to its end (FIFO).

After the trials the best model is picked from the Pareto front (:mod:`benchmarks.pareto`): ``--pick accuracy``
(the most accurate model on the front) or ``--pick knee``.
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks.costs import COSTS, Cost
from benchmarks.errors import UserError
from benchmarks.pareto import PICK_RULES, pareto_front, pick_from_front
from records.contract import METRIC

__all__ = ["OBJECTIVES", "PICK_RULES", "check_sampler", "choose_best", "cost_of", "objective_line",
           "objective_metrics", "parse_objective", "pareto_lines"]

ACCURACY = "accuracy"
#: What --objective accepts.
OBJECTIVES = (ACCURACY, *(f"{ACCURACY},{name}" for name in COSTS))
#: Samplers that cannot search two objectives, and why.
SINGLE_OBJECTIVE_SAMPLERS = {"cmaes": "Optuna's CMA-ES sampler is single-objective"}
GP_MULTI_OBJECTIVE = (4, 4)  # Optuna's GPSampler searches several objectives from 4.4 on


def parse_objective(text: str | None) -> str:
    """``accuracy`` or ``accuracy,COST`` (either order, any case); anything else is one line naming the choices."""
    words = [w.strip().lower() for w in (text or ACCURACY).split(",")]
    choices = f"choose accuracy or a pair: {', '.join(OBJECTIVES[1:])}"
    if words == [ACCURACY]:
        return ACCURACY
    if len(words) != 2 or ACCURACY not in words or words[0] == words[1]:
        raise UserError(f"--objective {text!r} is not an objective this search can optimise; {choices}")
    cost = words[1] if words[0] == ACCURACY else words[0]
    if cost not in COSTS:
        raise UserError(f"--objective {text!r}: unknown cost {cost!r}; {choices}")
    return f"{ACCURACY},{cost}"


def cost_of(objective: str) -> Cost | None:
    """The cost a two-objective search minimises, or None for accuracy alone."""
    return COSTS[objective.split(",")[1]] if "," in objective else None


def objective_metrics(objective: str) -> tuple[list[str], list[str]]:
    """The searcher's metrics and modes: ``[best_val_accuracy]`` / ``[max]``, plus the cost's column / ``min``."""
    cost = cost_of(objective)
    return ([METRIC], ["max"]) if cost is None else ([METRIC, cost.column], ["max", "min"])


def _optuna_version() -> tuple[int, int]:
    import optuna

    major, minor = optuna.__version__.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def check_sampler(sampler: str, objective: str) -> None:
    """A one-line error where ``--sampler`` cannot search ``--objective``'s two objectives."""
    if cost_of(objective) is None:
        return
    why = SINGLE_OBJECTIVE_SAMPLERS.get(sampler)
    if sampler == "gp" and _optuna_version() < GP_MULTI_OBJECTIVE:
        why = "Optuna's GP sampler searches several objectives only from Optuna 4.4 on"
    if why:
        raise UserError(f"--sampler {sampler} cannot search two objectives (--objective {objective}): {why}; "
                        "use --sampler tpe (multi-objective TPE) or random")


def objective_line(objective: str, sampler: str, scheduler_asked: str | None = None) -> str | None:
    """The line the search prints about a two-objective search (None for accuracy alone)."""
    cost = cost_of(objective)
    if cost is None:
        return None
    how = "multi-objective TPE" if sampler == "tpe" else sampler
    instead = f" instead of {scheduler_asked}" if scheduler_asked and scheduler_asked != "fifo" else ""
    return (f"objective: {METRIC} (max) and {cost.column} (min: {cost.label}); {how} sampler; scheduler fifo"
            f"{instead}, since ASHA stops trials by one number: every trial runs to its end")


def _value(metrics: dict[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def choose_best(ok: list, objective: str, pick: str = ACCURACY) -> tuple[Any, dict[str, Any] | None]:
    """The best of ``ok`` (Ray results with a score) and, for two objectives, the front it was picked from.

    Accuracy alone: the highest ``best_val_accuracy``. Two objectives: the Pareto front of (accuracy, cost) over
    the trials that measured their cost, and the point ``pick`` chooses on it (:func:`benchmarks.pareto.pick_from_front`).
    The returned ``pareto`` dict goes into ``summary.json``.
    """
    most_accurate = max(ok, key=lambda r: r.metrics[METRIC])
    cost = cost_of(objective)
    if cost is None:
        return most_accurate, None
    measured = [r for r in ok if _value(r.metrics, cost.column) is not None]
    pareto: dict[str, Any] = {"objective": objective, "cost": cost.name, "cost_column": cost.column,
                              "cost_label": cost.label, "rule": pick, "measured": len(measured), "front": []}
    if not measured:
        pareto.update(picked=most_accurate.metrics["trial_id"], picked_by=ACCURACY,
                      why=f"no trial measured its {cost.name}, so the most accurate trial")
        return most_accurate, pareto
    values = [(float(r.metrics[METRIC]), _value(r.metrics, cost.column)) for r in measured]
    front = pareto_front(values, ("max", "min"))
    chosen = pick_from_front([values[i] for i in front], ("max", "min"), pick)
    best = measured[front[chosen.index]]
    pareto["front"] = sorted(({"trial_id": measured[i].metrics["trial_id"], "backbone": measured[i].config.get("backbone"),
                               "val_accuracy": values[i][0], cost.column: values[i][1]} for i in front),
                             key=lambda p: (p[cost.column], -p["val_accuracy"]))
    pareto.update(picked=best.metrics["trial_id"], picked_by=chosen.rule, why=chosen.why)
    return best, pareto


def pareto_lines(pareto: dict[str, Any] | None) -> list[str]:
    """The closing summary's lines: the front (trial, accuracy, cost), and which trial was picked and why."""
    if not pareto:
        return []
    cost = COSTS[pareto["cost"]]
    lines = [f"pareto front of validation accuracy against {cost.name} ({cost.label}); "
             f"{len(pareto['front'])} of {pareto['measured']} trials with a measured {cost.name}:"]
    for point in pareto["front"]:
        mark = "  <- picked" if point["trial_id"] == pareto["picked"] else ""
        lines.append(f"  {point['trial_id']} ({point.get('backbone')}): val_accuracy {point['val_accuracy']:.4f}, "
                     f"{cost.name} {cost.format(point[cost.column])}{mark}")
    lines.append(f"picked {pareto['picked']} (--pick {pareto['rule']}): {pareto['why']}")
    return lines
