"""--extend and --warm-start through the real CLI: a tiny finished search extended by 2 trials, then a new search
warm-started from it, and a warm start from a run that measured something else refused in one line."""

from __future__ import annotations

import json
import sqlite3

import optuna
import pandas as pd
import pytest
from helpers import run_cli

pytestmark = pytest.mark.e2e

TINY = ["--weights", "none", "--budget", "smoke", "--space", "custom_cnn", "--epochs", "1", "--repeats", "0",
        "--max-concurrent", "2"]


def table(workdir, sql: str, *params) -> pd.DataFrame:
    with sqlite3.connect(workdir / "results" / "leaderboard.db") as db:
        return pd.read_sql(sql, db, params=params)


def study(workdir, name: str):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{workdir / 'results' / 'optuna.db'}")


def ok(result) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 2-trial search ``first`` (trial rows read before and after), extended by 2, then ``warm`` started from it."""
    workdir = tmp_path_factory.mktemp("warm")
    ok(run_cli("runners.search", *TINY, "--num-samples", "2", "--name", "first", cwd=workdir))
    before = table(workdir, "select trial_id, val_accuracy from trials where run_name = 'first'")
    extended = run_cli("runners.search", "--extend", "first", "--num-samples", "2", cwd=workdir)
    ok(extended)
    warm = run_cli("runners.search", *TINY, "--num-samples", "2", "--name", "warm", "--warm-start", "first",
                   cwd=workdir)
    ok(warm)
    return workdir, before, extended, warm


def test_an_extended_run_has_its_trials_plus_two_in_one_study_and_one_row(runs):
    workdir, before, extended, _ = runs
    assert "extend: 2 more trials after the 2 run 'first' has" in extended.stdout
    rows = table(workdir, "select * from trials where run_name = 'first'")
    assert len(rows) == 4 and rows.trial_id.is_unique and set(rows.status) == {"completed"}
    kept = rows.set_index("trial_id").loc[before.trial_id]
    assert list(kept.val_accuracy) == list(before.val_accuracy)  # the first two as they were
    run = table(workdir, "select * from runs where run_name = 'first'")
    assert len(run) == 1 and run.status[0] == "finished" and (run.num_samples[0], run.trials_total[0]) == (4, 4)
    best = rows[rows.is_best == 1]
    assert list(best.trial_id) == [run.best_trial_id[0]] and best.val_accuracy.iloc[0] == rows.val_accuracy.max()
    assert best.test_accuracy.notna().all()
    summary = json.loads((workdir / "results" / "models" / "first" / "summary.json").read_text())
    assert summary["trials_total"] == 4 and summary["best_trial_id"] == run.best_trial_id[0]
    trials = study(workdir, "first").trials
    assert len(trials) == 4 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert sorted(t.value for t in trials) == sorted(rows.val_accuracy)


def test_a_warm_started_run_has_the_earlier_trials_first_in_its_study_and_none_in_its_rows(runs):
    workdir, _, _, warm = runs
    assert "warm start: 4 completed trials of first start the study" in warm.stdout
    trials = study(workdir, "warm").trials
    assert len(trials) == 6 and study(workdir, "warm").user_attrs["warm_start_from"] == ["first"]
    assert [t.user_attrs.get("warm_start_from") for t in trials] == ["first"] * 4 + [None] * 2
    earlier = table(workdir, "select val_accuracy from trials where run_name = 'first'")
    assert sorted(t.value for t in trials[:4]) == sorted(earlier.val_accuracy)
    rows = table(workdir, "select * from trials where run_name = 'warm'")
    assert len(rows) == 2 and sorted(rows.val_accuracy) == sorted(t.value for t in trials[4:])
    assert table(workdir, "select trials_total from runs where run_name = 'warm'").trials_total[0] == 2


def test_a_warm_start_from_a_run_of_another_image_size_is_one_line_before_any_trial(runs):
    workdir = runs[0]
    result = run_cli("runners.search", *TINY, "--num-samples", "2", "--name", "third", "--warm-start", "first",
                     "--image-size", "24", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --warm-start first: its image size is 32px, this search uses 24px"
    assert " started:" not in result.stdout
    assert table(workdir, "select count(*) as n from runs where run_name = 'third'").n[0] == 0
