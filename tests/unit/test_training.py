"""The training recipe of one trial, without Ray."""

from __future__ import annotations

import pytest

from helpers import save_backbone_weights

from benchmarks.datasets import load_dataset
from benchmarks.training import NonFiniteLossError, TrainSettings, plan_phases, train_trial

CNN = {"backbone": "custom_cnn", "depth": 2, "width": 16, "dropout": 0.1, "dense_units": 64,
       "learning_rate": 3e-3, "batch_size": 32, "optimizer": "adam", "augmentation": "none"}


def test_phases_head_then_finetune_only_for_unfrozen_pretrained_backbones():
    pretrained = TrainSettings(epochs=6, image_size=32, weights="imagenet")
    mobilenet = {"backbone": "mobilenet_v2", "learning_rate": 1e-3, "unfrozen_layers": 20}
    head, finetune = plan_phases(mobilenet, pretrained)
    assert (head.name, head.epochs, head.unfrozen_layers) == ("head", 2, 0)
    assert (finetune.name, finetune.epochs, finetune.unfrozen_layers) == ("finetune", 4, 20)
    assert finetune.learning_rate == pytest.approx(1e-4)
    assert [p.name for p in plan_phases({**mobilenet, "unfrozen_layers": 0}, pretrained)] == ["train"]
    assert [p.name for p in plan_phases(mobilenet, TrainSettings(epochs=6, image_size=32, weights=None))] == ["train"]
    assert [p.name for p in plan_phases(CNN, pretrained)] == ["train"]


def test_a_custom_cnn_learns_digits_and_reports_every_epoch():
    data = load_dataset("digits", max_examples=(512, 128, 128))
    reports = []
    model, history = train_trial({**CNN, "augmentation": "light"}, data, TrainSettings(epochs=3, image_size=24),
                                 on_epoch=lambda m, model: reports.append(m))
    assert [r["epoch"] for r in reports] == [1, 2, 3] and history == reports
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "params", "phase"} <= set(reports[0])
    # Chance is 0.1; thread scheduling makes runs differ despite the seed, so the bar is 3x chance.
    assert max(r["val_accuracy"] for r in reports) > 0.3


def test_steps_per_execution_and_the_eval_batch_reach_keras():
    data = load_dataset("digits", max_examples=(128, 64, 64))
    reports = []
    model, _ = train_trial(CNN, data, TrainSettings(epochs=2, image_size=16, steps_per_execution=3, eval_batch_size=64),
                           on_epoch=lambda m, model: reports.append(m))
    assert model.steps_per_execution == 3 and [r["epoch"] for r in reports] == [1, 2]


def test_a_diverging_loss_fails_the_trial_with_that_reason():
    data = load_dataset("digits", max_examples=(128, 64, 64))
    with pytest.raises(NonFiniteLossError, match="training loss became nan"):
        train_trial({**CNN, "learning_rate": 1e30, "optimizer": "adam"}, data, TrainSettings(epochs=2, image_size=16))


def test_fine_tuning_trains_more_weights_in_its_second_phase(tmp_path):
    data = load_dataset("digits", max_examples=(64, 32, 32))
    hp = {"backbone": "mobilenet_v2", "unfrozen_layers": 10, "dropout": 0.0, "dense_units": 16,
          "learning_rate": 1e-3, "batch_size": 32, "optimizer": "adamw", "augmentation": "none"}
    _, history = train_trial(hp, data, TrainSettings(epochs=2, image_size=32, weights=save_backbone_weights(tmp_path)))
    assert [h["phase"] for h in history] == ["head", "finetune"]
    assert history[1]["trainable_params"] > history[0]["trainable_params"]
    assert history[1]["learning_rate"] == pytest.approx(1e-4)


def test_a_recipe_can_fine_tune_from_the_first_epoch():
    settings = TrainSettings(epochs=4, image_size=32, weights="imagenet")
    hp = {"backbone": "mobilenet_v2", "learning_rate": 1e-4, "unfrozen_layers": 20, "head_first": False}
    (phase,) = plan_phases(hp, settings)
    assert (phase.name, phase.epochs, phase.unfrozen_layers, phase.learning_rate) == ("finetune", 4, 20, 1e-4)
    assert [p.name for p in plan_phases(hp, TrainSettings(epochs=4, image_size=32, weights=None))] == ["train"]


def test_a_resumed_trial_continues_from_its_checkpoint_with_the_next_epoch(tmp_path):
    import keras

    from benchmarks.training import ResumePoint

    data = load_dataset("digits", max_examples=(256, 64, 64))
    settings = TrainSettings(epochs=3, image_size=16)
    saved = {}

    def checkpoint(metrics, model):
        if metrics["epoch"] == 1:
            model.save(tmp_path / "epoch1.keras")
            saved.update(metrics)

    _, full = train_trial(CNN, data, settings, on_epoch=checkpoint)
    assert [(h["epoch"], h["phase_epoch"], h["final"]) for h in full] == [(1, 1, False), (2, 2, False), (3, 3, True)]

    model = keras.models.load_model(tmp_path / "epoch1.keras")
    resume = ResumePoint(model, saved["epoch"], saved["phase"], saved["phase_epoch"])
    reports = []
    resumed, history = train_trial(CNN, data, settings, on_epoch=lambda m, _: reports.append(m), resume=resume)
    assert resumed is model  # the checkpoint's model goes on training, not a new one
    assert [(h["epoch"], h["phase"], h["phase_epoch"], h["final"]) for h in history] == [
        (2, "train", 2, False), (3, "train", 3, True)]
    assert reports == history


def test_a_resumed_fine_tuning_trial_skips_its_finished_head_phase_and_keeps_the_lower_rate(tmp_path):
    import keras

    from benchmarks.training import ResumePoint

    data = load_dataset("digits", max_examples=(64, 32, 32))
    hp = {"backbone": "mobilenet_v2", "unfrozen_layers": 10, "dropout": 0.0, "dense_units": 16,
          "learning_rate": 1e-3, "batch_size": 32, "optimizer": "adam", "augmentation": "none"}
    settings = TrainSettings(epochs=3, image_size=32, weights=save_backbone_weights(tmp_path))
    saved = {}

    def checkpoint(metrics, model):
        model.save(tmp_path / f"epoch{metrics['epoch']}.keras")
        saved[metrics["epoch"]] = metrics

    _, full = train_trial(hp, data, settings, on_epoch=checkpoint)
    assert [(h["phase"], h["phase_epoch"]) for h in full] == [("head", 1), ("finetune", 1), ("finetune", 2)]

    after_head = ResumePoint(keras.models.load_model(tmp_path / "epoch1.keras"), 1, "head", 1)
    _, history = train_trial(hp, data, settings, resume=after_head)
    assert [(h["epoch"], h["phase"]) for h in history] == [(2, "finetune"), (3, "finetune")]
    assert history[0]["trainable_params"] == full[1]["trainable_params"]
    assert history[0]["learning_rate"] == pytest.approx(1e-4)

    mid_finetune = ResumePoint(keras.models.load_model(tmp_path / "epoch2.keras"), 2, "finetune", 1)
    _, history = train_trial(hp, data, settings, resume=mid_finetune)
    assert [(h["epoch"], h["phase"], h["phase_epoch"], h["final"]) for h in history] == [(3, "finetune", 2, True)]
    assert history[0]["learning_rate"] == pytest.approx(1e-4)
