"""The real CLI end to end on tiny budgets: digits, a zipped folder, a diverging trial, accumulating results."""

from __future__ import annotations

import json
import sqlite3

import keras
import numpy as np
import pandas as pd
import pytest
from helpers import make_class_folders, run_cli, zip_folder

pytestmark = pytest.mark.e2e

TINY = ["--weights", "none", "--budget", "smoke", "--epochs", "2", "--image-size", "24"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("search")


def trials(workdir) -> pd.DataFrame:
    with sqlite3.connect(workdir / "results" / "leaderboard.db") as db:
        return pd.read_sql("select * from trials order by id", db)


@pytest.fixture(scope="module")
def digits_run(workdir):
    result = run_cli("runners.search", *TINY, "--space", "custom_cnn", "--num-samples", "3",
                     "--max-concurrent", "2", "--scheduler", "fifo", "--steps-per-execution", "2", "--name", "digits-e2e",
                     cwd=workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_digits_search_prints_the_best_configuration_and_test_metrics(digits_run, workdir):
    out = digits_run.stdout
    assert "best configuration" in out and "test (" in out and "macro F1" in out
    assert out.count(" started:") == 5 and "epoch 2/2" in out  # 3 trials, 2 repeats
    assert "report: python -m reports.build" in out
    rows = trials(workdir)
    rows = rows[rows.role == "search"]
    assert len(rows) == 3 and set(rows.status) == {"completed"}
    assert (rows.family == "custom_cnn").all() and rows.depth.notna().all() and rows.unfrozen_layers.isna().all()
    best = rows[rows.is_best == 1]
    assert len(best) == 1 and best.test_accuracy.iloc[0] > 0.3 and best.test_f1_macro.notna().all()
    assert rows.test_accuracy.notna().sum() == 1
    assert rows.val_accuracy.max() == best.val_accuracy.iloc[0]
    assert (rows.epochs == 2).all() and (rows.wall_seconds > 0).all()
    assert len(json.loads(rows.history.iloc[0])) == 2


def test_the_finalist_is_repeated_with_new_seeds_and_every_repeat_is_tested(digits_run, workdir):
    rows = trials(workdir)
    best = rows[rows.is_best == 1].iloc[0]
    repeats = rows[rows.role == "repeat"]
    assert len(repeats) == 2 and set(repeats.seed) == {1, 2} and (repeats.repeat_of == best.trial_id).all()
    assert repeats.test_accuracy.notna().all() and repeats.test_f1_macro.notna().all()
    assert (repeats.family == "custom_cnn").all() and (repeats.depth == best.depth).all()
    assert set(rows[rows.role == "search"].seed) == {0}
    out = digits_run.stdout
    assert "finalists: custom_cnn (" in out and "2 repeats each with seeds 1, 2" in out
    assert "custom CNN (repeats trial " in out and "test accuracy 0." in out and "95% CI" in out
    assert "verdict: no comparison: no tested repeat of a backbone" in out
    assert "cost: search 3 trials, 6 epochs" in out and "repeats 2 trials" in out
    summary = json.loads((workdir / "results" / "models" / "digits-e2e" / "summary.json").read_text())
    finalist = summary["finalists"]["finalists"][0]
    assert finalist["repeat_of"] == best.trial_id and finalist["test_accuracy"]["n"] == 2
    assert finalist["test_accuracy"]["mean"] == pytest.approx(repeats.test_accuracy.mean())


def test_the_run_records_its_environment_in_the_database_and_the_summary(digits_run, workdir):
    with sqlite3.connect(workdir / "results" / "leaderboard.db") as db:
        stored = json.loads(db.execute("select environment from runs where run_name = 'digits-e2e'").fetchone()[0])
    summary = json.loads((workdir / "results" / "models" / "digits-e2e" / "summary.json").read_text())
    assert summary["environment"] == stored
    assert stored["packages"]["ray"] and stored["packages"]["tensorflow"] and stored["cpu"]["cores"] > 0


def test_the_stored_study_holds_each_trials_best_epoch_and_the_spaces_distributions(digits_run, workdir):
    import optuna

    study = optuna.load_study(study_name="digits-e2e", storage=f"sqlite:///{workdir}/results/optuna.db")
    rows = trials(workdir)
    rows = rows[rows.role == "search"]
    assert len(study.trials) == 3 and study.user_attrs["dataset"] == "digits" and study.user_attrs["space"] == "custom_cnn"
    assert study.user_attrs["run_id"] == rows.run_id.iloc[0]
    for trial in study.trials:
        row = rows[rows.learning_rate == trial.params["learning_rate"]].iloc[0]
        best_epoch = max(h["val_accuracy"] for h in json.loads(row.history))
        assert trial.value == pytest.approx(best_epoch) == row.val_accuracy  # the ranked number, not the last epoch
        assert isinstance(trial.distributions["batch_size"], optuna.distributions.CategoricalDistribution)
        assert trial.distributions["learning_rate"].log


def test_optuna_dashboard_serves_the_finished_search_study(digits_run, workdir):
    """optuna-dashboard's own WSGI application, in-process, reads the run's study through its HTTP API."""
    from wsgiref.util import setup_testing_defaults

    optuna_dashboard = pytest.importorskip("optuna_dashboard", reason="pip install -e '.[dashboard]'")
    app = optuna_dashboard.wsgi(f"sqlite:///{workdir}/results/optuna.db")

    def get(path: str, query: str = "") -> dict:
        environ: dict = {}
        setup_testing_defaults(environ)
        environ.update(PATH_INFO=path, QUERY_STRING=query)
        status = []
        body = b"".join(app(environ, lambda code, headers, exc_info=None: status.append(code)))
        assert status == ["200 OK"], (path, status, body[:300])
        return json.loads(body)

    [summary] = [s for s in get("/api/studies")["study_summaries"] if s["study_name"] == "digits-e2e"]
    assert {"key": "dataset", "value": "digits"} in summary["user_attrs"] and summary["directions"] == ["maximize"]
    study = get(f"/api/studies/{summary['study_id']}", "after=0")
    rows = trials(workdir)
    best = rows[rows.role == "search"].val_accuracy.max()
    assert len(study["trials"]) == 3 and max(t["values"][0] for t in study["trials"]) == pytest.approx(best)
    assert {p["name"] for p in study["trials"][0]["params"]} >= {"learning_rate", "batch_size", "depth", "width"}


def test_trials_really_run_in_parallel(digits_run, workdir):
    rows = trials(workdir)
    rows = rows[rows.role == "search"]
    spans = [(pd.Timestamp(s), pd.Timestamp(e)) for s, e in zip(rows.started_at, rows.finished_at)]
    overlaps = sum(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1 :])
    assert overlaps >= 1, spans


def test_best_model_is_saved_with_its_summary(digits_run, workdir):
    folder = workdir / "results" / "models" / "digits-e2e"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["trials_total"] == 3 and summary["best_config"]["backbone"] == "custom_cnn"
    assert set(summary["test"]) >= {"accuracy", "f1_macro", "f1_weighted", "precision_macro", "recall_macro",
                                    "top5_accuracy", "confusion_matrix", "per_class"}
    import benchmarks.models  # noqa: F401  (registers the custom layers)

    model = keras.models.load_model(folder / "model.keras")
    probabilities = model.predict(np.full((2, 24, 24, 3), 128.0, dtype="float32"), verbose=0)
    assert probabilities.shape == (2, 10)


def test_zip_folder_with_a_diverging_trial_and_results_accumulate(digits_run, workdir, tmp_path):
    archive = zip_folder(make_class_folders(tmp_path / "insects", {"ants": 16, "bees": 16, "wasps": 16}),
                         tmp_path / "insects.zip")
    result = run_cli("runners.search", *TINY, "--dataset", str(archive), "--space", "failing_space",
                     "--num-samples", "2", "--max-concurrent", "1", "--repeats", "0", "--name", "zip-e2e", cwd=workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "FAILED" in result.stdout and "1 failed" in result.stdout
    assert "finalists: none repeated (--repeats 0)" in result.stdout
    rows = trials(workdir)
    assert set(rows.run_name) == {"digits-e2e", "zip-e2e"} and len(rows) == 7  # the first run is still there
    zipped = rows[rows.run_name == "zip-e2e"].set_index("status")
    assert zipped.loc["failed", "error"].startswith("NonFiniteLossError: training loss became nan")
    assert zipped.loc["completed", "is_best"] == 1 and zipped.loc["completed", "dataset"] == "insects"
