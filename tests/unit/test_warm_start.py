"""Warm start and extend without a search: which earlier runs qualify, their trials copied into a study (and seen by
the sampler Ray's searcher asks), and the flags' one-line errors."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import optuna
import pytest

from benchmarks.errors import UserError
from records.store import ResultsStore
from records.warm_start import WARM_START_ATTR, RunIdentity, add_warm_trials, difference, identity_of, warm_trials

BASE = RunIdentity("digits", 10, "fp1", 1, "default", "smoke", 32, "none", "accuracy")


@pytest.mark.parametrize("change, words", [
    ({"dataset": "cifar10"}, "its dataset is 'cifar10', this search's 'digits'"),
    ({"num_classes": 9}, "its dataset has 9 classes, this search's 10"),
    ({"test_fingerprint": "fp2"}, "its test split is another (fingerprint fp2, this search's fp1, both drawn with seed 1)"),
    ({"space": "custom_cnn"}, "its space is 'custom_cnn', this search uses 'default'"),
    ({"budget": "small"}, "its budget is small, this search uses smoke"),
    ({"image_size": 48}, "its image size is 48px, this search uses 32px"),
    ({"weights": "imagenet"}, "its weights is imagenet, this search uses none"),
    ({"objective": "accuracy,latency"}, "its objective is accuracy,latency, this search uses accuracy"),
])
def test_each_difference_is_named(change, words):
    assert difference(dataclasses.replace(BASE, **change), BASE).startswith(words)


def test_another_seed_or_no_fingerprint_compares_the_dataset_by_name_and_classes():
    assert difference(BASE, BASE) is None
    assert difference(dataclasses.replace(BASE, test_fingerprint="fp2", seed=2), BASE) is None
    assert difference(dataclasses.replace(BASE, test_fingerprint=None), BASE) is None
    assert difference(dataclasses.replace(BASE, test_fingerprint=None, num_classes=None), BASE) is None


def test_a_runs_row_gives_its_identity():
    row = {"dataset": "digits", "class_names": '["0", "1", "2"]', "test_fingerprint": "f", "seed": 3, "space": "s",
           "budget": "smoke", "image_size": 32, "weights": None, "objective": None}
    assert identity_of(row) == RunIdentity("digits", 3, "f", 3, "s", "smoke", 32, "none", "accuracy")


def _source_study():
    """A finished run's study: two completed trials, a pruned one, a failed one and one warm-started into it."""
    study = optuna.create_study(direction="maximize", study_name="prev")
    for value in (0.5, 0.8):
        trial = study.ask()
        trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        trial.suggest_categorical("backbone", ["custom_cnn", "mobilenet_v2"])
        trial.set_user_attr("family", "custom_cnn")
        trial.report(value - 0.1, 1)
        study.tell(trial, value)
    pruned = study.ask()
    pruned.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
    study.tell(pruned, state=optuna.trial.TrialState.PRUNED)
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.9,
                                              user_attrs={WARM_START_ATTR: "older"}))
    return study


def test_only_completed_trials_of_the_run_itself_are_copied_marked_and_first():
    source = _source_study()
    made = warm_trials(source, "prev")
    assert [t.value for t in made] == [0.5, 0.8]
    target = optuna.create_study(direction="maximize")
    assert add_warm_trials(target, made) == 2
    copied = target.trials
    assert [t.number for t in copied] == [0, 1] and all(t.user_attrs[WARM_START_ATTR] == "prev" for t in copied)
    assert copied[1].params == source.trials[1].params and copied[1].intermediate_values == {1: 0.8 - 0.1}
    assert copied[0].distributions["learning_rate"] == optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    assert copied[0].user_attrs["family"] == "custom_cnn" and copied[0].user_attrs["warm_start_number"] == 0


def test_warm_trials_are_refused_once_the_study_has_trials_of_its_own():
    target = optuna.create_study(direction="maximize", study_name="mine")
    target.tell(target.ask(), 0.1)
    with pytest.raises(ValueError, match="'mine' has 1 trial"):
        add_warm_trials(target, warm_trials(_source_study(), "prev"))


