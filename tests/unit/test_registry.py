"""Registries are the only place to edit: a new backbone is one call, a recipe one module."""

from __future__ import annotations

import optuna
import pytest

from benchmarks.models import _registry, backbone_of, build_model, family, get_model, list_models, register_backbone, register_model
from benchmarks.resolution import trial_image_size
from search_spaces import get_space, list_spaces, recipe_for


@pytest.fixture
def scratch_registry(monkeypatch):
    """The model registry as it is, restored after the test."""
    monkeypatch.setattr(_registry, "_MODELS", dict(_registry._MODELS))


def test_a_backbone_registered_with_one_call_is_searched_by_the_default_space_and_builds(scratch_registry):
    register_backbone("mobilenet_v3_small", "MobileNetV3Small", "none")
    assert "mobilenet_v3_small" in list_models()
    for name in ("default", "transfer"):
        space = get_space(name)
        assert "mobilenet_v3_small" in space.backbones and "MobileNetV3Small" in space.description
        assert {"backbone": "mobilenet_v3_small"}.items() <= space.starting_points[-1].items()
    # The sampler can pick it: enqueue it and let the space's own suggest function ask for it.
    study = optuna.create_study()
    study.enqueue_trial({"backbone": "mobilenet_v3_small"})
    trial = study.ask()
    get_space("default").suggest(trial, pretrained=False)
    assert trial.params["backbone"] == "mobilenet_v3_small"
    model = build_model({**trial.params, "backbone": "mobilenet_v3_small"}, num_classes=3, image_size=32)
    assert model.output_shape == (None, 3)


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_builds_at_its_smallest_and_largest_architecture(name):
    """timm-style: one loop over the registry. Each model builds at its smallest input side with the lowest and
    highest values of the architecture parameters the spaces search for it, and its facts agree with the build."""
    model = get_model(name)
    for pick in (0, -1):
        arch = {key: (args[0] if len(args) == 1 else args[:2])[pick] for key, args in model.search.items()}
        built = build_model({"backbone": name, "dropout": 0.1, "dense_units": 8, **arch}, num_classes=3,
                            image_size=model.min_size)
        assert built.output_shape == (None, 3)
    assert (backbone_of(built) is not None) == model.pretrainable  # a backbone is a nested keras.applications model
    assert family(name, pretrained=True) == ("transfer" if model.pretrainable else "custom_cnn")


def test_a_network_registered_with_its_builder_is_in_the_default_space_with_its_own_parameters(scratch_registry):
    @register_model("tiny_mlp", min_size=8, native_size=True, search={"width": ([16, 32, 64],)})
    def tiny_mlp(inputs, hparams, weights=None):
        import keras

        return keras.layers.Dense(hparams["width"], activation="relu", name="hidden")(keras.layers.Flatten()(inputs))

    space = get_space("default")
    assert "tiny_mlp" in space.backbones and family("tiny_mlp") == "custom_cnn"
    study = optuna.create_study()
    study.enqueue_trial({"custom_network": "tiny_mlp"})
    trial = study.ask()
    trial.set_user_attr("family", "custom_cnn")
    returned = space.suggest(trial, pretrained=True)
    config = {**trial.params, **returned}
    assert config["backbone"] == "tiny_mlp" and "width" in config and "depth" not in config
    assert trial_image_size(config, budget_size=96, native=8) == 8
    assert build_model({**config, "dense_units": 8}, num_classes=2, image_size=8).output_shape == (None, 2)


def test_a_backbone_is_registered_once(scratch_registry):
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("resnet50", "ResNet50", "caffe")


def test_every_reference_recipe_module_is_listed_and_says_which_datasets_it_serves():
    recipes = [name for name in list_spaces() if name.startswith("reference_")]
    assert len(recipes) == 5
    served = {recipe_for(d) for d in ("oxford_flowers102", "cifar10:3.0.2", "hymenoptera", "fruits360", "/data/other")}
    assert served == set(recipes)  # every recipe is reachable, each from the datasets its own module names
