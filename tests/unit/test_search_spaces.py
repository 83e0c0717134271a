"""Search spaces: define-by-run, with conditional parameters that exist only in their branch."""

from __future__ import annotations

import functools
import warnings

import optuna
import pytest

from benchmarks.errors import UserError
from benchmarks.models import family, get_model, list_models
from search_spaces import SearchSpace, get_space, list_spaces

optuna.logging.set_verbosity(optuna.logging.WARNING)


def sample(space: SearchSpace, n: int, pretrained: bool = True, sampler=None) -> list[dict]:
    """``n`` trial configs as Ray Tune would get them: the sampled parameters and what ``suggest`` returned."""
    study = optuna.create_study(sampler=sampler or optuna.samplers.RandomSampler(seed=0), direction="maximize")
    configs = []
    for _ in range(n):
        trial = study.ask()
        returned = space.suggest(trial, pretrained=pretrained) or {}
        configs.append({**trial.params, **returned})
        study.tell(trial, len(configs) % 3 / 3)
    return configs


def test_default_space_is_conditional():
    configs = sample(get_space("default"), 80)
    assert {c["backbone"] for c in configs} == set(list_models())
    for c in configs:
        built_here = not get_model(c["backbone"]).pretrainable  # the custom CNN and the small ResNet
        assert ("depth" in c and "width" in c) == built_here
        assert ("unfrozen_layers" in c) == (not built_here)
        assert 1e-4 <= c["learning_rate"] <= 1e-2 and 0 <= c["dropout"] <= 0.5
        assert c["batch_size"] in (16, 32, 64) and c["augmentation"]


def test_without_pretrained_weights_there_is_nothing_to_unfreeze():
    assert not any("unfrozen_layers" in c for c in sample(get_space("default"), 30, pretrained=False))


@pytest.mark.parametrize("name, backbones", [("custom_cnn", {"custom_cnn"}), ("transfer", {"mobilenet_v2", "efficientnet_b0", "resnet50"})])
def test_family_spaces(name, backbones):
    space = get_space(name)
    assert set(space.backbones) == backbones
    assert {c["backbone"] for c in sample(space, 30)} <= backbones


def test_every_listed_space_loads_and_unknown_ones_fail():
    for name in list_spaces():
        assert get_space(name).name == name
    with pytest.raises(UserError, match="unknown search space 'nope'"):
        get_space("nope")
    with pytest.raises(UserError, match="cannot load search space"):
        get_space("no_such_package.space")


def test_a_space_from_any_module(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "fixed.py").write_text(
        "from search_spaces import SearchSpace\n"
        "SPACE = SearchSpace('mine', 'one fixed CNN', lambda trial, pretrained=True: "
        "{'backbone': 'custom_cnn', 'depth': 2, 'width': 8, 'learning_rate': 1e-3, 'batch_size': 8}, ('custom_cnn',), num_samples=1)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    space = get_space("pkg.fixed")
    assert space.name == "mine" and space.num_samples == 1
    assert functools.partial(space.suggest, pretrained=False)(None)["backbone"] == "custom_cnn"


@pytest.mark.parametrize("name", ["default", "transfer", "custom_cnn"])
@pytest.mark.parametrize("pretrained", [True, False])
def test_starting_points_are_one_valid_recipe_per_backbone(name, pretrained):
    space = get_space(name)
    assert sorted(point["backbone"] for point in space.starting_points) == sorted(space.backbones)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    for point in space.starting_points:
        study.enqueue_trial(point)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna warns when a fixed value is outside its distribution
        for point in space.starting_points:
            trial = study.ask()
            space.suggest(trial, pretrained=pretrained)
            used = {k: v for k, v in trial.params.items() if k in point}
            assert used == {k: point[k] for k in used}
            sampled = {"unfrozen_layers"} if pretrained and get_model(point["backbone"]).pretrainable else set()
            assert trial.user_attrs["family"] == family(point["backbone"], pretrained)
            assert set(trial.params) - set(point) == sampled
            study.tell(trial, 0.5)


@pytest.mark.parametrize("pretrained", [True, False])
@pytest.mark.parametrize("n", [4, 7, 16])
def test_a_space_with_both_families_gives_each_half_of_the_trials(n, pretrained):
    """Whatever TPE has learnt (here, that the custom CNN scores best), each family gets n/2 trials within one."""
    space = get_space("default")
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=2), direction="maximize")
    for point in space.starting_points[: n // 2]:
        study.enqueue_trial(point)
    families = []
    for _ in range(n):
        trial = study.ask()
        returned = space.suggest(trial, pretrained=pretrained)
        config = {**trial.params, **returned}
        families.append(family(config["backbone"], pretrained))
        study.tell(trial, 0.9 if config["backbone"] == "custom_cnn" else 0.1)
    custom = families.count("custom_cnn")
    assert abs(custom - (n - custom)) <= 1, families
    assert {f for f in families if f != "custom_cnn"} == {"transfer" if pretrained else "scratch"}


def test_a_space_without_a_model_never_picks_it_nor_starts_with_it():
    space = get_space("default").without(("resnet50",))
    assert "resnet50" not in space.backbones and "resnet50" not in {p["backbone"] for p in space.starting_points}
    assert {c["backbone"] for c in sample(space, 60, pretrained=False)} == set(list_models()) - {"resnet50"}
    fixed = get_space("reference_cifar10")  # a recipe's suggest takes no ``models``: it stays as it is
    assert fixed.without(fixed.backbones) is fixed


def test_trials_copied_from_an_earlier_run_do_not_count_in_the_family_balance():
    """Three warm-started custom-CNN trials (--warm-start) are the earlier run's: the new run's first trial after its
    own custom-CNN trial still goes to the other family."""
    from search_spaces import WARM_START_ATTR
    from search_spaces._common import next_family

    study = optuna.create_study()
    for number in range(3):
        study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={"family": "custom_cnn", WARM_START_ATTR: "a"}))
    study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={"family": "scratch"}))
    assert next_family(study.ask(), ["custom_cnn", "scratch"], pretrained=False) == "custom_cnn"
