"""GPU settings through the configuration they produce: no GPU is needed to test what a GPU trial would do."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from benchmarks.errors import UserError
from runners.gpu import GpuSettings, apply_gpu_settings, gpu_settings, trial_resources
from helpers import search_options


def test_cpu_trials_get_no_gpu_settings_whatever_the_precision():
    for precision in ("mixed", "float32"):
        settings = gpu_settings(0, precision)
        assert settings == GpuSettings() and not settings.use_gpu and settings.dtype_policy == "float32"


def test_gpu_trials_grow_memory_and_use_mixed_precision_and_xla_by_default():
    settings = gpu_settings(0.25)
    assert settings.use_gpu and settings.memory_growth and settings.mixed_precision and settings.jit_compile
    assert settings.dtype_policy == "mixed_float16"
    assert settings.eval_batch_size == 256
    assert trial_resources(2, settings) == {"cpu": 2, "gpu": 0.25}


def test_float32_turns_mixed_precision_and_xla_off_but_keeps_memory_growth():
    settings = gpu_settings(1, "float32")
    assert settings.memory_growth and not settings.mixed_precision and not settings.jit_compile
    assert settings.dtype_policy == "float32"


@pytest.mark.parametrize("gpus, precision, message", [
    (0.5, "half", "unknown precision 'half'"),
    (-1, "mixed", "at least 0"),
    (1.5, "mixed", "whole number"),
])
def test_bad_gpu_settings_are_user_errors(gpus, precision, message):
    with pytest.raises(UserError, match=message):
        gpu_settings(gpus, precision)


class FakeTF:
    """Records what apply_gpu_settings asks of tf.config and keras.mixed_precision."""

    def __init__(self, gpus):
        self.calls = []
        self.policy = None
        experimental = SimpleNamespace(set_memory_growth=lambda gpu, on: self.calls.append((gpu, on)))
        self.config = SimpleNamespace(list_physical_devices=lambda kind: list(gpus), experimental=experimental)
        self.mixed_precision = SimpleNamespace(set_global_policy=self._set_policy)

    def _set_policy(self, policy):
        self.policy = policy


def test_applying_gpu_settings_grows_memory_on_every_visible_gpu_and_sets_the_policy():
    fake = FakeTF(["GPU:0", "GPU:1"])
    effective = apply_gpu_settings(gpu_settings(0.5), tf=fake, keras=fake)
    assert fake.calls == [("GPU:0", True), ("GPU:1", True)]
    assert fake.policy == "mixed_float16" and effective.jit_compile


def test_a_gpu_trial_on_a_worker_without_gpu_falls_back_to_float32_without_xla():
    fake = FakeTF([])
    effective = apply_gpu_settings(gpu_settings(1), tf=fake, keras=fake)
    assert fake.calls == [] and fake.policy == "float32"
    assert not effective.mixed_precision and not effective.jit_compile


def test_under_mixed_precision_the_classifier_outputs_float32():
    import keras

    from benchmarks.models import build_model

    hp = {"backbone": "custom_cnn", "depth": 2, "width": 8, "dropout": 0.0, "dense_units": 16}
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(hp, num_classes=3, image_size=16)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("dense").compute_dtype == "float16"  # the body does run in float16
    assert model.get_layer("classifier").compute_dtype == "float32"
    assert model.output.dtype == "float32"


@pytest.mark.parametrize("resources, cpus, gpus, expected", [
    ({"CPU": 16, "GPU": 1}, 1, 0.25, 4),  # four trials share the card
    ({"CPU": 16, "GPU": 1}, 1, 0.1, 8),  # 1 / 0.1 is 9.99...: still 9 fit, capped by the 8 trials
    ({"CPU": 2, "GPU": 1}, 1, 0.25, 2),  # CPUs bound it
    ({"CPU": 16, "GPU": 2}, 4, 0.5, 4),
    ({"CPU": 4}, 1, 0, 4),
])
def test_concurrency_follows_fractional_gpus_and_cpus(resources, cpus, gpus, expected):
    from runners.tuning import fit_concurrency

    assert fit_concurrency(resources, search_options(cpus_per_trial=cpus, gpus_per_trial=gpus)) == expected


def test_more_gpu_per_trial_than_the_cluster_has_is_a_user_error():
    from runners.tuning import fit_concurrency

    with pytest.raises(UserError, match="cluster has 0 GPUs"):
        fit_concurrency({"CPU": 4}, search_options(gpus_per_trial=0.5))


def test_the_cli_turns_precision_and_gpus_into_options(tmp_path):
    from runners.options import options_from_args
    from runners.search import build_parser

    args = build_parser().parse_args(["--gpus-per-trial", "0.5", "--precision", "float32", "--weights", "none",
                                      "--results", str(tmp_path), "--name", "g"])
    options = options_from_args(args)
    assert (options.gpus_per_trial, options.precision) == (0.5, "float32")
    assert options.storage_path == str(tmp_path / "ray")
    assert not gpu_settings(options.gpus_per_trial, options.precision).jit_compile
