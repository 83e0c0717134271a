"""Ray Tune callbacks run by the driver: readable progress, and one database row per finished trial.

Both keep their state in Ray's experiment checkpoints (``get_state``/``set_state``), so a search resumed
after its driver died goes on counting and recording where it left off.
"""

from __future__ import annotations

import os
import re
import sys
import time
from typing import Any

import sqlalchemy as sa
from ray.tune import Callback

from benchmarks.hyperparameters import describe
from benchmarks.models import family
from records.contract import REPEAT_OF_KEY, SEED_KEY
from records.run import RunRecord, trial_role
from records.store import HYPERPARAMETERS, ResultsStore, now
from runners.trainable import COST_KEYS
from records.contract import TRIAL_ERROR
from records.databases import sqlite_file
from runners.faults import DISK_FULL, disk_full, full_folder, stop_for_full_disk

_ERROR_LINE = re.compile(r"^(?:\w+\.)*(\w+(?:Error|Exception|Interrupt)): (.+)$")


def trial_error(trial) -> str | None:
    """The error a trial raised itself (its last report says so), or None."""
    return (trial.last_result or {}).get(TRIAL_ERROR)


def error_message(trial) -> str:
    """The error a trial raised, or the last ``SomeError: message`` line of the traceback Ray kept."""
    if trial_error(trial):
        return trial_error(trial)
    text = ""
    try:
        # The driver writes the trace locally first; storage gets it later, so read the local copy.
        if trial.error_file and os.path.exists(trial.error_file):
            with open(trial.error_file) as f:
                text = f.read()
        else:
            text = str(trial.get_error() or "")
    except Exception:  # the error file may be gone; the status still says failed
        pass
    matches = [m for m in (_ERROR_LINE.match(line.strip()) for line in text.splitlines()) if m]
    if matches:
        return f"{matches[-1].group(1)}: {matches[-1].group(2)}"[:500]
    return (text.strip().splitlines() or ["unknown error"])[-1][:500]


def describe_config(config: dict[str, Any]) -> str:
    """``custom_cnn lr=1.0e-03 bs=32 ...``: the backbone (and a recipe's variant), then the hyperparameters set."""
    parts = [str(config.get("backbone"))] + ([f"({config['variant']})"] if config.get("variant") else [])
    return " ".join([*parts, describe(config)]).strip()


def _column_value(value: Any) -> Any:
    """A list (an explicit augmentation list, say) goes into its one-value column comma-joined."""
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value


class ProgressPrinter(Callback):
    """One line per trial start, epoch and end, so a person can follow a long search."""

    def __init__(self, num_samples: int, epochs: int, what: str = "trial", started: float | None = None):
        self.num_samples = num_samples
        self.epochs = epochs
        self.what = what  # "trial", or "repeat" for a finalist's repeats
        # Wall clock: a resumed search goes on counting from the first start, the repeats from the search's.
        self.started = time.time() if started is None else started
        self.finished = 0

    def get_state(self) -> dict[str, Any]:
        return {"finished": self.finished}

    def set_state(self, state: dict[str, Any]) -> None:
        self.finished = state.get("finished", 0)

    def _print(self, text: str) -> None:
        elapsed = time.time() - self.started
        print(f"[{elapsed:6.0f}s] {text}", file=sys.stdout, flush=True)

    def on_trial_start(self, iteration, trials, trial, **info):
        self._print(f"{self.what} {trial.trial_id} started: {describe_config(trial.config)}")

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if TRIAL_ERROR in result or DISK_FULL in result:
            return  # on_trial_complete says it failed; a full disk ends the search in one line
        self._print(
            f"{self.what} {trial.trial_id} epoch {result.get('epoch')}/{self.epochs} "
            f"val_accuracy={result.get('val_accuracy', float('nan')):.4f} val_loss={result.get('val_loss', float('nan')):.4f}"
        )

    def on_trial_complete(self, iteration, trials, trial, **info):
        if trial_error(trial):
            self.on_trial_error(iteration, trials, trial)
            return
        self.finished += 1
        result = trial.last_result or {}
        how = "finished" if ended_naturally(result) else "stopped early by the scheduler"
        self._print(
            f"{self.what} {trial.trial_id} {how} ({self.finished}/{self.num_samples} done): "
            f"best val_accuracy={result.get('best_val_accuracy', float('nan')):.4f}"
        )

    def on_trial_error(self, iteration, trials, trial, **info):
        self.finished += 1
        self._print(f"{self.what} {trial.trial_id} FAILED ({self.finished}/{self.num_samples} done): {error_message(trial)}")

    def on_trial_recover(self, iteration, trials, trial, **info):
        self._print(f"{self.what} {trial.trial_id} lost its worker ({error_message(trial)}); "
                    "retrying it from its last checkpoint")


def ended_naturally(result: dict[str, Any]) -> bool:
    """Whether a trial's last result is its own last epoch (all epochs run, or Keras early stopping).

    Ray marks every last result ``done``, including when the scheduler stopped the trial, so the
    trial itself says whether that epoch was meant to be its last (``final``, see benchmarks/training.py).
    """
    return bool(result.get("final"))


