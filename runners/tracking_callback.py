"""Ray Tune's MLflow logger with each trial's role and end status as tags (``runners.tracking`` uses it).

A module of its own because Ray's integration imports MLflow, an optional extra: ``runners.tracking`` and the
option checks import without it.
"""

from __future__ import annotations

import sys

from ray.air.integrations.mlflow import MLflowLoggerCallback

from records.contract import REPEAT_OF_KEY
from runners.callbacks import ended_naturally, trial_error

__all__ = ["TrialLogger"]


class TrialLogger(MLflowLoggerCallback):
    """Ray Tune's ``MLflowLoggerCallback``, tagging each trial's child run with its id, role and how it ended.

    A trial that raised reports its error as its last result (``runners.trainable``), so Ray alone would
    end its run FINISHED; here it is FAILED. ``status`` says completed, stopped (by the scheduler) or failed.
    A tracking server that stops answering costs one warning and the rest of the logging, never the search.
    """

    broken = False

    def setup(self, *args, **kwargs):
        """Connect to the server (Ray's), unless it failed before."""
        self._guard(super().setup, *args, **kwargs)

    def log_trial_start(self, trial):
        """Start the trial's run (Ray's), then tag it with the trial's id and role."""
        role = "repeat" if trial.config.get(REPEAT_OF_KEY) else "search"
        self._guard(super().log_trial_start, trial)
        self._guard(self._tag, trial, trial_id=trial.trial_id, role=role)

    def log_trial_result(self, iteration, trial, result):
        """Log the epoch's metrics (Ray's)."""
        self._guard(super().log_trial_result, iteration, trial, result)

    def log_trial_end(self, trial, failed: bool = False):
        """Tag how the trial ended, then end its run (Ray's), FAILED where the trial reported an error."""
        failed = failed or bool(trial_error(trial))
        status = "failed" if failed else "completed" if ended_naturally(trial.last_result or {}) else "stopped"
        self._guard(self._tag, trial, status=status)
        self._guard(super().log_trial_end, trial, failed=failed)

    def _tag(self, trial, **tags: str) -> None:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.tracking_uri)
        for key, value in tags.items():
            client.set_tag(self._trial_runs[trial], key, value)

    def _guard(self, method, *args, **kwargs) -> None:
        """Call ``method``, unless the server failed before; a failure now is one warning and no more calls."""
        if self.broken:
            return
        try:
            method(*args, **kwargs)
        except Exception as error:  # noqa: BLE001  (the results database keeps the trials either way)
            self.broken = True
            print(f"warning: mlflow: logging the trials stopped: {type(error).__name__}: "
                  f"{str(error).splitlines()[0][:200] if str(error) else ''}", file=sys.stderr, flush=True)
