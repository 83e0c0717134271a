"""The verdict end to end: a search suggested as the default space suggests gives each family half its trials,
stores what its test figures mean, and the search summary and the report compare the same repeats with the same
interval. (families_space: the default space's own suggestion over the custom CNN, the small ResNet and
MobileNetV2, the cheapest backbone from scratch; tests/unit/test_search_spaces.py checks the split on the default
space itself.)"""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
from helpers import run_cli

pytestmark = pytest.mark.e2e

SEARCH = ["--space", "families_space", "--weights", "none", "--budget", "smoke", "--num-samples", "4", "--epochs", "1",
          "--repeats", "2", "--max-concurrent", "2", "--name", "verdict-e2e"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("verdict")
    result = run_cli("runners.search", *SEARCH, cwd=workdir, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = run_cli("reports.build", cwd=workdir)
    assert report.returncode == 0, report.stdout[-2000:] + report.stderr[-2000:]
    with sqlite3.connect(workdir / "results" / "leaderboard.db") as db:
        trials = pd.read_sql("select * from trials order by id", db)
        runs = pd.read_sql("select * from runs", db)
    summary = json.loads((workdir / "results" / "models" / "verdict-e2e" / "summary.json").read_text())
    return result.stdout, trials, runs, summary, (workdir / "results" / "report" / "leaderboard.md").read_text()


def test_the_search_gives_each_family_half_of_the_trials(searched):
    out, trials, _, summary, markdown = searched
    search = trials[trials.role == "search"]
    assert search.family.value_counts().to_dict() == {"custom_cnn": 2, "scratch": 2}
    assert "search effort: custom CNN 2 trials" in out and "backbone from scratch 2 trials" in out
    assert set(summary["finalists"]["cost"]["search_by_family"]) == {"custom_cnn", "scratch"}
    assert "| Search effort | 2 trials, " in markdown


def test_the_run_stores_what_its_test_figures_mean_and_each_repeat_its_predictions(searched):
    _, trials, runs, summary, _ = searched
    run = runs.iloc[0]
    assert len(run.test_fingerprint) == 16 and json.loads(run.protocol)["epochs"] == 1
    assert set(json.loads(run.protocol)["image_size"]) == {"custom_cnn", "scratch"}
    repeats = trials[(trials.role == "repeat") & (trials.status != "failed")]
    assert len(repeats) and repeats.test_predictions.notna().all()


def test_the_summary_and_the_report_give_the_same_n_and_interval(searched):
    out, _, _, summary, markdown = searched
    finalists = summary["finalists"]
    difference = finalists["difference"]["test_accuracy"]
    assert difference["method"] == "paired bootstrap" and difference["examples"] == finalists["test_set"]["examples"]
    assert f"test set: {finalists['test_set']['examples']:,} images" in out
    assert f"test set: {finalists['test_set']['examples']:,} images" in markdown
    counted = [f["test_accuracy"]["n"] for f in finalists["finalists"]]
    row = next(line for line in markdown.splitlines() if "| Tested repeats |" in line)
    assert [int(cell.split()[0]) for cell in row.split("|")[3:5]] == counted
    assert finalists["verdict"] in out and finalists["verdict"].replace("_", "\\_") in markdown


def test_the_second_network_built_here_trains_and_reaches_the_report(searched):
    """The small ResNet is one module and one registration: it trains in its family and the report lists it."""
    _, trials, _, _, markdown = searched
    small = trials[(trials.backbone == "small_resnet") & (trials.role == "search")]
    assert len(small) >= 1 and set(small.family) == {"custom_cnn"} and (small.status == "completed").all()
    assert small.image_size.iloc[0] == 16  # the digits' own 8 px, raised to its registered smallest side
    assert "small\\_resnet" in markdown
