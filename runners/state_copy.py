"""A last good copy of Ray Tune's saved experiment state, for ``--resume`` after a disk filled up.

Ray Tune rewrites its state files in place (``experiment_state-*.json``, the search generator's, the searcher's and
the callbacks' pickles); one rewritten on a full disk is cut short, and ``Tuner.restore`` cannot read it. :class:`StateCopy`
copies the files every few seconds while they read whole (each copy written beside and renamed over the last, so
a copy that finds no space leaves the previous one), and :func:`restore_good_copy` puts the copy back before a
resume where a state file is cut short. The copy may be a few seconds older than the state: what a resume from
it redoes is what it redoes after a killed driver (``runners.consistency``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from ray.tune import Callback

__all__ = ["StateCopy", "restore_good_copy"]

COPY = ".last-good-state"
_STATE_FILES = ("experiment_state-*.json", "search_gen_state-*.json", "searcher-state-*.pkl",
                "callback-states-*.pkl")


def _state_files(experiment: Path) -> list[Path]:
    return sorted(path for pattern in _STATE_FILES for path in experiment.glob(pattern))


def _whole(path: Path) -> bool:
    """Whether a state file reads whole: the experiment's JSON parses, a pickle (the search generator's ``.json``
    is one too) ends with its STOP opcode."""
    try:
        data = path.read_bytes()
        if path.name.startswith("experiment_state-"):
            json.loads(data)
            return True
        return data.endswith(b".")
    except (OSError, ValueError):
        return False


class StateCopy(Callback):
    """Keep a copy of the experiment's state files, at most every ``every_s`` seconds, while they read whole."""

    def __init__(self, experiment: str, every_s: float = 5.0):
        self.experiment = experiment
        self.every_s = every_s
        self._last = 0.0

    def on_step_end(self, iteration, trials, **info):
        if time.monotonic() - self._last >= self.every_s:
            self._last = time.monotonic()
            keep_good_copy(Path(self.experiment))


def keep_good_copy(experiment: Path) -> None:
    """Copy the state files into ``experiment/.last-good-state`` if every one reads whole; never raises."""
    files = _state_files(experiment)
    if not files or not all(_whole(path) for path in files):
        return
    target = experiment / COPY
    try:
        target.mkdir(exist_ok=True)
        for path in files:
            partial = target / f"{path.name}.partial"
            shutil.copyfile(path, partial)
            os.replace(partial, target / path.name)
        for old in set(p.name for p in target.iterdir()) - {p.name for p in files}:
            (target / old).unlink(missing_ok=True)  # a file of an earlier session's state, replaced since
    except OSError:  # no space, say: the previous copy stays
        for partial in target.glob("*.partial"):
            partial.unlink(missing_ok=True)


def restore_good_copy(experiment: str) -> bool:
    """Where a state file of a local ``experiment`` folder is cut short, put the last good copy back; say so."""
    folder = Path(experiment)
    if not folder.is_dir() or all(_whole(path) for path in _state_files(folder)):
        return False
    copy = _state_files(folder / COPY)
    if not copy:
        return False
    for path in _state_files(folder):
        path.unlink()
    for path in copy:
        shutil.copyfile(path, folder / path.name)
    print("resume: Ray's last saved state was cut short (a full disk?); continuing from its last good copy",
          flush=True)
    return True
