"""``--space reference`` through the real CLI on small stand-ins: ants vs bees and the 20-class custom CNN.

Two generated folders stand in for the datasets: one named ``hymenoptera`` (recipe 3, a MobileNetV2
trained from scratch with ``--weights none``) and one of three classes (recipe 5, the custom CNN). The
tfds recipes are trained in-process in tests/unit/test_reference_recipes.py (tfds mock data does not
reach Ray's workers). The searched best the report compares with is a stored fake search (conftest's
FakeResults), so only the two reference runs train here.
"""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
from helpers import make_class_folders, run_cli

pytestmark = pytest.mark.e2e

TINY = ["--space", "reference", "--weights", "none", "--budget", "smoke", "--epochs", "1", "--image-size", "32"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    make_class_folders(root / "hymenoptera", {"ants": 10, "bees": 10})
    make_class_folders(root / "objects", {"ants": 10, "bees": 10, "wasps": 10})
    return root


def _run(workdir, folder: str, name: str):
    result = run_cli("runners.search", "--dataset", str(workdir / folder), *TINY, "--name", name, cwd=workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def runs(workdir):
    return {"hymenoptera": _run(workdir, "hymenoptera", "ants-ref"), "objects": _run(workdir, "objects", "objects-ref")}


def _table(workdir, table: str) -> pd.DataFrame:
    with sqlite3.connect(workdir / "results" / "leaderboard.db") as db:
        return pd.read_sql(f"select * from {table}", db).set_index("run_name")


def test_each_folder_gets_its_recipe_and_prints_published_against_reproduced(runs):
    ants, objects = runs["hymenoptera"].stdout, runs["objects"].stdout
    assert "space reference_hymenoptera" in ants and "(1 trials x 1 epochs at 32px)" in ants
    assert "2 classes, 16/2/2 train/validation/test images" in ants  # the recipe's 90/10 split (and 10% validation)
    assert "published vs reproduced (reference_hymenoptera" in ants and "test accuracy 0.9250 vs " in ants
    assert "space reference_custom_cnn20" in objects and "3 classes, 21/3/6" in objects  # 80/20, 10% validation
    assert "published vs reproduced (reference_custom_cnn20" in objects and "published note: published as about 60%" in objects


def test_reference_rows_are_marked_and_carry_the_recipe(runs, workdir):
    trials = _table(workdir, "trials")
    assert (trials["is_reference"] == 1).all() and (trials["is_best"] == 1).all() and trials["test_accuracy"].notna().all()
    ants, objects = trials.loc["ants-ref"], trials.loc["objects-ref"]
    assert (ants["space"], ants["dataset"], ants["backbone"], ants["batch_size"]) == (
        "reference_hymenoptera", "hymenoptera", "mobilenet_v2", 32)
    assert json.loads(ants["config"])["head"] == "linear" and pd.isna(ants["unfrozen_layers"])  # no weights
    assert (objects["space"], objects["family"], objects["optimizer"]) == ("reference_custom_cnn20", "custom_cnn", "adamw")
    assert objects["augmentation"] == "rotation,flip,vertical_flip,translation,zoom"
    published = _table(workdir, "runs")["published"].map(json.loads)
    assert published["ants-ref"] == {"test_accuracy": 0.925, "precision": 0.9269, "f1": 0.9253}


def test_the_report_shows_the_recipe_next_to_the_searched_best(runs, workdir, report_fakes):
    fake = report_fakes.FakeResults(workdir / "results" / "leaderboard.db")
    fake.run("search1", "objects", [{"trial_id": "s1", "backbone": "custom_cnn", "val_accuracy": 0.95}],
             run_name="objects-search", class_names=["ants", "bees", "wasps"], test=(0.9, 0.9))
    result = run_cli("reports.build", "--results", "results", cwd=workdir)
    assert result.returncode == 0, result.stderr
    markdown = (workdir / "results" / "report" / "leaderboard.md").read_text()
    assert "Fixed reference recipes next to the searched best on objects" in markdown
    assert "| searched best (custom CNN) | objects-search | s1 |" in markdown
    assert "| reference recipe | objects-ref |" in markdown and "| reference recipe | ants-ref |" in markdown
    assert "Published, reproduced and searched figures on objects" in markdown
    assert "| reference\\_custom\\_cnn20 | Test accuracy | 60.00% |" in markdown
    assert "| reference\\_hymenoptera | Test F1 (macro) | 92.53% |" in markdown
