"""PostgreSQL for real: two searches at once write one database on a real server, one is killed and resumed.

One database holds everything: ``--db`` and ``--optuna-storage`` name the same one (the results in the schema
``transfer_search``, Optuna's studies in ``public``). A throwaway server (``tests/pg_server.py``) runs on 127.0.0.1
in a temporary folder. The totals must be exact afterwards: one row per trial, none lost, none doubled, both runs
``finished``, both studies complete; the report is built from it.
Skipped, with the reason, only where PostgreSQL is not installed; ``.ci/run`` installs it and sets
``TRANSFER_SEARCH_REQUIRE_POSTGRES=1``, which turns that skip into a failure. Marked ``e2e``.
"""

from __future__ import annotations

import shutil
import signal
import time

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import kill_processes_mentioning, run_cli, saved_statuses, short_ray_tmpdir, start_cli

from records.migrations import SCHEMA
from records.store import ResultsStore

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

TINY = ["--weights", "none", "--budget", "smoke", "--space", "custom_cnn", "--num-samples", "2", "--epochs", "1",
        "--image-size", "24", "--repeats", "0", "--max-concurrent", "1"]
SAMPLES = 2



@pytest.fixture
def ray_tmps():
    """Each driver's own RAY_TMPDIR (its own local Ray), stopped and removed afterwards."""
    folders = [short_ray_tmpdir() for _ in range(2)]
    yield [{"RAY_TMPDIR": str(folder)} for folder in folders]
    for folder in folders:
        kill_processes_mentioning(str(folder))  # a killed driver's local Ray, should its reaper not have ended it
        shutil.rmtree(folder, ignore_errors=True)


def query(engine: sa.Engine, sql: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text(sql), conn, params=params)


def recorded(engine: sa.Engine, name: str) -> int:
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"select count(*) from {SCHEMA}.trials where run_name = :name"), {"name": name}).scalar()
    except sa.exc.ProgrammingError:  # the tables do not exist yet
        return 0


def test_two_searches_on_postgres_one_killed_and_resumed_with_exact_totals_and_a_report(tmp_path, postgres, ray_tmps):
    url = postgres.create_database("results")
    engine = sa.create_engine(url)
    # The server trusts 127.0.0.1, so a password in the URL is never checked: it is there to be hidden everywhere.
    secret_url = with_password(url, postgres.user)
    killed, steady = "pg-killed", "pg-steady"
    results = {killed: tmp_path / "killed", steady: tmp_path / "steady"}
    env = dict(zip((killed, steady), ray_tmps))
    drivers = {name: start_cli("runners.search", *TINY, "--name", name, "--results", str(results[name]),
                               "--db", secret_url, "--optuna-storage", secret_url,
                               cwd=tmp_path, env=env[name], log=tmp_path / f"{name}.log")
               for name in (killed, steady)}
    try:
        # Kill one driver once it has recorded a trial, and Ray has saved that the trial ended, and before it records
        # the other. (Killed before Ray saved it, the resumed search trains that trial again and replaces its row, as a
        # CI run under load once showed.)
        deadline = time.monotonic() + 400
        experiment = results[killed] / "ray" / killed
        while recorded(engine, killed) < 1 or "TERMINATED" not in saved_statuses(experiment).values():
            assert drivers[killed].poll() is None, (tmp_path / f"{killed}.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "timed out waiting for the first trial's row"
            time.sleep(0.2)
        drivers[killed].send_signal(signal.SIGKILL)
        drivers[killed].wait(timeout=30)
        before = query(engine, f"select trial_id, val_accuracy from {SCHEMA}.trials where run_name = :name", name=killed)
        runs = query(engine, f"select run_name, status from {SCHEMA}.runs order by run_name")
        assert 1 <= len(before) < SAMPLES, before
        # Both searches were writing at once: the other one's run was there, under way or finished, at the kill.
        assert dict(zip(runs.run_name, runs.status))[killed] == "running" and steady in set(runs.run_name), runs

        resumed = run_cli("runners.search", "--resume", killed, "--results", str(results[killed]), "--db", secret_url,
                          cwd=tmp_path, timeout=600, env=env[killed])
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        assert f"resume: {len(before)} of {SAMPLES} trials already recorded" in resumed.stdout
        assert drivers[steady].wait(timeout=600) == 0, (tmp_path / f"{steady}.log").read_text()[-3000:]
    finally:
        for driver in drivers.values():
            if driver.poll() is None:
                driver.kill()
                driver.wait(timeout=30)

    trials = query(engine, f"select * from {SCHEMA}.trials")
    assert len(trials) == 2 * SAMPLES and not trials.duplicated(["run_id", "trial_id"]).any()  # none doubled
    for name in (killed, steady):
        rows = trials[trials.run_name == name]
        assert len(rows) == SAMPLES and rows.trial_id.is_unique, rows  # none lost
        assert set(rows.status) == {"completed"} and (rows.epochs == 1).all() and rows.is_best.sum() == 1
        assert rows.val_accuracy.notna().all() and rows.run_id.nunique() == 1
    kept = trials[trials.run_name == killed].set_index("trial_id").loc[before.trial_id]
    assert list(kept.val_accuracy) == list(before.val_accuracy)  # the trial finished before the kill, as it was
    runs = query(engine, f"select run_id, run_name, status, trials_total from {SCHEMA}.runs order by run_name")
    assert list(runs.run_name) == [killed, steady] and list(runs.status) == ["finished", "finished"]
    assert list(runs.trials_total) == [SAMPLES, SAMPLES]
    assert set(runs.run_id) == set(trials.run_id)
    studies = query(engine, "select s.study_name, count(*) as n from public.studies s join public.trials t "
                            "on t.study_id = s.study_id where t.state = 'COMPLETE' group by 1 order by 1")
    assert list(studies.study_name) == [killed, steady] and list(studies.n) == [SAMPLES, SAMPLES], studies
    engine.dispose()

    report = tmp_path / "report"
    built = run_cli("reports.build", "--db", secret_url, "--out", str(report), cwd=tmp_path, timeout=300)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert_password_hidden(tmp_path, [resumed, built], runs=ResultsStore(url, create=False).runs())
    leaderboard = (report / "leaderboard.md").read_text()
    assert (report / "index.html").is_file()
    assert all(trial_id in leaderboard for trial_id in trials.trial_id), leaderboard[:3000]


def with_password(url: str, user: str) -> str:
    """``url`` with the password ``secret`` for ``user``."""
    return url.replace(f"://{user}@", f"://{user}:secret@", 1)


def assert_password_hidden(tmp_path, finished, runs: pd.DataFrame) -> None:
    """"secret" is in no output, log, ``runs`` row (the command, the Optuna storage), ``summary.json`` or report."""
    outputs = {f"output of {' '.join(map(str, r.args[:6]))}": r.stdout + r.stderr for r in finished}
    files = [*tmp_path.glob("*.log"), *tmp_path.glob("*/models/*/summary.json"), *(tmp_path / "report").rglob("*.md"),
             *(tmp_path / "report").rglob("*.html")]
    assert len(list(tmp_path.glob("*/models/*/summary.json"))) == 2 and len(list(tmp_path.glob("*.log"))) == 2
    outputs.update({str(path): path.read_text(errors="replace") for path in files})
    outputs.update({f"runs.{column}": runs[column].astype(str).str.cat(sep="\n") for column in runs.columns})
    assert not [where for where, text in outputs.items() if "secret" in text]
    assert all(":***@" in command for command in runs["command"]), list(runs["command"])
    assert all(":***@" in storage for storage in runs["optuna_storage"]), list(runs["optuna_storage"])
