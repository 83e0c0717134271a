"""``--warm-start RUN[,RUN]|auto``: a new search's study begins with the completed trials of earlier runs.

Checked before Ray starts, once the dataset is loaded (its test split's fingerprint and class count are what the
earlier runs are compared with, ``records.warm_start.difference``): a named run that is missing, unfinished or
measured something else is a one-line error naming the difference; ``auto`` takes every earlier finished run of
this dataset and space that matches and says which. The trials come from each run's study in this search's
``--optuna-storage``; they are added to the new study after it is created and before its first trial
(:meth:`WarmStart.add_to`), and the space's starting points are left out then: the earlier runs tried them.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from benchmarks.errors import UserError

__all__ = ["AUTO", "WarmStart", "plan_warm_start"]

AUTO = "auto"  # --warm-start auto: every earlier finished run that matches


@dataclasses.dataclass(frozen=True)
class WarmStart:
    """The earlier runs a search is warm-started from, and their trials (``optuna.trial.FrozenTrial``) to add."""

    runs: tuple[str, ...]
    trials: tuple[Any, ...]

    def study_attrs(self) -> dict[str, Any]:
        """The study's user attributes that say where its warm trials come from."""
        from records.warm_start import WARM_START_ATTR

        return {WARM_START_ATTR: list(self.runs)}

    def space(self, space):
        """``space`` without its starting points where there are warm trials (the earlier runs tried them)."""
        return dataclasses.replace(space, starting_points=()) if self.trials else space

    def add_to(self, storage_url: str, study_name: str) -> int:
        """Add the warm trials to the study ``study_name`` (just created, no trial of its own yet)."""
        import optuna

        from records.study import open_storage
        from records.warm_start import add_warm_trials

        study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
        return add_warm_trials(study, self.trials)


def plan_warm_start(options, space, data) -> WarmStart:
    """The runs ``options.warm_start`` names (or ``auto`` finds) checked against this search, and their trials.

    ``data`` is the loaded dataset. Raises a one-line :class:`UserError` for a named run that cannot be used.
    """
    from benchmarks.protocol import test_set_fingerprint
    from records.redact import display_url
    from records.warm_start import RunIdentity, difference, identity_of

    current = RunIdentity(
        dataset=data.name, num_classes=data.num_classes, test_fingerprint=test_set_fingerprint(data.test),
        seed=options.seed, space=space.name, budget=options.budget, image_size=options.image_size,
        weights=options.weights or "none", objective=options.objective)
    rows = _runs(options.db)
    if options.warm_start == AUTO:
        chosen = [row for row in rows if row["status"] == "finished" and row["run_name"] != options.name
                  and difference(identity_of(row), current) is None]
    else:
        chosen = []
        for name in options.warm_start.split(","):
            row = next((r for r in reversed(rows) if r["run_name"] == name), None)
            if row is None:
                raise UserError(f"--warm-start {name}: no run of that name in {display_url(options.db)}")
            if row["status"] != "finished":
                raise UserError(f"--warm-start {name}: the run is {row['status']}, not finished; warm-start from "
                                f"finished runs (continue it with --resume {name})")
            why = difference(identity_of(row), current)
            if why:
                raise UserError(f"--warm-start {name}: {why}")
            chosen.append(row)
    trials = tuple(trial for row in chosen for trial in _trials_of(options, row["run_name"]))
    names = tuple(row["run_name"] for row in chosen)
    if names:
        print(f"warm start: {len(trials)} completed trials of {', '.join(names)} start the study", flush=True)
    else:
        print(f"warm start: no earlier finished run of {data.name} with space {space.name}, budget {options.budget} "
              f"at {options.image_size}px; starting cold", flush=True)
    return WarmStart(names, trials)


def _trials_of(options, name: str) -> list:
    """Run ``name``'s completed trials from its study in this search's ``--optuna-storage``."""
    from records.redact import display_url
    from records.study import load_run_study
    from records.warm_start import warm_trials

    study = load_run_study(options.optuna_storage, name)
    if study is None:
        raise UserError(f"--warm-start {name}: its Optuna study is not in {display_url(options.optuna_storage)}; "
                        "pass the --optuna-storage it ran with")
    return warm_trials(study, name)


def _runs(db: str) -> list[dict[str, Any]]:
    """Every ``runs`` row of the results database, oldest first; none where there is no database yet."""
    from records.databases import sqlite_file
    from records.store import ResultsStore

    path = sqlite_file(db)
    if path is not None and not os.path.exists(path):
        return []  # do not create a database just to look
    return ResultsStore(db, create=False).runs().to_dict("records")