def test_the_sampler_of_rays_searcher_sees_the_warm_trials_before_its_first_sample(tmp_path):
    from records.study import create_study_storage, open_storage
    from runners.searcher import RankedOptunaSearch
    from runners.warm_start import WarmStart

    class Watching(optuna.samplers.RandomSampler):
        seen: list[int] = []

        def infer_relative_search_space(self, study, trial):
            self.seen.append(len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))))
            return super().infer_relative_search_space(study, trial)

    def space(trial):
        trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        trial.suggest_categorical("backbone", ["custom_cnn", "mobilenet_v2"])

    url = f"sqlite:///{tmp_path}/optuna.db"
    warm = WarmStart(("prev",), tuple(warm_trials(_source_study(), "prev")))
    create_study_storage(url, "new", warm.study_attrs())
    sampler = Watching()
    searcher = RankedOptunaSearch(space=space, metric="best_val_accuracy", mode="max", sampler=sampler,
                                  storage=open_storage(url), study_name="new")
    assert warm.add_to(url, "new") == 2  # after the searcher loaded the study, as the search does
    searcher.suggest("t1")
    assert sampler.seen == [2]
    stored = optuna.load_study(study_name="new", storage=url)
    assert stored.user_attrs[WARM_START_ATTR] == ["prev"]
    assert [t.number for t in stored.trials] == [0, 1, 2] and WARM_START_ATTR not in stored.trials[2].user_attrs


def _options(tmp_path, **change):
    from helpers import search_options

    return search_options(db=f"sqlite:///{tmp_path}/leaderboard.db", optuna_storage=f"sqlite:///{tmp_path}/optuna.db",
                          name="new", seed=2, **change)


def _data(labels=(0, 1, 2)):
    test = SimpleNamespace(kind="arrays", items=list(range(len(labels))), labels=list(labels))
    return SimpleNamespace(name="digits", num_classes=10, test=test)


def _finished_run(tmp_path, name: str, status: str = "finished", **fields):
    """A run row (and its study with one completed trial) as an earlier search leaves them."""
    store = ResultsStore(f"sqlite:///{tmp_path}/leaderboard.db")
    row = {"run_id": name, "run_name": name, "dataset": "digits", "class_names": [str(i) for i in range(10)],
           "space": "default", "budget": "smoke", "image_size": 32, "weights": "none", "seed": 1,
           "objective": "accuracy", "test_fingerprint": "elsewhere", **fields}
    store.start_run(**row)
    store.update_run(name, status=status)
    study = optuna.create_study(direction="maximize", study_name=name, storage=f"sqlite:///{tmp_path}/optuna.db")
    trial = study.ask()
    trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
    study.tell(trial, 0.7)


def test_named_runs_are_checked_and_auto_takes_every_matching_finished_run(tmp_path, capsys):
    from runners.warm_start import plan_warm_start

    space = SimpleNamespace(name="default")
    with pytest.raises(UserError, match="--warm-start prev: no run of that name"):
        plan_warm_start(_options(tmp_path, warm_start="prev"), space, _data())
    _finished_run(tmp_path, "prev")
    _finished_run(tmp_path, "bigger", image_size=48)
    _finished_run(tmp_path, "stopped", status="interrupted")
    _finished_run(tmp_path, "other", dataset="cifar10")
    warm = plan_warm_start(_options(tmp_path, warm_start="prev"), space, _data())
    assert warm.runs == ("prev",) and [t.user_attrs[WARM_START_ATTR] for t in warm.trials] == ["prev"]
    with pytest.raises(UserError, match=r"^--warm-start bigger: its image size is 48px, this search uses 32px$"):
        plan_warm_start(_options(tmp_path, warm_start="prev,bigger"), space, _data())
    with pytest.raises(UserError, match="--warm-start stopped: the run is interrupted, not finished"):
        plan_warm_start(_options(tmp_path, warm_start="stopped"), space, _data())
    auto = plan_warm_start(_options(tmp_path, warm_start="auto"), space, _data())
    assert auto.runs == ("prev",) and len(auto.trials) == 1
    assert "warm start: 1 completed trials of prev start the study" in capsys.readouterr().out
    assert plan_warm_start(_options(tmp_path, warm_start="auto", image_size=64), space, _data()).trials == ()
    assert "no earlier finished run of digits with space default, budget smoke at 64px; starting cold" in (
        capsys.readouterr().out)


def test_the_same_seed_with_another_test_split_is_refused(tmp_path):
    from benchmarks.protocol import test_set_fingerprint
    from runners.warm_start import plan_warm_start

    mine = test_set_fingerprint(_data().test)
    _finished_run(tmp_path, "same", seed=2, test_fingerprint=mine)
    _finished_run(tmp_path, "moved", seed=2, test_fingerprint="0123456789abcdef")
    space = SimpleNamespace(name="default")
    assert plan_warm_start(_options(tmp_path, warm_start="same"), space, _data()).runs == ("same",)
    with pytest.raises(UserError, match="--warm-start moved: its test split is another"):
        plan_warm_start(_options(tmp_path, warm_start="moved"), space, _data())


def _args(tmp_path, *argv):
    from runners.flags import build_parser

    return build_parser().parse_args(["--results", str(tmp_path / "results"), *argv])


