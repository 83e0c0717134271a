"""FLOPs per image for every trial (issue 21): the profiler's count of a model small enough to count by hand, its
agreement with the frozen graph's count on the registry's models, and a trial reporting it once, whatever the
objective, into every report and its checkpoint, so that a resumed trial keeps it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import pytest

import benchmarks.deploy
import benchmarks.training
from benchmarks.deploy import measure_flops
from benchmarks.models import build_model
from benchmarks.settings import TrainSettings


def _small_model():
    """8x8x3 -> Conv2D(4, 3x3, bias) -> ReLU -> MaxPool 2x2 -> Flatten -> Dense(5, bias)."""
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.ReLU(),
                             keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(5)])


def test_the_flops_of_a_small_model_counted_by_hand():
    conv = 2 * (6 * 6 * 4) * (3 * 3 * 3)  # a multiply and an add per weight per output: 6x6x4 outputs, 27 weights
    conv_bias = 6 * 6 * 4  # one add per output
    pool = (3 * 3 * 4) * (2 * 2)  # a max pool counts its window per output; ReLU and Flatten count nothing
    dense = 2 * (3 * 3 * 4) * 5 + 5  # 36 inputs to 5 outputs, and the bias
    model = _small_model()
    assert measure_flops(model, 8) == conv + conv_bias + pool + dense == 8429
    assert measure_flops(model, 8, frozen=True) == 8429  # the profiler's reference: the frozen graph


@pytest.mark.parametrize("backbone", ["custom_cnn", "mobilenet_v2"])
def test_the_traced_graph_counts_what_the_frozen_graph_counts(backbone):
    # Checked by hand also for EfficientNetB0 and ResNet50 (32 and 96 px): equal; each takes 5-10 s frozen here.
    config = {"backbone": backbone, "dropout": 0.2, "dense_units": 64, "depth": 3, "width": 16}
    model = build_model(config, num_classes=10, image_size=32, weights=None)
    flops = measure_flops(model, 32)
    assert flops and flops == measure_flops(model, 32, frozen=True)
    if backbone == "custom_cnn":  # at the trial's own size: 4x the pixels, about 4x the convolutions' FLOPs
        bigger = build_model(config, num_classes=10, image_size=64, weights=None)
        assert 3.5 * flops < measure_flops(bigger, 64) < 4.5 * flops


# --------------------------------------------------------------------------- a trial reports its FLOPs


class _Trial:
    """run_trial with Ray's session, the thread settings and the training faked: ``epochs`` reports of a real
    custom CNN; every report and its checkpoint's metrics kept, FLOPs counts counted."""

    def __init__(self, monkeypatch, tmp_path: Path):
        from ray import tune

        from runners import trainable

        self.tmp_path, self.reports, self.saved, self.counted = tmp_path, [], [], 0
        self.checkpoint = None
        self.epochs = [1, 2]
        monkeypatch.setattr(trainable, "configure_tensorflow", lambda cpus: None)
        monkeypatch.setattr(trainable, "worker_facts", lambda: {"node_id": "n1"})
        monkeypatch.setattr(tune, "get_checkpoint", lambda: self.checkpoint)
        monkeypatch.setattr(tune, "report", self._report)
        monkeypatch.setattr(benchmarks.training, "train_trial", self._train)
        real = benchmarks.deploy.measure_flops

        def counting(model, image_size, **kwargs):
            self.counted += 1
            return real(model, image_size, **kwargs)

        monkeypatch.setattr(benchmarks.deploy, "measure_flops", counting)

    def _report(self, metrics, checkpoint=None):
        self.reports.append(dict(metrics))
        if checkpoint is not None:
            kept = self.tmp_path / f"checkpoint{len(self.saved)}"
            shutil.copytree(checkpoint.path, kept)
            self.saved.append(kept)

    def _train(self, config, data, settings, on_epoch=None, resume=None):
        model = resume.model if resume else build_model(config, num_classes=3, image_size=settings.image_size)
        for epoch in self.epochs:
            on_epoch({"epoch": epoch, "phase": "train", "phase_epoch": epoch, "val_accuracy": 0.5 + epoch / 10,
                      "params": model.count_params(), "final": epoch == self.epochs[-1]}, model)
        return model, []

    def run(self, cost=None):
        from runners.trainable import run_trial

        config = {"backbone": "custom_cnn", "dropout": 0.1, "dense_units": 16, "depth": 2, "width": 8,
                  "batch_size": 16}
        run_trial(config, data=None, settings=TrainSettings(epochs=2, image_size=32), cost=cost)
        return build_model(config, num_classes=3, image_size=32)


def test_every_trial_reports_its_flops_once_without_an_objective(monkeypatch, tmp_path):
    trial = _Trial(monkeypatch, tmp_path)
    model = trial.run(cost=None)
    expected = measure_flops(model, 32)
    assert expected and trial.counted == 1  # measured once, at the first epoch's report
    assert [r["flops"] for r in trial.reports] == [expected, expected]
    assert all("latency_ms" not in r and r["image_size"] == 32 for r in trial.reports)
    saved = json.loads((trial.saved[0] / "metrics.json").read_text())
    assert saved["flops"] == expected


def test_a_resumed_trial_keeps_the_flops_of_its_checkpoint(monkeypatch, tmp_path):
    from ray import tune

    trial = _Trial(monkeypatch, tmp_path)
    trial.epochs = [1]
    trial.run()
    flops = trial.reports[-1]["flops"]
    metrics = trial.saved[0] / "metrics.json"
    metrics.write_text(json.dumps({**json.loads(metrics.read_text()), "final": False}))
    trial.checkpoint = tune.Checkpoint.from_directory(trial.saved[0])
    trial.epochs, trial.reports, trial.counted = [2], [], 0
    trial.run()
    assert trial.counted == 0 and [r["flops"] for r in trial.reports] == [flops]


def test_a_latency_search_measures_latency_and_flops(monkeypatch, tmp_path):
    trial = _Trial(monkeypatch, tmp_path)
    trial.run(cost="latency")
    assert trial.counted == 1 and all(r["flops"] > 0 and r["latency_ms"] > 0 for r in trial.reports)
