"""A run's environment: collected without failing, stored on the run, read back, and shown in the runs table."""

from __future__ import annotations

import json
import platform
import subprocess

import pandas as pd

from records import environment as env
from records.environment import collect_environment, environment_of, machine_label, versions_label
from records.store import ResultsStore
from reports.sections.runs import machine_notes, run_summary


def test_the_environment_is_stored_on_the_run_and_read_back(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path}/leaderboard.db")
    collected = collect_environment()
    store.start_run(run_id="r1", run_name="digits-x", dataset="digits", environment=collected)

    stored = environment_of(store.run_row("r1"))
    assert stored == json.loads(json.dumps(collected))
    assert stored["python"] == platform.python_version()
    assert stored["packages"]["numpy"] == __import__("numpy").__version__
    assert stored["cpu"]["cores"] and stored["memory_bytes"] > 0
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=env.__file__.rsplit("/", 2)[0])
    if head.returncode == 0:  # run from a checkout: the commit it ran
        assert stored["git"]["commit"] == head.stdout.strip() and stored["git"]["dirty"] in (True, False)
    # The report reads it through the runs frame, where it is JSON text.
    frame = run_summary(store.runs(), pd.DataFrame(columns=["id", "run_id", "status", "started_at", "finished_at",
                                                            "run_name", "dataset"]))
    assert frame.loc[0, "machine"] == machine_label(stored) and str(stored["cpu"]["cores"]) in frame.loc[0, "machine"]


def test_missing_facts_are_none_never_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither git nor nvidia-smi can be found
    monkeypatch.setattr(env, "_memory_bytes", lambda: None)
    collected = collect_environment(checkout=tmp_path)  # not a checkout either
    assert collected["git"] is None and collected["gpus"] == [] and collected["memory_bytes"] is None
    assert machine_label(collected).endswith("; no GPU")
    assert environment_of(None) is None and environment_of({"environment": float("nan")}) is None


def test_gpus_from_nvidia_smi_and_labels(monkeypatch):
    monkeypatch.setattr(env, "_run", lambda command, cwd=None: "NVIDIA H100 80GB HBM3, 81559, 550.54.15\n" * 2)
    gpus = env._gpus()
    assert gpus == [{"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "driver": "550.54.15"}] * 2
    environment = {"python": "3.11.9", "packages": {"tensorflow": "2.16.1", "ray": None}, "cpu": {"model": "Xeon",
                   "cores": 16}, "memory_bytes": 64 * 2**30, "gpus": gpus, "cuda": "12.3", "cudnn": "8",
                   "git": {"commit": "0123456789abcdef", "dirty": True}}
    assert machine_label(environment) == "Xeon, 16 cores, 64 GiB; 2 x NVIDIA H100 80GB HBM3"
    assert versions_label(environment) == "Python 3.11.9, tensorflow 2.16.1, CUDA 12.3, cuDNN 8, git 01234567 (dirty)"


def test_the_runs_notes_say_when_runs_ran_on_different_machines():
    frame = pd.DataFrame({"run_name": ["a", "b", "c"], "machine": ["X; no GPU", "Y; H100", None],
                          "versions": ["Python 3.11", "Python 3.11", None]})
    notes = machine_notes(frame)
    assert "2 machines" in notes[0] and notes[1:] == ["Software of a, b: Python 3.11."]
    assert machine_notes(frame.iloc[2:]) == []
