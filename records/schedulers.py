"""The trial schedulers a search may run, declared once: name, budget parameters and how reports word them.

What Ray object runs a scheduler is ``runners.schedulers``' business; this declaration is what the command line
(``--scheduler`` choices), the search's first line, the summary and the report read, so that they name a
scheduler the same way. An early-stopping scheduler runs once per model family (``runners.schedulers``), so the
wording says "within its family".

>>> get_scheduler("asha").describe(grace_period=2)
'ASHA (grace period 2 epochs, reduction factor 2): stops a trial that falls behind the others of its family'
>>> scheduler_label("fifo"), scheduler_label("something-else")
('FIFO', 'something-else')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from benchmarks.errors import UserError

__all__ = ["Scheduler", "declare_scheduler", "get_scheduler", "list_schedulers", "scheduler_label",
           "stopped_wording"]

#: How a parameter reads in a sentence, and its unit where it has one.
_PARAMETER_WORDS: dict[str, tuple[str, str]] = {
    "grace_period": ("grace period", " epochs"),
    "reduction_factor": ("reduction factor", ""),
    "min_samples_required": ("at least", " trials of the family to compare with"),
}


@dataclasses.dataclass(frozen=True)
class Scheduler:
    """One scheduler: its ``--scheduler`` name, its label in sentences, what it does and its budget parameters.

    ``params`` are its parameters beyond the epochs every scheduler is bounded by; ``grace_period`` among them
    is a default only: the budget's own (``runners.budgets``) replaces it. ``stops_early`` is False for a
    scheduler that runs every trial to its end.
    """

    name: str
    label: str  # how a sentence names it: "ASHA", "HyperBand", "the median stopping rule"
    does: str  # what it does, completing "LABEL: ..." in a sentence
    stops_early: bool = True
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def parameters(self, grace_period: int | None = None) -> dict[str, Any]:
        """Its parameters, with the budget's ``grace_period`` where it takes one."""
        params = dict(self.params)
        if "grace_period" in params and grace_period is not None:
            params["grace_period"] = grace_period
        return params

    def describe(self, grace_period: int | None = None) -> str:
        """``ASHA (grace period 2 epochs, reduction factor 2): stops ...``: what the search's first line prints."""
        words = [f"{_PARAMETER_WORDS.get(k, (k.replace('_', ' '), ''))[0]} {v}"
                 f"{_PARAMETER_WORDS.get(k, ('', ''))[1]}" for k, v in self.parameters(grace_period).items()]
        listed = f" ({', '.join(words)})" if words else ""
        return f"{self.label}{listed}: {self.does}"

    @property
    def stopped(self) -> str:
        """How a trial it stopped is worded: ``stopped early by ASHA``."""
        return f"stopped early by {self.label}"


_SCHEDULERS: dict[str, Scheduler] = {}


def declare_scheduler(scheduler: Scheduler) -> Scheduler:
    """Add a scheduler's declaration (``runners.schedulers.register_scheduler`` also gives it its Ray builder)."""
    if scheduler.name in _SCHEDULERS:
        raise ValueError(f"scheduler {scheduler.name!r} is already declared")
    _SCHEDULERS[scheduler.name] = scheduler
    return scheduler


def get_scheduler(name: str) -> Scheduler:
    """The scheduler called ``name``; a one-line :class:`UserError` naming the others for any other name."""
    try:
        return _SCHEDULERS[name]
    except KeyError:
        raise UserError(f"unknown scheduler {name!r}; choose from {', '.join(_SCHEDULERS)}") from None


def list_schedulers() -> list[str]:
    """The declared schedulers' names, in the order they were declared (``--scheduler``'s choices)."""
    return list(_SCHEDULERS)


def scheduler_label(name: str) -> str:
    """The label of a declared scheduler; an unknown name (a user's scheduler not imported here) as it is."""
    scheduler = _SCHEDULERS.get(str(name))
    return scheduler.label if scheduler else str(name)


def stopped_wording(names: Iterable[str]) -> str:
    """What "stopped" means for trials run under ``names`` (a run's schedulers): ``ended early by ASHA, which
    stops ...``; the generic wording where none of them is a declared early-stopping scheduler."""
    parts = []
    for name in dict.fromkeys(str(n) for n in names if n):
        scheduler = _SCHEDULERS.get(name)
        if scheduler is None:
            parts.append(f"the {name} scheduler")
        elif scheduler.stops_early:
            parts.append(f"{scheduler.label} ({scheduler.does})")
    return f"ended early by {' or '.join(parts)}" if parts else "ended early by the scheduler"


declare_scheduler(Scheduler(
    "asha", "ASHA", "stops a trial that falls behind the others of its family",
    params={"grace_period": 2, "reduction_factor": 2}))
declare_scheduler(Scheduler(
    "fifo", "FIFO", "runs every trial to its end", stops_early=False))
declare_scheduler(Scheduler(
    "hyperband", "HyperBand",
    "runs the trials of its family in brackets, pausing all and resuming the best at each rung",
    params={"reduction_factor": 3}))
declare_scheduler(Scheduler(
    "median", "the median stopping rule",
    "stops a trial whose best result falls below the median of its family's running averages at that epoch",
    params={"grace_period": 2, "min_samples_required": 3}))
