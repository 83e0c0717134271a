"""A resumed experiment runs the callbacks its caller passes (``run_search(callbacks=...)`` on ``--resume``).

Ray's ``Tuner.restore`` takes no callbacks; ``runners.tuning.restore_tuner`` puts them into the restored run
configuration, replacing the interrupted run's saved copy of a callback of the same type. A plain function
trainable (no TensorFlow) on an in-process local Ray keeps it to seconds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import short_ray_tmpdir
from ray import tune

from runners.tuning import restore_tuner

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SEEN: list[str] = []
HERE = Path(__file__).resolve().parent


class Spy(tune.Callback):
    """Says, by its name, that the experiment set it up and that a trial ended under it."""

    def __init__(self, name: str):
        self.name = name

    def setup(self, **info):
        SEEN.append(f"{self.name}: setup")

    def on_trial_complete(self, iteration, trials, trial, **info):
        SEEN.append(f"{self.name}: {trial.config['x']} ended")


def _trainable(config):
    tune.report({"score": config["x"]})


@pytest.fixture
def local_ray(monkeypatch):
    import ray

    folder = short_ray_tmpdir()
    monkeypatch.setenv("RAY_TMPDIR", str(folder))
    # The trials' workers import this module (for its trainable) and what it imports.
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(map(str, (HERE, HERE.parent)))}})
    yield
    ray.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


def test_a_restored_experiment_runs_the_new_callbacks_instead_of_its_saved_copies(tmp_path, local_ray):
    tune.Tuner(_trainable, param_space={"x": tune.grid_search([1, 2])},
               tune_config=tune.TuneConfig(max_concurrent_trials=1),
               run_config=tune.RunConfig(name="exp", storage_path=str(tmp_path), callbacks=[Spy("saved")])).fit()
    assert SEEN == ["saved: setup", "saved: 1 ended", "saved: 2 ended"]
    SEEN.clear()
    grid = restore_tuner(_trainable, str(tmp_path / "exp"), callbacks=[Spy("given")])
    assert sorted(r.metrics["score"] for r in grid) == [1, 2]
    assert SEEN == ["given: setup"]
