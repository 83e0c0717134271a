"""Reference recipes: fixed configurations, published figures, the recipe the dataset picks, the budget rule.

The tfds recipes (Flowers 102, CIFAR-10) are not run through the CLI in the tests: tfds mock data
does not cross into Ray's worker processes. Their hyperparameters train here in-process instead, one
``train_trial`` each on a tiny digits stand-in; tests/integration/test_reference_cli.py runs the
folder recipes (ants vs bees, the 20-class custom CNN) end to end.
"""

from __future__ import annotations

import optuna
import pytest
from helpers import save_backbone_weights

from benchmarks.augmentation import resolve_policy
from benchmarks.datasets import load_dataset
from benchmarks.errors import UserError
from benchmarks.models import HEADS, list_models
from benchmarks.training import TrainSettings, train_trial
from runners.options import options_from_args, recipe_setting
from runners.search import build_parser
from runners.budgets import get_budget
from search_spaces import PUBLISHED_METRICS, get_space, recipe_for, reproduced_figures, resolve_space_name

optuna.logging.set_verbosity(optuna.logging.WARNING)

RECIPES = ["reference_flowers102", "reference_cifar10", "reference_hymenoptera", "reference_fruits360",
           "reference_custom_cnn20"]


def configs(name: str, pretrained: bool = True) -> list[dict]:
    space = get_space(name)
    return [space.suggest(optuna.trial.FixedTrial({}, number=n), pretrained=pretrained) for n in range(space.num_samples)]


@pytest.mark.parametrize("name", RECIPES)
def test_a_recipe_is_a_fixed_space_with_published_figures(name):
    space = get_space(name)
    assert space.is_reference and space.name == name and space.num_samples == len(configs(name))
    assert configs(name) == configs(name)
    study = optuna.create_study(direction="maximize")
    study.optimize(lambda t: space.suggest(t) and 0.0, n_trials=space.num_samples)
    assert all(t.params == {} for t in study.trials)  # nothing is searched
    for config in configs(name):
        assert config["backbone"] in list_models() and config["backbone"] in space.backbones
        assert config.get("head", "dense") in HEADS
        assert resolve_policy(config["augmentation"]) is not None
    assert space.published and set(space.published) <= {*PUBLISHED_METRICS, "note"}
    assert all(0 < v <= 1 for k, v in space.published.items() if k != "note")


def test_the_published_figures_and_settings_of_each_recipe():
    flowers, cifar, ants, fruits, cnn = (get_space(n) for n in RECIPES)
    assert flowers.published == {"test_accuracy": 0.9463, "val_accuracy": 0.9442, "precision": 0.95, "recall": 0.94, "f1": 0.94}
    assert (flowers.image_size, flowers.epochs) == (224, 30)
    assert configs("reference_flowers102")[0] == {
        "backbone": "mobilenet_v2", "unfrozen_layers": 0, "dense_units": 512, "dropout": 0.5, "optimizer": "adam",
        "learning_rate": 1e-3, "batch_size": 16, "augmentation": "flip,brightness,contrast,crop"}
    (c,) = configs("reference_cifar10")
    assert (c["unfrozen_layers"], c["head_first"], c["preprocessing"], c["learning_rate"]) == (20, False, "unit", 1e-4)
    assert c["head_batchnorm"] and "shear" in c["augmentation"] and "note" in cifar.published
    assert ants.published == {"test_accuracy": 0.925, "precision": 0.9269, "f1": 0.9253}
    assert (ants.image_size, ants.epochs, ants.patience, ants.split) == (224, 20, 3, (0.1, 0.1))
    assert configs("reference_hymenoptera")[0]["head"] == "linear"
    modified, stock = configs("reference_fruits360")
    assert (modified["variant"], stock["variant"]) == ("modified head", "stock head")
    assert modified["head_batchnorm"] and stock["head"] == "linear" and stock["dropout"] == 0
    assert fruits.published["test_accuracy"] == 0.8094 and (fruits.image_size, fruits.epochs) == (100, 50)
    assert "salt_and_pepper" in modified["augmentation"] and modified["batch_size"] == 32
    (n,) = configs("reference_custom_cnn20")
    assert (n["backbone"], n["optimizer"], n["conv_batchnorm"], cnn.split) == ("custom_cnn", "adamw", False, (0.1, 0.2))


