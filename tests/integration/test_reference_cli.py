"""``--space reference`` through the real CLI on small stand-ins of all five recipes' datasets.

Generated folders stand in for three of them: one named ``hymenoptera`` (recipe 3, a MobileNetV2 trained
from scratch with ``--weights none``), one named ``fruits`` (recipe 4, its two head variants) and one of three
other classes (recipe 5, the custom CNN). ``oxford_flowers102`` (recipe 1) runs on tensorflow-datasets mock
data (tests/integration/mock_tfds.py wraps the CLI in ``tfds.testing.mock_data``) and ``cifar10`` (recipe 2) on
the real CIFAR-10 in ../shared/data/tfds, or on mock data where that is missing. The searched best the report
compares with is a stored fake search (conftest's FakeResults), so only the reference runs train here.
"""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from helpers import SHARED_TFDS, have_shared_cifar10, make_class_folders, run_cli

pytestmark = pytest.mark.e2e

TINY = ["--space", "reference", "--weights", "none", "--budget", "smoke", "--epochs", "1", "--image-size", "32"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    make_class_folders(root / "hymenoptera", {"ants": 10, "bees": 10})
    make_class_folders(root / "objects", {"ants": 10, "bees": 10, "wasps": 10})
    make_class_folders(root / "fruits", {"apple": 10, "banana": 10, "cherry": 10})
    return root


def _run(workdir, dataset: str, name: str, *extra: str, mock_examples: int | None = None):
    args = ["--dataset", dataset, *TINY, *extra, "--name", name]
    if mock_examples is None:
        result = run_cli("runners.search", *args, cwd=workdir)
    else:
        result = run_cli("mock_tfds", str(mock_examples), "runners.search", *args, cwd=workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def runs(workdir):
    cifar10 = ["--data-dir", str(SHARED_TFDS)] if have_shared_cifar10() else []
    jobs = {  # the longest first
        # 1,500 random examples per split: every one of the 102 classes in every split.
        "oxford_flowers102": lambda: _run(workdir, "oxford_flowers102", "flowers-ref", mock_examples=1500),
        "cifar10": lambda: _run(workdir, "cifar10", "cifar10-ref", *cifar10, mock_examples=None if cifar10 else 200),
        "fruits": lambda: _run(workdir, str(workdir / "fruits"), "fruits-ref"),
        "hymenoptera": lambda: _run(workdir, str(workdir / "hymenoptera"), "ants-ref"),
        "objects": lambda: _run(workdir, str(workdir / "objects"), "objects-ref"),
    }
    # Two searches at a time, as two users sharing one results folder would: much of a tiny search is waiting
    # (Ray starting, processes importing TensorFlow), and the shared database must take both.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def _table(workdir, table: str) -> pd.DataFrame:
    with sqlite3.connect(workdir / "results" / "leaderboard.db") as db:
        return pd.read_sql(f"select * from {table}", db).set_index("run_name")


def test_each_folder_gets_its_recipe_and_prints_published_against_reproduced(runs):
    ants, objects = runs["hymenoptera"].stdout, runs["objects"].stdout
    assert "space reference_hymenoptera" in ants and "(1 trial x 1 epoch at 32px)" in ants
    assert "2 classes, 16/2/2 train/validation/test images" in ants  # the recipe's 90/10 split (and 10% validation)
    assert "published vs reproduced (reference_hymenoptera" in ants and "test accuracy 0.9250 vs " in ants
    assert "space reference_custom_cnn20" in objects and "3 classes, 21/3/6" in objects  # 80/20, 10% validation
    assert "published vs reproduced (reference_custom_cnn20" in objects and "published note: published as about 60%" in objects


def test_every_recipe_runs_on_its_stand_in(runs):
    flowers, cifar10, fruits = runs["oxford_flowers102"].stdout, runs["cifar10"].stdout, runs["fruits"].stdout
    assert "space reference_flowers102" in flowers and "oxford_flowers102: 102 classes" in flowers
    assert "published vs reproduced (reference_flowers102" in flowers and "test accuracy 0.9463 vs " in flowers
    assert "space reference_cifar10" in cifar10 and "cifar10: 10 classes" in cifar10
    assert "published note: " in cifar10  # "competitive", no figure
    assert "space reference_fruits360" in fruits and "(2 trials x 1 epoch at 32px)" in fruits
    assert "modified head): " in fruits and "stock head): " in fruits and "test accuracy 0.8094 vs " in fruits


def test_reference_rows_are_marked_and_carry_the_recipe(runs, workdir):
    trials = _table(workdir, "trials")
    spaces = trials.groupby(level=0)["space"].agg(lambda s: sorted(set(s)))
    assert spaces.to_dict() == {
        "ants-ref": ["reference_hymenoptera"], "objects-ref": ["reference_custom_cnn20"],
        "fruits-ref": ["reference_fruits360"], "flowers-ref": ["reference_flowers102"],
        "cifar10-ref": ["reference_cifar10"],
    }
    assert (trials["status"] == "completed").all() and len(trials) == 6  # fruits: two variants
    assert (trials["is_reference"] == 1).all() and trials["test_accuracy"].notna().all()  # every variant tested
    assert (trials.groupby(level=0)["is_best"].sum() == 1).all()
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
    datasets = ["hymenoptera", "fruits", "oxford_flowers102", "cifar10"]
    for n, dataset in enumerate(datasets):
        fake.run(f"search{n + 2}", dataset, [{"trial_id": f"s{n + 2}", "backbone": "mobilenet_v2", "val_accuracy": 0.9}],
                 run_name=f"{dataset}-search", test=(0.85, 0.84))
    result = run_cli("reports.build", "--results", "results", cwd=workdir)
    assert result.returncode == 0, result.stderr
    markdown = (workdir / "results" / "report" / "leaderboard.md").read_text()
    for dataset in ["objects", *datasets]:
        assert f"Fixed reference recipes next to the searched best on {dataset.replace('_', chr(92) + '_')}" in markdown
    assert "| searched best (custom CNN) | objects-search | s1 |" in markdown
    assert "| reference recipe | objects-ref |" in markdown and "| reference recipe | ants-ref |" in markdown
    assert "Published, reproduced and searched figures on objects" in markdown
    assert "| reference\\_custom\\_cnn20 | Test accuracy | 60.00% |" in markdown
    assert "| reference\\_hymenoptera | Test F1 (macro) | 92.53% |" in markdown
