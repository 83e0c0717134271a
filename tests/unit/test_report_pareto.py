"""The report's Pareto section (reports/sections/pareto.py): shown only where a trial measured its cost, every
trial plotted, the front in a table with accuracy, latency, size, parameters and backbone, in Markdown and HTML."""

from __future__ import annotations

from reports.build import build_report
from reports.data import load_results
from reports.sections.pareto import front_of, pareto_trials

TRIALS = [
    {"trial_id": "fast", "backbone": "custom_cnn", "val_accuracy": 0.80, "latency_ms": 1.5, "params": 50_000},
    {"trial_id": "slow", "backbone": "resnet50", "val_accuracy": 0.95, "latency_ms": 40.0, "params": 23_000_000},
    {"trial_id": "knee", "backbone": "mobilenet_v2", "val_accuracy": 0.93, "latency_ms": 6.0, "params": 2_300_000},
    {"trial_id": "bad", "backbone": "mobilenet_v2", "val_accuracy": 0.85, "latency_ms": 9.0, "params": 2_300_000},
    {"trial_id": "gone", "backbone": "custom_cnn", "status": "failed"},
]


def _write(fake_results):
    fake_results.run("mo", "digits", TRIALS, run_name="mo-search", repeats={"knee": [(0.92, 0.91, 0.90)]})
    fake_results.run("plain", "beans", [{"trial_id": "p1", "backbone": "custom_cnn", "val_accuracy": 0.7}],
                     run_name="plain-search")
    return fake_results


def test_the_front_marks_finalists_and_leaves_out_the_dominated(fake_results):
    data = load_results(_write(fake_results).url)
    frame = pareto_trials(data.trials, "digits")
    assert sorted(frame["trial_id"]) == ["bad", "fast", "knee", "slow"]  # finished, not the repeat
    assert list(front_of(frame, "latency_ms")["trial_id"]) == ["fast", "knee", "slow"]
    assert list(front_of(frame, "params")["trial_id"]) == ["fast", "knee", "slow"]
    assert frame.set_index("trial_id")["is_finalist"].to_dict() == {"fast": False, "slow": False, "knee": True,
                                                                   "bad": False}


def test_the_report_has_the_pareto_section_only_where_a_cost_was_measured(fake_results, tmp_path):
    files = build_report(_write(fake_results).url, tmp_path / "report")
    markdown = (tmp_path / "report" / "leaderboard.md").read_text()
    html = (tmp_path / "report" / "index.html").read_text()
    assert markdown.count("Accuracy against latency and size: the Pareto front") == 1  # digits only, not beans
    assert "The Pareto front against latency: 3 of 4 trials with the latency measured on digits" in markdown
    table = markdown[markdown.index("The Pareto front against latency"):]
    for cell in ("mo-search/knee", "mobilenet", "93.00%", "6.00", "finalist", "mo-search/slow", "picked"):
        assert cell in table
    assert "mo-search/bad" not in table.split("\n\n")[1]  # dominated: plotted in grey, not in the table
    assert 'class="pareto"' in html and "mo-search/knee" in html
    assert any(path.name.endswith("-digits-pareto.png") for path in files)
    assert not any(path.name.endswith("-beans-pareto.png") for path in files)


def test_importance_reads_a_two_objective_study_by_its_accuracy():
    import optuna

    from reports.importance import importance_by_family

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0))
    study.set_user_attr("weights", "none")
    for _ in range(8):
        trial = study.ask()
        rate = trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        trial.suggest_categorical("backbone", ["custom_cnn"])
        study.tell(trial, [rate * 10, 2.0])
    (result,) = importance_by_family([study])
    assert result.trials == 8 and result.importances == {"learning_rate": 1.0}