def test_without_weights_there_is_nothing_to_unfreeze():
    (config,) = configs("reference_cifar10", pretrained=False)
    assert "unfrozen_layers" not in config and "head_first" not in config


@pytest.mark.parametrize("dataset, recipe", [
    ("oxford_flowers102", "reference_flowers102"), ("cifar10", "reference_cifar10"),
    ("cifar10:3.0.2", "reference_cifar10"), ("hymenoptera", "reference_hymenoptera"),
    ("fruits360", "reference_fruits360"), ("./data/hymenoptera_data", "reference_hymenoptera"),
    ("~/Fruits-360.zip", "reference_fruits360"), ("/data/my_images/", "reference_custom_cnn20"),
])  # fmt: skip
def test_reference_is_picked_by_the_dataset(dataset, recipe):
    assert recipe_for(dataset) == recipe == resolve_space_name("reference", dataset)


def test_a_dataset_without_recipe_and_reference_alone_are_user_errors():
    for dataset in ("digits", "mnist"):
        with pytest.raises(UserError, match="no reference recipe for dataset"):
            recipe_for(dataset)
    with pytest.raises(UserError, match="picks the recipe of the dataset"):
        get_space("reference")
    assert resolve_space_name("default", "cifar10") == "default"


def _options(*argv: str):
    return options_from_args(build_parser().parse_args(["--weights", "none", *argv]))


def test_the_budget_bounds_a_recipe_except_on_full():
    smoke = _options("--dataset", "hymenoptera", "--space", "reference", "--budget", "smoke")
    assert (smoke.space, smoke.num_samples, smoke.epochs, smoke.image_size) == ("reference_hymenoptera", 1, 3, 32)
    assert (smoke.val_fraction, smoke.test_fraction, smoke.scheduler) == (0.1, 0.1, "fifo")
    full = _options("--dataset", "hymenoptera", "--space", "reference", "--budget", "full")
    assert (full.epochs, full.image_size) == (20, 224)
    assert recipe_setting(3, get_budget("full")) == 3 and recipe_setting(3, get_budget("small")) is None
    mine = _options("--dataset", "fruits360", "--space", "reference", "--budget", "full", "--epochs", "2",
                    "--test-fraction", "0.3")
    assert (mine.num_samples, mine.epochs, mine.image_size, mine.test_fraction, mine.val_fraction) == (2, 2, 100, 0.3, 0.15)
    search = _options("--dataset", "cifar10", "--budget", "smoke")
    assert (search.space, search.scheduler, search.val_fraction, search.num_samples) == ("default", "asha", 0.15, 4)


def test_reproduced_figures_use_the_published_keys():
    figures = reproduced_figures({"accuracy": 0.8, "precision_macro": 0.7, "recall_macro": 0.6, "f1_macro": 0.65}, 0.9, 0.95)
    assert figures == {"train_accuracy": 0.95, "val_accuracy": 0.9, "test_accuracy": 0.8, "precision": 0.7,
                       "recall": 0.6, "f1": 0.65}
    assert set(figures) == set(PUBLISHED_METRICS)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return save_backbone_weights(tmp_path_factory.mktemp("weights"))


@pytest.mark.parametrize("name", ["reference_flowers102", "reference_cifar10"])
def test_tfds_recipes_train_on_a_stand_in(name, weights):
    data = load_dataset("digits", max_examples=(64, 32, 32))
    (config,) = configs(name)
    model, history = train_trial(config, data, TrainSettings(epochs=1, image_size=32, weights=weights))
    assert len(history) == 1 and model.output_shape == (None, 10)
    if name == "reference_cifar10":  # the last 20 layers fine-tune from the first epoch, on 0..1 pixels
        assert history[0]["phase"] == "finetune" and history[0]["learning_rate"] == pytest.approx(1e-4)
        assert history[0]["trainable_params"] > 1280 * 256
        assert model.get_layer("preprocessing").mode == "unit"
    else:
        assert history[0]["phase"] == "train"
        assert history[0]["trainable_params"] == 1280 * 512 + 512 + 512 * 10 + 10  # frozen backbone
