"""An interrupted search continues with --resume: a killed driver (SIGKILL), Ctrl-C (SIGINT) and SIGTERM.

The totals must be exact afterwards: one row per trial, none lost, none doubled, the run's row kept, and the
Optuna sampler's history carried over (Tuner.restore once dropped it, ray#30861). Marked ``e2e``.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest
from helpers import TEST_SPACES, interrupt_when, run_cli, start_cli, trial_results, wait_for


pytestmark = pytest.mark.e2e

STEADY = ["--weights", "none", "--budget", "smoke", "--space", "steady_space", "--scheduler", "fifo",
          "--image-size", "32", "--repeats", "0"]



def table(workdir, sql: str, *params) -> pd.DataFrame:
    with sqlite3.connect(workdir / "results" / "leaderboard.db") as conn:
        return pd.read_sql(sql, conn, params=params)


def recorded(workdir, name: str) -> set[str]:
    if not (workdir / "results" / "leaderboard.db").exists():
        return set()
    try:
        return set(table(workdir, "select trial_id from trials where run_name = ?", name).trial_id)
    except Exception:  # the tables do not exist yet
        return set()


def test_a_killed_driver_resumes_with_exact_totals_and_the_sampler_history(tmp_path, ray_tmp):
    name, samples, epochs = "killed", 4, 3
    experiment = tmp_path / "results" / "ray" / name
    driver = start_cli("runners.search", *STEADY, "--num-samples", str(samples), "--epochs", str(epochs),
                       "--max-concurrent", "2", "--name", name, cwd=tmp_path, env=ray_tmp, log=tmp_path / "first.log")
    # Kill it once a trial is recorded and another has checkpointed its first epoch, and no more.
    def midway():
        done = recorded(tmp_path, name)
        return done and any(t not in done and r[-1]["epoch"] == 1 for t, r in trial_results(experiment).items())

    # settle: the driver saves its experiment state right after a checkpoint; epochs take seconds
    interrupt_when(midway, driver, sig=signal.SIGKILL, settle=0.3, wait=30, log=tmp_path / "first.log")
    before = table(tmp_path, "select trial_id, val_accuracy, learning_rate from trials where run_name = ?", name)
    run_before = table(tmp_path, "select run_id, status from runs where run_name = ?", name)
    assert 1 <= len(before) < samples and list(run_before.status) == ["running"]
    partway = {t for t, r in trial_results(experiment).items() if t not in set(before.trial_id) and r[-1]["epoch"] < epochs}
    assert partway

    result = run_cli("runners.search", "--resume", name, cwd=tmp_path, timeout=600, env=ray_tmp)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"resume: {len(before)} of {samples} trials already recorded" in result.stdout

    after = table(tmp_path, "select * from trials where run_name = ?", name)
    assert len(after) == samples and after.trial_id.is_unique  # none lost, none doubled
    assert set(after.status) == {"completed"} and (after.epochs == epochs).all()
    assert all([h["epoch"] for h in json.loads(history)] == list(range(1, epochs + 1)) for history in after.history)
    kept = after.set_index("trial_id").loc[before.trial_id]
    assert list(kept.val_accuracy) == list(before.val_accuracy)  # the finished trials were kept as they were
    runs = table(tmp_path, "select run_id, status, trials_total from runs where run_name = ?", name)
    assert list(runs.run_id) == list(run_before.run_id) and list(runs.status) == ["finished"]
    assert list(runs.trials_total) == [samples]
    # A trial that was part-way went on from its checkpoint: its first epochs were not trained again.
    continued = [t for t in partway if t in set(after.trial_id) and f"trial {t} epoch 1/{epochs}" not in result.stdout]
    assert continued, (partway, result.stdout[-3000:])

    # The sampler kept what it learned: its stored study holds every trial once, those finished before the kill
    # included (the resumed search continued the same study in Optuna's storage).
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path}/results/optuna.db")
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == samples and len(study.trials) == samples
    learned = sorted(t.params["learning_rate"] for t in finished)
    assert all(any(abs(lr - x) < 1e-12 for x in learned) for lr in before.learning_rate)


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path, ray_tmp):
    name = "interrupted"
    driver = start_cli("runners.search", *STEADY, "--num-samples", "2", "--epochs", "3", "--max-concurrent", "1",
                       "--name", name, cwd=tmp_path, env=ray_tmp, log=tmp_path / "first.log")
    interrupt_when(lambda: trial_results(tmp_path / "results" / "ray" / name), driver, log=tmp_path / "first.log")
    log = (tmp_path / "first.log").read_text()
    assert driver.returncode == 130, log[-3000:]
    assert log.strip().splitlines()[-1] == f"error: interrupted; continue it with: python -m runners.search --resume {name}"
    assert list(table(tmp_path, "select status from runs").status) == ["interrupted"]

    result = run_cli("runners.search", "--name", name, "--resume", cwd=tmp_path, timeout=600, env=ray_tmp)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    after = table(tmp_path, "select trial_id, status from trials")
    assert len(after) == 2 and after.trial_id.is_unique and set(after.status) == {"completed"}
    assert list(table(tmp_path, "select status from runs").status) == ["finished"]

    # Finished now: nothing to resume, and its name is taken.
    again = run_cli("runners.search", "--resume", name, cwd=tmp_path, timeout=120, env=ray_tmp)
    assert again.returncode == 2
    assert again.stderr == f"error: run {name!r} already finished; nothing to resume (its results are in the database)\n"
    rerun = run_cli("runners.search", *STEADY, "--num-samples", "1", "--name", name, cwd=tmp_path, timeout=120, env=ray_tmp)
    assert rerun.returncode == 2 and f"continue it with --resume {name}" in rerun.stderr
    assert len(table(tmp_path, "select * from trials")) == 2


def start_in_a_group_of_its_own(*args: str, cwd, env: dict, log) -> subprocess.Popen:
    """``python -m runners.search args`` as :func:`helpers.start_cli` starts it, leading a process group of its own:
    the group that ``timeout`` and job schedulers send SIGTERM to, the search's local Ray included."""
    path = os.pathsep.join(p for p in (str(TEST_SPACES), os.environ.get("PYTHONPATH", "")) if p)
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "runners.search", *args], cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": path, **env},
                                start_new_session=True)