@pytest.mark.parametrize("argv, message", [
    (["--warm-start", "a b"], "--warm-start 'a b' is not a run name"),
    (["--warm-start", ","], "--warm-start needs run names"),
    (["--warm-start", "prev", "--space", "reference_cifar10"], "runs a fixed recipe; there is nothing to sample"),
])
def test_bad_warm_start_flags_are_one_line_errors(tmp_path, argv, message):
    from runners.options import options_from_args

    with pytest.raises(UserError, match=message):
        options_from_args(_args(tmp_path, "--weights", "none", *argv))


def test_warm_start_names_are_kept_once_each(tmp_path):
    from runners.options import options_from_args

    assert options_from_args(_args(tmp_path, "--warm-start", "a,b,a")).warm_start == "a,b"
    assert options_from_args(_args(tmp_path, "--warm-start", "auto")).warm_start == "auto"


def test_extend_needs_trials_a_finished_run_and_no_resume(tmp_path):
    from runners.extend import extension_from_args
    from runners.options import options_from_args
    from runners.resume import write_options

    with pytest.raises(UserError, match="--extend r needs the number of trials to add: --num-samples N"):
        extension_from_args(_args(tmp_path, "--extend", "r"))
    with pytest.raises(UserError, match="--extend and --resume do not go together"):
        extension_from_args(_args(tmp_path, "--extend", "r", "--resume", "r", "--num-samples", "2"))
    with pytest.raises(UserError, match="--warm-start is for a new search"):
        extension_from_args(_args(tmp_path, "--extend", "r", "--warm-start", "q", "--num-samples", "2"))
    with pytest.raises(UserError, match="no run named 'r' to resume"):
        extension_from_args(_args(tmp_path, "--extend", "r", "--num-samples", "2"))
    first = options_from_args(_args(tmp_path, "--name", "r", "--weights", "none", "--num-samples", "3"))
    write_options(first.storage_path, "r", {"options": first.to_json(), "run_id": "id1", "max_concurrent": 2})
    store = ResultsStore(first.db)
    store.start_run(run_id="id1", run_name="r", dataset="digits", num_samples=3)
    with pytest.raises(UserError, match="run 'r' is running, not finished; --extend adds trials to a finished run"):
        extension_from_args(_args(tmp_path, "--extend", "r", "--num-samples", "2"))
    store.update_run("id1", status="finished")
    options, extension = extension_from_args(_args(tmp_path, "--extend", "r", "--num-samples", "2", "--epochs", "9"))
    assert (options.num_samples, options.epochs, options.name) == (2, first.epochs, "r")
    assert (extension.run_id, extension.number, extension.experiment) == ("id1", 1, "extend-1")


def test_an_extension_stopped_part_way_leaves_the_run_as_it_was(tmp_path, capsys):
    from helpers import search_options

    from runners.extend import Extension

    store = ResultsStore(f"sqlite:///{tmp_path}/leaderboard.db")
    store.start_run(run_id="id1", run_name="r", dataset="digits", num_samples=2)
    for trial_id, best in (("t1", True), ("t2", False)):
        store.record_trial({"run_id": "id1", "run_name": "r", "trial_id": trial_id, "dataset": "digits",
                            "status": "completed", "role": "search", "is_best": best})
    store.record_trial({"run_id": "id1", "run_name": "r", "trial_id": "rep", "dataset": "digits",
                        "status": "completed", "role": "repeat", "repeat_of": "t1"})
    store.update_run("id1", status="finished", best_trial_id="t1", finalists={"verdict": "v"})
    options = search_options(storage_path=str(tmp_path / "ray"), name="r", repeats=1, num_samples=3)
    extension = Extension(run_id="id1", number=1, before=store.run_row(run_id="id1"))
    extension.begin(store, options)
    assert (tmp_path / "ray" / "r" / "extend-1").is_dir() and extension.recorded == 2
    assert store.run_row(run_id="id1")["status"] == "running" and store.run_row(run_id="id1")["num_samples"] == 5
    store.record_trial({"run_id": "id1", "run_name": "r", "trial_id": "t3", "dataset": "digits",
                        "status": "completed", "role": "search"})
    assert extension.whole_run([], store, options) == []  # no Ray state saved in these folders
    rows = store.trials(run_id="id1").set_index("trial_id")
    assert "rep" not in rows.index and not rows.is_best.any()  # the run's end sets both again
    extension.stopped(store, "r")
    row = store.run_row(run_id="id1")
    assert (row["status"], row["num_samples"], row["finalists"]) == ("finished", 2, None)
    assert list(store.trials(run_id="id1").query("is_best == 1").trial_id) == ["t1"]
    assert "run 'r' keeps its earlier results; its repeats were replaced" in capsys.readouterr().out
