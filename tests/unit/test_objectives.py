"""Two-objective searches: the flags (pairs, samplers, --pick, the FIFO fallback and its line), the searcher told
both values, each trial's measured cost and the cost columns the recorder writes. Latency is measured, never
asserted against a time."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import optuna
import pytest

from benchmarks.errors import UserError
from runners.objectives import check_sampler, cost_of, objective_line, objective_metrics, parse_objective
from runners.search import build_parser, main
from records.contract import METRIC

SMOKE = ["--budget", "smoke", "--weights", "none"]


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code)


@pytest.mark.parametrize("text, canonical", [
    (None, "accuracy"), ("accuracy", "accuracy"), ("accuracy,latency", "accuracy,latency"),
    ("latency,accuracy", "accuracy,latency"), ("Accuracy, Params", "accuracy,params"), ("accuracy,flops", "accuracy,flops"),
])
def test_objective_pairs(text, canonical):
    assert parse_objective(text) == canonical


BAD = {
    "unknown-cost": (["--objective", "accuracy,speed"], r"--objective 'accuracy,speed': unknown cost 'speed'; choose "
                     r"accuracy or a pair: accuracy,latency, accuracy,params, accuracy,flops"),
    "cost-alone": (["--objective", "latency"], r"--objective 'latency' is not an objective this search can optimise"),
    "three": (["--objective", "accuracy,latency,params"], r"is not an objective this search can optimise"),
    "twice": (["--objective", "accuracy,accuracy"], r"is not an objective"),
    "two-costs": (["--objective", "latency,params"], r"is not an objective"),
    "cmaes-pair": (["--objective", "accuracy,latency", "--sampler", "cmaes"],
                   r"--sampler cmaes cannot search two objectives \(--objective accuracy,latency\): Optuna's CMA-ES "
                   r"sampler is single-objective; use --sampler tpe"),
    "knee-alone": (["--pick", "knee"], r"--pick knee chooses from a Pareto front; it needs two objectives"),
    "bad-pick": (["--objective", "accuracy,latency", "--pick", "cheapest"], r"invalid choice: 'cheapest'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_objective_flags_are_one_line_before_any_trial(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args, message = BAD[case]
    assert _exit_code([*SMOKE, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert re.search(message, err[0]), err[0]
    assert not (tmp_path / "results").exists()


def test_samplers_for_two_objectives(monkeypatch):
    for sampler in ("tpe", "random"):
        check_sampler(sampler, "accuracy,latency")
    check_sampler("cmaes", "accuracy")  # one objective: every sampler
    with pytest.raises(UserError, match="cmaes cannot search two objectives"):
        check_sampler("cmaes", "accuracy,params")
    # GPSampler searches several objectives from Optuna 4.4 on; an older Optuna is one line.
    monkeypatch.setattr(optuna, "__version__", "4.3.0")
    with pytest.raises(UserError, match=r"--sampler gp cannot search two objectives .*only from Optuna 4\.4 on"):
        check_sampler("gp", "accuracy,flops")
    monkeypatch.setattr(optuna, "__version__", "4.4.0")
    check_sampler("gp", "accuracy,flops")


def test_a_pair_falls_back_to_fifo_and_says_so_in_one_line(tmp_path):
    from runners.options import options_from_args

    args = build_parser().parse_args([*SMOKE, "--objective", "accuracy,latency", "--results", str(tmp_path)])
    options = options_from_args(args)
    assert (options.objective, options.scheduler, options.pick, options.scheduler_asked) == (
        "accuracy,latency", "fifo", "accuracy", "asha")
    line = objective_line(options.objective, options.sampler, options.scheduler_asked)
    assert "\n" not in line and "multi-objective TPE" in line and "scheduler fifo instead of asha" in line
    single = options_from_args(build_parser().parse_args([*SMOKE, "--results", str(tmp_path)]))
    assert (single.objective, single.scheduler) == ("accuracy", "asha")
    assert objective_line(single.objective, single.sampler, single.scheduler_asked) is None
    assert objective_metrics("accuracy") == ([METRIC], ["max"])
    assert objective_metrics("accuracy,flops") == ([METRIC, "flops"], ["max", "min"])
    assert cost_of("accuracy,params").column == "params"


def test_the_study_gets_both_values_and_a_trial_without_its_cost_fails():
    from runners.searcher import RankedOptunaSearch
    from runners.tuning import make_sampler

    def space(trial: optuna.Trial) -> None:
        trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)

    searcher = RankedOptunaSearch(space=space, metric=[METRIC, "latency_ms"], mode=["max", "min"],
                                  sampler=make_sampler("tpe", 0, 6, "accuracy,latency"))
    for trial_id, result in [("t1", {METRIC: 0.8, "latency_ms": 3.0}), ("t2", {METRIC: 0.9}),
                             ("t3", {METRIC: 0.7, "latency_ms": math.nan})]:
        searcher.suggest(trial_id)
        searcher.on_trial_result(trial_id, {**result, "training_iteration": 1})  # no intermediate values
        searcher.on_trial_complete(trial_id, {**result, "final": True})
    study = searcher._ot_study
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL, optuna.trial.TrialState.FAIL]
    assert study.trials[0].values == [0.8, 3.0]
    assert [t.number for t in study.best_trials] == [0]


def test_a_trial_measures_its_cost_params_latency_and_flops():
    import keras

    from benchmarks.costs import COSTS, measure_cost

    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2)])
    # Parameters and FLOPs per image whatever the objective (2 x 14x14x4 x 27 + 784 bias + 784 mean + 2 x 4 x 2 + 2).
    flops = 2 * 14 * 14 * 4 * 27 + 2 * 14 * 14 * 4 + 2 * 4 * 2 + 2
    assert measure_cost(model, 16, None) == measure_cost(model, 16, "params") == {"params": model.count_params(),
                                                                                  "flops": flops}
    latency = measure_cost(model, 16, "latency")
    assert set(latency) == {"params", "flops", "latency_ms"} and math.isfinite(latency["latency_ms"])  # never judged
    assert measure_cost(model, 16, "flops")["flops"] == flops
    assert COSTS["latency"].format(1.234) == "1.23 ms" and COSTS["params"].format(2_500_000) == "2.50M parameters"


def test_the_recorder_writes_the_cost_columns(tmp_path):
    from runners.callbacks import TrialRecorder
    from records.run import RunRecord
    from records.store import ResultsStore

    store = ResultsStore(f"sqlite:///{tmp_path}/r.db")
    run = RunRecord(run_id="r1", run_name="mo", dataset="digits", space="default", budget="smoke", image_size=32,
                    weights="none", seed=0)
    recorder = TrialRecorder(store, run)

    def trial(trial_id: str, last: dict) -> SimpleNamespace:
        return SimpleNamespace(trial_id=trial_id, config={"backbone": "custom_cnn", "learning_rate": 1e-3},
                               last_result=last, run_metadata=SimpleNamespace(num_failures=0))

    epoch = {"epoch": 1, "val_accuracy": 0.8, "val_loss": 0.5, "params": 1234, "final": True}
    for trial_id, cost in [("t1", {"latency_ms": 2.5}), ("t2", {"flops": 98765}), ("t3", {})]:
        recorder.on_trial_result(0, [], trial(trial_id, {}), {**epoch, **cost})
        recorder.on_trial_complete(0, [], trial(trial_id, {**epoch, **cost, "time_total_s": 1.0}))
    rows = store.trials(run_id="r1").set_index("trial_id")
    assert rows.loc["t1", "latency_ms"] == pytest.approx(2.5) and rows.loc["t1", "params"] == 1234
    assert rows.loc["t2", "flops"] == 98765 and math.isnan(rows.loc["t2", "latency_ms"])
    assert math.isnan(rows.loc["t3", "latency_ms"]) and rows.loc["t3", "status"] == "completed"
    assert recorder.pending == {}


def test_the_runs_study_is_created_with_both_directions(tmp_path):
    from runners.options import options_from_args
    from records.study import load_run_study
    from runners.tuning import make_sampler, search_algorithm
    from search_spaces import get_space

    args = build_parser().parse_args([*SMOKE, "--objective", "accuracy,params", "--results", str(tmp_path)])
    options = options_from_args(args)
    space = get_space(options.space)
    limiter = search_algorithm(options, space, make_sampler("tpe", 0, 6, options.objective), 2,
                               study_attrs={"objective": options.objective})
    assert limiter.searcher.metric == [METRIC, "params"] and limiter.searcher.mode == ["max", "min"]
    study = load_run_study(options.optuna_storage, options.name)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert study.user_attrs["objective"] == "accuracy,params"