def test_sigterm_to_the_whole_group_stops_like_ctrl_c_and_resume_finishes_each_trial_once(tmp_path, ray_tmp):
    # As `timeout -s TERM 60 python -m runners.search ...` does: the driver and its Ray get SIGTERM at once, so the
    # search cannot stop through Ray; within SIGTERM_GRACE_S (10 s) it is recorded as interrupted all the same.
    name, epochs = "terminated", 3
    experiment = tmp_path / "results" / "ray" / name
    driver = start_in_a_group_of_its_own(*STEADY, "--num-samples", "2", "--epochs", str(epochs), "--max-concurrent",
                                         "1", "--name", name, cwd=tmp_path, env=ray_tmp, log=tmp_path / "first.log")
    try:
        # Once the first trial is recorded and the second has checkpointed an epoch: Ray saves its state right
        # after a checkpoint, so the state --resume reads knows that the first trial ended.
        def midway():
            done = recorded(tmp_path, name)
            return done and any(t not in done and r[-1]["epoch"] < epochs for t, r in trial_results(experiment).items())

        wait_for(midway, driver, log=tmp_path / "first.log")
        time.sleep(0.3)
        signalled = time.monotonic()
        os.killpg(driver.pid, signal.SIGTERM)
        driver.wait(timeout=120)
        assert time.monotonic() - signalled < 60  # SIGTERM_GRACE_S (10 s) and an exit, never a hang
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait(timeout=30)
    log = (tmp_path / "first.log").read_text()
    assert driver.returncode == 130, log[-3000:]
    assert "Traceback" not in log and "SIGTERM received" not in log, log[-3000:]
    resume = f"error: interrupted; continue it with: python -m runners.search --resume {name}"
    assert log.strip().splitlines()[-1] == resume and log.count("error: interrupted") == 1, log[-3000:]
    assert list(table(tmp_path, "select status from runs").status) == ["interrupted"]
    before = table(tmp_path, "select trial_id, val_accuracy from trials")
    assert len(before) == 1

    command = resume.split("continue it with: ")[1].split()
    assert command[:3] == ["python", "-m", "runners.search"]
    result = run_cli("runners.search", *command[3:], cwd=tmp_path, timeout=600, env=ray_tmp)  # the printed command
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "resume: 1 of 2 trials already recorded" in result.stdout
    after = table(tmp_path, "select trial_id, val_accuracy, status from trials")
    assert len(after) == 2 and after.trial_id.is_unique and set(after.status) == {"completed"}
    assert list(after.set_index("trial_id").loc[before.trial_id].val_accuracy) == list(before.val_accuracy)
    assert list(table(tmp_path, "select status from runs").status) == ["finished"]


def test_a_driver_killed_during_the_repeats_resumes_them_with_one_row_each(tmp_path, ray_tmp):
    name = "repeats"
    repeats = tmp_path / "results" / "ray" / name / "repeats"
    args = [a for a in STEADY if a not in ("--repeats", "0")]
    driver = start_cli("runners.search", *args, "--num-samples", "2", "--epochs", "2", "--max-concurrent", "2",
                       "--repeats", "2", "--name", name, cwd=tmp_path, env=ray_tmp, log=tmp_path / "first.log")
    interrupt_when(lambda: repeats.exists() and trial_results(repeats), driver,  # a repeat has checkpointed an epoch
                   sig=signal.SIGKILL, settle=0.3, wait=30, log=tmp_path / "first.log")
    result = run_cli("runners.search", "--resume", name, cwd=tmp_path, timeout=600, env=ray_tmp)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = table(tmp_path, "select trial_id, role, seed, repeat_of, test_accuracy, status from trials")
    assert rows.trial_id.is_unique and sorted(rows.role) == ["repeat", "repeat", "search", "search"]
    repeated = rows[rows.role == "repeat"]
    assert set(repeated.seed) == {1, 2} and repeated.test_accuracy.notna().all()
    assert repeated.repeat_of.nunique() == 1 and repeated.repeat_of.iloc[0] in set(rows.trial_id)
    assert "verdict: " in result.stdout
    runs = table(tmp_path, "select status, finalists from runs")
    assert list(runs.status) == ["finished"] and json.loads(runs.finalists.iloc[0])["finalists"][0]["test_accuracy"]["n"] == 2


def test_resuming_an_unknown_run_is_a_one_line_error(tmp_path, ray_tmp):
    result = run_cli("runners.search", "--resume", "nothing-here", cwd=tmp_path, timeout=120, env=ray_tmp)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: no run named 'nothing-here' to resume in ")
    assert not (tmp_path / "results").exists()
