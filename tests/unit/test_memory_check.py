"""Memory before any trial: the estimate of one model's training (benchmarks.memory), the space's largest trial,
and the check against Ray's memory (runners.tuning.fit_memory): an error where one trial cannot fit, fewer at a
time where only fewer fit."""

from __future__ import annotations

import doctest

import pytest

from benchmarks.errors import UserError
from benchmarks.memory import GIB, RUNTIME_BYTES, MemoryEstimate
from search_spaces import SearchSpace
from helpers import search_options


def _small_cnn_space_suggest(trial, pretrained=True):
    trial.suggest_categorical("batch_size", [16, 32])
    trial.suggest_float("learning_rate", 1e-3, 1e-2, log=True)
    return {"backbone": "custom_cnn", "depth": 2, "width": 8, "dense_units": 32, "dropout": 0.0}


SMALL = SearchSpace("small", "one small CNN", _small_cnn_space_suggest, ("custom_cnn",))


def test_the_estimate_of_a_known_small_model():
    import keras

    from benchmarks.memory import activation_count, estimate_training

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, padding="same")(inputs)  # 8*8*2 = 128 outputs, 3*3*3*2 + 2 = 56 weights
    x = keras.layers.Flatten()(x)  # 128
    outputs = keras.layers.Dense(5)(x)  # 5 outputs, 128*5 + 5 = 645 weights
    model = keras.Model(inputs, outputs)
    assert activation_count(model) == 192 + 128 + 128 + 5  # the input's 8*8*3 included
    estimate = estimate_training(model, batch_size=10)
    assert estimate.activations == 453 * 10 * 4 * 1.5 == 27_180  # float32, x1.5 for the backward pass
    assert estimate.parameters == 701 * 4 * 4 == 11_216  # weights, gradients, Adam's two moments
    assert estimate.runtime == RUNTIME_BYTES and estimate.total == 27_180 + 11_216 + RUNTIME_BYTES

    # A nested model (a backbone) counts its layers one by one, not its input again.
    outer_in = keras.Input((8, 8, 3))
    nested = keras.Model(outer_in, keras.layers.Flatten()(model(outer_in)))
    assert activation_count(nested) == 192 + (128 + 128 + 5) + 5
    # A residual sum keeps nothing for the backward pass: the input and the convolution count, the sum does not.
    pixels = keras.Input((4, 4, 2))
    assert activation_count(keras.Model(pixels, keras.layers.Add()([pixels, keras.layers.Conv2D(2, 1)(pixels)]))) == 64


def test_the_estimate_module_examples_hold():
    import benchmarks.memory

    assert doctest.testmod(benchmarks.memory).failed == 0


def test_the_largest_trial_of_each_backbone_takes_every_largest_value():
    from benchmarks.memory import largest_configs
    from benchmarks.models import list_models
    from search_spaces import get_space

    configs = {c["backbone"]: c for c in largest_configs(get_space("default"), pretrained=False)}
    assert set(configs) == set(list_models())
    assert {c["batch_size"] for c in configs.values()} == {64}
    assert configs["custom_cnn"]["depth"] == 4 and configs["custom_cnn"]["width"] == 64
    assert configs["resnet50"]["dense_units"] == 512 and "depth" not in configs["resnet50"]
    # A fixed space: its constants win, one configuration per distinct variant.
    (fixed,) = largest_configs(get_space("reference_cifar10"), pretrained=False)
    assert fixed["backbone"] in get_space("reference_cifar10").backbones


def test_the_largest_trial_is_built_at_its_image_size_and_largest_batch(monkeypatch):
    from benchmarks.memory import estimate_config
    from runners.tuning import largest_trial

    monkeypatch.setattr("search_spaces.get_space", lambda name: SMALL)
    estimate, what = largest_trial(search_options(space="small", image_size=48))
    assert what == "custom_cnn at 48px, batch 32"
    config = {"backbone": "custom_cnn", "depth": 2, "width": 8, "dense_units": 32, "dropout": 0.0}
    assert estimate == estimate_config(config, num_classes=10, image_size=48, batch_size=32)


ESTIMATE = MemoryEstimate(activations=3 * GIB, parameters=GIB // 2, runtime=GIB // 2)  # 4.0 GiB
WHAT = "resnet50 at 224px, batch 64"


def test_a_trial_larger_than_rays_memory_is_a_one_line_error_naming_the_numbers():
    from runners.tuning import fit_memory

    with pytest.raises(UserError) as error:
        fit_memory({"CPU": 2, "memory": 3 * GIB}, search_options(image_size=224), 2, largest=(ESTIMATE, WHAT))
    message = str(error.value)
    assert "\n" not in message
    assert message == ("one trial (resnet50 at 224px, batch 64) needs an estimated 4.0 GiB (activations 3.0, "
                       "parameters 0.5, runtime 0.5) of memory, more than the 3.0 GiB the Ray cluster has; lower "
                       "--image-size (now 224) or the space's batch sizes, or run on nodes with more memory")


def test_fewer_trials_at_a_time_where_only_fewer_fit_and_it_says_so(capsys):
    from runners.tuning import fit_memory

    assert fit_memory({"CPU": 4, "memory": 9 * GIB}, search_options(), 4, largest=(ESTIMATE, WHAT)) == 2
    assert capsys.readouterr().out == ("ray: 9.0 GiB of memory holds 2 trials at a time, not 4: the largest "
                                       "(resnet50 at 224px, batch 64) needs about 4.0 GiB (estimated)\n")
    assert fit_memory({"CPU": 4, "memory": 16 * GIB}, search_options(), 4, largest=(ESTIMATE, WHAT)) == 4
    assert capsys.readouterr().out == ""


def test_no_memory_check_without_rays_figure_and_gpu_tensors_not_counted_on_the_host():
    from runners.tuning import fit_memory

    assert fit_memory({"CPU": 4}, search_options(), 4, largest=(ESTIMATE, WHAT)) == 4
    # A GPU trial's activations and parameters are the card's: the host holds its runtime (0.5 GiB) only.
    small = {"CPU": 4, "GPU": 1, "memory": 2 * GIB}
    assert fit_memory(small, search_options(gpus_per_trial=0.25), 4, largest=(ESTIMATE, WHAT)) == 4


def test_fit_concurrency_checks_the_spaces_largest_trial_against_rays_memory(monkeypatch):
    from runners.tuning import fit_concurrency

    monkeypatch.setattr("search_spaces.get_space", lambda name: SMALL)
    options = search_options(space="small", image_size=32, max_concurrent=3)
    with pytest.raises(UserError, match=r"^one trial \(custom_cnn at 32px, batch 32\) needs an estimated 0\.8 GiB .* "
                                        r"more than the 0\.5 GiB the Ray cluster has"):
        fit_concurrency({"CPU": 4, "memory": GIB / 2}, options)
    assert fit_concurrency({"CPU": 4, "memory": 64 * GIB}, options) == 3
