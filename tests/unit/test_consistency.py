"""How a search tells an interruption from an end: the state Ray saved, not the grid Ray Tune returns."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from runners import consistency
from runners.consistency import Interrupted, check_complete


def grid(*errors):
    """A stand-in for Ray Tune's ResultGrid: after a Ctrl-C every trial in it looks ended (TERMINATED)."""
    return [SimpleNamespace(error=error, metrics={"trial_id": f"t{i}"}) for i, error in enumerate(errors)]


def test_a_trial_still_running_in_the_saved_state_is_an_interruption(monkeypatch):
    monkeypatch.setattr(consistency, "saved_statuses", lambda g: ["TERMINATED", "RUNNING"])
    with pytest.raises(Interrupted, match="1 of 2 trials ended"):
        check_complete(grid(None, None), 2)


def test_every_trial_ended_or_failed_in_the_saved_state_is_complete(monkeypatch):
    monkeypatch.setattr(consistency, "saved_statuses", lambda g: ["TERMINATED", "ERROR"])
    check_complete(grid(None, RuntimeError("x")), 2)


def test_fewer_trials_than_asked_for_is_an_interruption(monkeypatch):
    monkeypatch.setattr(consistency, "saved_statuses", lambda g: ["TERMINATED"])
    with pytest.raises(Interrupted):
        check_complete(grid(None), 2)


def test_without_a_readable_saved_state_the_grid_decides(monkeypatch):
    monkeypatch.setattr(consistency, "saved_statuses", lambda g: None)
    check_complete(grid(None, None), 2)
    with pytest.raises(Interrupted):
        check_complete(grid(None), 2)


def test_an_unreadable_experiment_path_is_none():
    assert consistency.saved_statuses(SimpleNamespace(experiment_path="/nonexistent/run", filesystem=None)) is None
