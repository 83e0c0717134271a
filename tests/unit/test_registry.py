"""Registries are the only place to edit: a new backbone is one call, a recipe one module."""

from __future__ import annotations

import optuna
import pytest

from benchmarks.models import _registry, build_model, list_models, register_backbone
from search_spaces import get_space, list_spaces, recipe_for


@pytest.fixture
def scratch_registry(monkeypatch):
    """The backbone registry as it is, restored after the test."""
    monkeypatch.setattr(_registry, "_BACKBONES", dict(_registry._BACKBONES))


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


def test_a_backbone_is_registered_once(scratch_registry):
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("resnet50", "ResNet50", "caffe")


def test_every_reference_recipe_module_is_listed_and_says_which_datasets_it_serves():
    recipes = [name for name in list_spaces() if name.startswith("reference_")]
    assert len(recipes) == 5
    served = {recipe_for(d) for d in ("oxford_flowers102", "cifar10:3.0.2", "hymenoptera", "fruits360", "/data/other")}
    assert served == set(recipes)  # every recipe is reachable, each from the datasets its own module names
