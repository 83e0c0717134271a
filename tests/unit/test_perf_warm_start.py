"""perf.warm_start's table from a results folder: each run's own trials in the order they ended, the borrowed ones
counted apart, and its section written once however often it is rewritten."""

from __future__ import annotations

import datetime as dt

import optuna

from records.store import ResultsStore, default_db_url
from records.study import default_optuna_url
from records.warm_start import WARM_START_ATTR


def _run(results, name: str, values: list[float], borrowed: int = 0) -> None:
    store = ResultsStore(default_db_url(results))
    store.start_run(run_id=name, run_name=name, dataset="digits",
                    environment={"cpu": {"model": "Test CPU", "cores": 2}, "gpus": [], "python": "3.11"})
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    # Recorded in another order than they ended: the curve follows finished_at.
    for k in reversed(range(len(values))):
        store.record_trial({"run_id": name, "run_name": name, "trial_id": f"{name}{k}", "dataset": "digits",
                            "status": "completed", "role": "search", "val_accuracy": values[k],
                            "finished_at": start + dt.timedelta(minutes=k)})
    store.record_trial({"run_id": name, "run_name": name, "trial_id": f"{name}r", "dataset": "digits",
                        "status": "completed", "role": "repeat", "val_accuracy": 1.0, "finished_at": start})
    study = optuna.create_study(study_name=name, storage=default_optuna_url(results), direction="maximize")
    for _ in range(borrowed):
        study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.5,
                                                  user_attrs={WARM_START_ATTR: "prev"}))


def test_the_curves_follow_each_runs_own_trials_in_the_order_they_ended(tmp_path):
    from perf.warm_start import curves, render, write

    _run(tmp_path, "cold", [0.3, 0.6, 0.5])
    _run(tmp_path, "warm", [0.7, 0.65, 0.8], borrowed=8)
    data = curves(tmp_path)
    assert data["cold"]["best"] == [0.3, 0.6, 0.6] and data["warm"]["best"] == [0.7, 0.7, 0.8]
    assert (data["cold"]["borrowed"], data["warm"]["borrowed"]) == (0, 8)
    block = render(data, tmp_path, "2026-12-03 23:00 UTC")
    assert "| 2 | 0.6000 | 0.7000 |" in block and "began with the 8 completed trials of `prev`" in block
    assert f"--seed 2 --name warm --warm-start prev --results {tmp_path}" in block
    assert "Machine: Test CPU, 2 cores; no GPU; Python 3.11" in block
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Other\n\nkept\n")
    write(block, results)
    write(block, results)
    text = results.read_text()
    assert text.count("## Warm start") == 1 and "kept" in text