class TrialRecorder(Callback):
    """Write every trial that ends (completed, stopped, failed) as a row of the ``trials`` table."""

    EPOCH_KEYS = ("epoch", "phase", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "params",
                  "trainable_params", "node_id", "rss_mb", "peak_rss_mb")

    def __init__(self, store: ResultsStore, run: RunRecord):
        self.store = store
        self.run = run
        self.started_at: dict[str, Any] = {}
        self.histories: dict[str, list[dict[str, Any]]] = {}
        # Rows the database refused (locked for too long, gone, corrupt): kept in Ray's saved state and written by
        # a later event, at the experiment's end, or by --resume once the database is back. Never a trial error.
        self.pending: dict[str, dict[str, Any]] = {}
        self.database_error: str | None = None

    def get_state(self) -> dict[str, Any]:
        return {"started_at": dict(self.started_at), "histories": {k: list(v) for k, v in self.histories.items()},
                "pending": dict(self.pending)}

    def set_state(self, state: dict[str, Any]) -> None:
        self.started_at.update(state.get("started_at", {}))
        self.histories.update(state.get("histories", {}))
        self.pending.update(state.get("pending", {}))

    def flush(self) -> None:
        """Write the rows the database refused before; report a failure once, in one line."""
        for trial_id, row in list(self.pending.items()):
            try:
                self.store.record_trial(row)
            except sa.exc.SQLAlchemyError as error:
                if disk_full(error):  # the search stops as interrupted; --resume writes the row (runners.faults)
                    folder = os.path.dirname(sqlite_file(self.store.url) or "") or "the results database's folder"
                    stop_for_full_disk(full_folder(error, folder))
                    return
                if self.database_error is None:
                    first = str(getattr(error, "orig", None) or error).splitlines()[0][:200]
                    print(f"warning: the results database refused a trial's row ({first}); the search goes on and "
                          "keeps the rows in Ray's state", file=sys.stderr, flush=True)
                self.database_error = str(error).splitlines()[0][:200]
                return
            del self.pending[trial_id]
        self.database_error = None

    def on_experiment_end(self, trials, **info):
        self.flush()

    def on_trial_start(self, iteration, trials, trial, **info):
        self.started_at.setdefault(trial.trial_id, now())
        if self.pending:
            self.flush()

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if DISK_FULL in result:  # its checkpoint found no space: the search stops, --resume continues the trial
            stop_for_full_disk(result[DISK_FULL])
            return
        if TRIAL_ERROR in result:
            return
        epoch = {k: result[k] for k in self.EPOCH_KEYS if k in result}
        history = self.histories.setdefault(trial.trial_id, [])
        # A trial resumed from a checkpoint repeats no epoch: keep the latest report of each.
        history[:] = [h for h in history if h.get("epoch") != epoch.get("epoch")] + [epoch]

    def on_trial_complete(self, iteration, trials, trial, **info):
        result = trial.last_result or {}
        if trial_error(trial):
            self._record(trial, "failed", trial_error(trial))
        else:
            self._record(trial, "completed" if ended_naturally(result) else "stopped", None)

    def on_trial_error(self, iteration, trials, trial, **info):
        self._record(trial, "failed", error_message(trial))

    def _record(self, trial, status: str, error: str | None) -> None:
        config = dict(trial.config)
        history = self.histories.get(trial.trial_id, [])
        best = max(history, key=lambda h: h["val_accuracy"], default={})
        last = (trial.last_result or {})
        row = {
            **self.run.trial_fields(),
            "image_size": last.get("image_size") or self.run.image_size,  # the custom CNN may train smaller
            "trial_id": trial.trial_id,
            "role": trial_role(config, self.run),
            "seed": config.get(SEED_KEY, self.run.seed),
            "repeat_of": config.get(REPEAT_OF_KEY),
            "family": family(config.get("backbone", ""), self.run.pretrained),
            "backbone": config.get("backbone"),
            "status": status,
            "error": error,
            "val_accuracy": best.get("val_accuracy"),
            "val_loss": best.get("val_loss"),
            "epochs": len(history),
            "wall_seconds": last.get("time_total_s"),
            "params": best.get("params"),
            "trainable_params": max((h.get("trainable_params", 0) for h in history), default=None),
            "node_id": last.get("node_id") or (history[-1].get("node_id") if history else None),
            "node_ip": last.get("node_ip"),
            "worker_pid": last.get("pid"),
            "peak_rss_mb": max((h["peak_rss_mb"] for h in [*history, last] if h.get("peak_rss_mb")), default=None),
            "worker_failures": int(getattr(trial.run_metadata, "num_failures", 0) or 0),
            # The cost a trial measured once (runners.trainable): FLOPs per image always, latency for a search by it.
            **{k: last.get(k) for k in COST_KEYS if last.get(k) is not None},
            **{k: _column_value(config.get(k)) for k in HYPERPARAMETERS},
            "config": config,
            "history": history,
            "started_at": self.started_at.get(trial.trial_id),
            "finished_at": now(),
        }
        self.pending[trial.trial_id] = row
        self.flush()
