"""Faults from outside a running search, each ending with the search's exit 0 and one row per trial.

A trial's worker killed (as the kernel's out-of-memory killer does): the trial is retried by Ray from its last
checkpoint (``--max-failures``), recorded once, and the other trial goes on. The PostgreSQL server of ``--db``
stopped while a trial runs and started again a few seconds later: the row of the trial that ended meanwhile waits
for it (one warning line) and is written once it is back. The server is a throwaway one (``tests/pg_server.py``),
skipped with the reason only where PostgreSQL is not installed (a failure where ``TRANSFER_SEARCH_REQUIRE_POSTGRES``
is set). The results folder on a small tmpfs that the test fills up while a trial runs: the search ends as
interrupted in one line naming the folder, exit 130, its results database intact, and ``--resume`` finishes it once
there is room (skipped, with the reason, where this machine does not let the test mount a tmpfs; the unit tests in
``tests/unit/test_faults.py`` inject the same fault without one). Marked ``e2e``; about a minute and a half each.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import run_cli, start_cli, trial_results, wait_for

from records.migrations import SCHEMA

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

STEADY = ["--weights", "none", "--budget", "smoke", "--space", "steady_space", "--scheduler", "fifo",
          "--image-size", "32", "--repeats", "0"]




def test_a_trial_worker_killed_is_retried_from_its_checkpoint_and_recorded_once(tmp_path, ray_tmp):
    name, epochs = "worker-killed", 3
    experiment = tmp_path / "results" / "ray" / name
    log = tmp_path / "search.log"
    driver = start_cli("runners.search", *STEADY, "--num-samples", "2", "--epochs", str(epochs), "--max-concurrent",
                       "2", "--max-failures", "1", "--name", name, cwd=tmp_path, env=ray_tmp, log=log)
    try:
        # Both trials running, one of them checkpointed its first epoch and not yet its last: kill that one's worker.
        def one_midway():
            results = trial_results(experiment)
            return len(results) == 2 and any(r[-1]["epoch"] < epochs for r in results.values())

        wait_for(one_midway, driver, log=log)
        victim, rows = next((t, r) for t, r in trial_results(experiment).items() if r[-1]["epoch"] < epochs)
        killed_pid, killed_after = rows[-1]["pid"], rows[-1]["epoch"]
        os.kill(killed_pid, signal.SIGKILL)
        driver.wait(timeout=480)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(timeout=30)
    output = log.read_text()
    assert driver.returncode == 0, output[-4000:]
    assert f"trial {victim} lost its worker" in output and "retrying it from its last checkpoint" in output

    with sqlite3.connect(tmp_path / "results" / "leaderboard.db") as conn:
        rows = pd.read_sql("select trial_id, status, epochs, worker_failures, history from trials", conn)
    assert len(rows) == 2 and rows.trial_id.is_unique, rows  # recorded once each
    assert set(rows.status) == {"completed"} and (rows.epochs == epochs).all()
    failures = dict(zip(rows.trial_id, rows.worker_failures))
    assert failures.pop(victim) == 1 and list(failures.values()) == [0]  # the other trial went on undisturbed
    history = json.loads(rows.set_index("trial_id").history[victim])
    assert [h["epoch"] for h in history] == list(range(1, epochs + 1))
    # The retry continued from the checkpoint: the epochs before the kill were not trained again, by a new process.
    reports = trial_results(experiment)[victim]
    assert [r["epoch"] for r in reports if r["epoch"] <= killed_after].count(killed_after) == 1, reports
    assert reports[-1]["pid"] != killed_pid


def test_the_database_server_stopped_and_started_again_mid_search_loses_no_row(tmp_path, ray_tmp, postgres):
    name, epochs = "db-restarted", 3
    url = postgres.create_database("restarted_mid_search")
    experiment = tmp_path / "results" / "ray" / name
    log = tmp_path / "search.log"
    driver = start_cli("runners.search", *STEADY, "--num-samples", "2", "--epochs", str(epochs), "--max-concurrent",
                       "1", "--db", url, "--name", name, cwd=tmp_path, env=ray_tmp, log=log)
    try:
        wait_for(lambda: trial_results(experiment), driver, log=log)  # the first trial has checkpointed an epoch
        postgres.stop_fast()
        # That trial ends while the server is down: its row waits for it.
        wait_for(lambda: "does not answer" in log.read_text(), driver, log=log)
        time.sleep(3)
        postgres.start_again()
        driver.wait(timeout=480)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(timeout=30)
        if not (postgres.data / "postmaster.pid").exists():
            postgres.start_again()  # for the module's other users of the server
    output = log.read_text()
    assert driver.returncode == 0, output[-4000:]
    assert output.count("warning: the results database") == 1 and "Traceback" not in output, output[-4000:]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = pd.read_sql(sa.text(f"select trial_id, status, epochs from {SCHEMA}.trials"), conn)
        runs = pd.read_sql(sa.text(f"select status, trials_total from {SCHEMA}.runs"), conn)
    engine.dispose()
    assert len(rows) == 2 and rows.trial_id.is_unique and set(rows.status) == {"completed"}, rows  # none lost or twice
    assert (rows.epochs == epochs).all() and list(runs.status) == ["finished"] and list(runs.trials_total) == [2]


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MiB tmpfs mounted at ``tmp_path/results``, unmounted afterwards; skipped where mounting is not allowed."""
    folder = tmp_path / "results"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or mounted.returncode}); "
                    "tests/unit/test_faults.py injects the full disk instead")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder) -> None:
    """Write a file into ``folder`` until its filesystem has no space left."""
    with open(folder / "filler", "wb") as out:
        try:
            while True:
                out.write(b"\0" * 2**20)
                out.flush()
        except OSError as error:
            assert error.errno == 28


def test_a_full_disk_ends_the_search_as_interrupted_and_resume_finishes_it(tmp_path, ray_tmp, small_disk):
    name, epochs = "disk-full", 3
    log = tmp_path / "search.log"
    database = small_disk / "leaderboard.db"
    driver = start_cli("runners.search", *STEADY, "--num-samples", "2", "--epochs", str(epochs), "--max-concurrent",
                       "1", "--name", name, cwd=tmp_path, env=ray_tmp, log=log)

    def first_recorded():
        try:
            with sqlite3.connect(database) as conn:
                return conn.execute("select count(*) from trials").fetchone()[0] == 1
        except sqlite3.Error:  # not made yet
            return False

    try:
        wait_for(first_recorded, driver, log=log)
        fill(small_disk)
        driver.wait(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(timeout=30)
    output = log.read_text()
    assert driver.returncode == 130, output[-4000:]
    last = output.strip().splitlines()[-1]
    assert last.startswith(f"error: no space left on device in {small_disk}"), output[-4000:]
    assert last.endswith(f"; free some space and continue it with: python -m runners.search --resume {name}")
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert len(conn.execute("select trial_id from trials").fetchall()) == 1

    (small_disk / "filler").unlink()  # room again
    result = run_cli("runners.search", "--resume", name, cwd=tmp_path, timeout=480, env=ray_tmp)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with sqlite3.connect(database) as conn:
        rows = pd.read_sql("select trial_id, status from trials", conn)
        runs = pd.read_sql("select status from runs", conn)
    assert len(rows) == 2 and rows.trial_id.is_unique and set(rows.status) == {"completed"}, rows
    assert list(runs.status) == ["finished"]
