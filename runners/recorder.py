"""The search's trial recorder: :class:`runners.callbacks.TrialRecorder`, plus each trial's measured cost.

A trial reports its cost with every epoch from the first on (``runners.trainable``, :mod:`benchmarks.costs`), so the
last result Ray keeps carries it; this recorder writes it into the trial's row (``latency_ms``, ``flops``;
``params`` the base recorder writes already).
"""

from __future__ import annotations

from typing import Any

from runners.callbacks import TrialRecorder

__all__ = ["COST_COLUMNS", "CostRecorder"]

#: The cost columns of the ``trials`` table a trial's last result may carry, beyond ``params``.
COST_COLUMNS = ("latency_ms", "flops")


class CostRecorder(TrialRecorder):
    """Every row also gets the trial's measured cost (null where it measured none)."""

    def __init__(self, store, run):
        super().__init__(store, run)
        self.costs: dict[str, dict[str, Any]] = {}

    def _record(self, trial, status: str, error: str | None) -> None:
        last = trial.last_result or {}
        self.costs[trial.trial_id] = {k: last.get(k) for k in COST_COLUMNS if last.get(k) is not None}
        super()._record(trial, status, error)

    def flush(self) -> None:
        # The base recorder puts the row into ``pending`` and flushes it: the cost joins the row first, so a row
        # the database refused keeps it in Ray's saved state too.
        for trial_id, row in self.pending.items():
            for key, value in self.costs.pop(trial_id, {}).items():
                row.setdefault(key, value)
        super().flush()
