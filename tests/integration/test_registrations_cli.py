"""A backbone registered in the user's own module, outside the package, trains in a real trial.

The module and a space using its backbone are written to the test's folder, which is the search's working
directory and on no PYTHONPATH: the driver imports them (``--register``, ``--space``), Ray ships them to the
workers and each trial imports them by name before building its model. One trial, one epoch, digits.
"""

from __future__ import annotations

import textwrap

import pytest
from helpers import run_cli

from records.store import ResultsStore

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

BACKBONES = '''
"""A user's registrations: a keras.applications model under a name of its own."""
from benchmarks.models import register_backbone

register_backbone("my_mobilenet", "MobileNetV2", "tf")
'''

SPACE = '''
"""A user's space: the backbone my_backbones registers, its learning rate searched."""
from search_spaces import SearchSpace


def suggest(trial, pretrained=True):
    trial.suggest_float("learning_rate", 1e-3, 5e-3, log=True)
    return {"backbone": "my_mobilenet", "dense_units": 32, "dropout": 0.0, "optimizer": "adam",
            "augmentation": "none", "batch_size": 32}


SPACE = SearchSpace("mine", "the registered backbone", suggest, ("my_mobilenet",))
'''


def test_a_backbone_registered_in_a_users_module_trains_in_the_trials(tmp_path):
    (tmp_path / "my_backbones.py").write_text(textwrap.dedent(BACKBONES))
    (tmp_path / "my_space.py").write_text(textwrap.dedent(SPACE))
    result = run_cli("runners.search", "--register", "my_backbones", "--space", "my_space", "--weights", "none",
                     "--budget", "smoke", "--num-samples", "1", "--epochs", "1", "--repeats", "0", "--image-size", "32",
                     "--scheduler", "fifo", "--max-concurrent", "1", "--name", "registered", cwd=tmp_path, timeout=540)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    trials = ResultsStore(f"sqlite:///{tmp_path}/results/leaderboard.db", create=False).trials()
    assert list(trials["backbone"]) == ["my_mobilenet"] and list(trials["status"]) == ["completed"], trials
    assert trials["val_accuracy"].notna().all()
    assert "unknown backbone" not in result.stdout + result.stderr


def test_a_register_module_that_does_not_import_is_one_line_before_anything_starts(tmp_path):
    result = run_cli("runners.search", "--register", "no_such_module_here", "--budget", "smoke", "--weights", "none",
                     cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --register no_such_module_here: cannot import it (ModuleNotFoundError: No module named "
        "'no_such_module_here'); it must be an importable module (on PYTHONPATH or in the working directory)"]
    assert not (tmp_path / "results").exists()
