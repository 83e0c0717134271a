"""The results store (one row per trial, runs accumulate), the Optuna storage beside it, and the test metrics."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from helpers import run_at_once
from sklearn.metrics import f1_score

from benchmarks.errors import UserError
from benchmarks.metrics import classification_metrics
from records.store import HYPERPARAMETERS, ResultsStore


def row(run_id: str, trial_id: str, **extra):
    return {"run_id": run_id, "run_name": run_id, "trial_id": trial_id, "dataset": "digits", "status": "completed",
            "family": "custom_cnn", "backbone": "custom_cnn", "learning_rate": 1e-3, "config": {"a": 1}, **extra}


def test_trials_accumulate_and_a_repeated_trial_is_replaced_not_doubled(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path}/results/leaderboard.db")
    store.record_trial(row("run1", "t1", val_accuracy=0.5))
    store.record_trial(row("run1", "t2", val_accuracy=0.6))
    store.record_trial(row("run1", "t1", val_accuracy=0.7))  # a resumed trial finishing again
    store.record_trial(row("run2", "t1", val_accuracy=0.1))
    trials = store.trials()
    assert len(trials) == 3
    assert trials.set_index(["run_id", "trial_id"]).loc[("run1", "t1"), "val_accuracy"] == 0.7
    assert set(HYPERPARAMETERS) <= set(trials.columns)
    assert {"run_id", "run_name", "dataset", "family", "backbone", "status", "val_accuracy", "test_accuracy",
            "test_f1_macro", "epochs", "wall_seconds"} <= set(trials.columns)
    store.update_trial("run1", "t2", is_best=True, test_accuracy=0.55)
    assert store.trials(run_id="run1").set_index("trial_id").loc["t2", "test_accuracy"] == 0.55


def test_store_survives_pickling_as_ray_does_with_callbacks(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path}/db.sqlite")
    store.start_run(run_id="r", run_name="r", dataset="d", class_names=["a", "b"])
    clone = pickle.loads(pickle.dumps(store))
    clone.record_trial(row("r", "t"))
    assert len(store.trials()) == 1 and store.runs().loc[0, "status"] == "running"


def _open(kind: str, url: str):
    if kind == "optuna":
        from records.study import open_storage

        return open_storage(url)
    return ResultsStore(url)


def _open_fresh_databases(kind: str, root: str, rounds: int, barrier, failures) -> None:
    for n in range(rounds):
        barrier.wait()  # every process opens round n's database at once
        try:
            _open(kind, f"sqlite:///{root}/{n}/results/{kind}.db")
        except UserError as error:
            failures.put(str(error))


@pytest.mark.parametrize("kind", ["results", "optuna"])
def test_searches_started_at_once_on_a_fresh_database_all_open_it(kind, tmp_path):
    # Without a second look after "table already exists" (both) or "UNIQUE constraint failed: alembic_version"
    # (Optuna's schema version), a third (results) to a half (Optuna) of these rounds failed.
    processes, rounds = 4, 12
    run_at_once(_open_fresh_databases, (kind, str(tmp_path), rounds), processes)
    for n in range(rounds):
        _open(kind, f"sqlite:///{tmp_path}/{n}/results/{kind}.db")  # a whole schema: it opens again


def test_bad_database_url_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot open results database"):
        ResultsStore("notadialect://x")
    with pytest.raises(UserError, match="cannot open results database"):
        ResultsStore("postgresql://nobody@127.0.0.1:1/none")


def test_classification_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(7), 10)
    proba = rng.random((70, 7))
    proba[np.arange(70), y] += 0.6  # mostly right
    proba /= proba.sum(1, keepdims=True)
    m = classification_metrics(y, proba, [f"c{i}" for i in range(7)])
    assert m["accuracy"] == pytest.approx((proba.argmax(1) == y).mean())
    assert m["f1_macro"] == pytest.approx(f1_score(y, proba.argmax(1), average="macro"))
    assert m["top5_accuracy"] >= m["accuracy"]
    assert np.array(m["confusion_matrix"]).sum() == 70 and m["per_class"]["c3"]["support"] == 10
    two = classification_metrics(np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]), ["a", "b"])
    assert "top5_accuracy" not in two and two["accuracy"] == pytest.approx(2 / 3)


def test_published_figures_round_trip(tmp_path):
    import pandas as pd

    store = ResultsStore(f"sqlite:///{tmp_path}/r.db")
    store.start_run(run_id="plain", run_name="plain", dataset="d")
    store.start_run(run_id="ref", run_name="ref", dataset="d", published={"test_accuracy": 0.9})
    runs = store.runs().set_index("run_id")
    assert runs.loc["ref", "published"] == '{"test_accuracy": 0.9}' and pd.isna(runs.loc["plain", "published"])
