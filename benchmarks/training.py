"""The training recipe of one trial, independent of Ray: build, train the head, fine-tune, report each epoch."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import keras

from benchmarks.augmentation import LabelAccuracy, build_augmentation, label_cross_entropy, mixes_labels
from benchmarks.datasets import PreparedDataset
from benchmarks.features import head_training_data, uses_feature_cache
from benchmarks.hyperparameters import value
from benchmarks.models import backbone_of, build_model, set_unfrozen_layers
from benchmarks.pipeline import make_dataset
from benchmarks.settings import Phase, TrainSettings, plan_phases

# TrainSettings, Phase and plan_phases live in benchmarks.settings (features.py needs them too: no import
# cycle); they are still imported from here.
__all__ = ["NonFiniteLossError", "Phase", "ResumePoint", "TrainSettings", "plan_phases", "train_trial"]

EpochCallback = Callable[[dict[str, Any], keras.Model], None]


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite: the trial failed."""


@dataclasses.dataclass(frozen=True)
class ResumePoint:
    """Where an interrupted trial continues: its checkpointed model and its last reported epoch."""

    model: keras.Model
    epoch: int  # epochs done in all phases
    phase: str  # the phase of that epoch
    phase_epoch: int  # epochs done in that phase


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer: ``adam``, or ``adamw`` with weight decay 1e-4; a ValueError for any other name."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=1e-4)
    raise ValueError(f"unknown optimizer {name!r}; choose adam or adamw")


def _loss_and_metrics(hparams: Mapping[str, Any]) -> dict[str, Any]:
    """The ``compile`` loss and metrics: sparse categorical cross-entropy and accuracy, or their mixed-label forms.

    With MixUp or CutMix, whose training labels are one-hot and mixed, the loss is categorical cross-entropy on
    those (and sparse on the integer validation labels), with the same accuracy. Both live in
    :mod:`benchmarks.augmentation`, which registers them for loading a checkpoint compiled with them.
    """
    if mixes_labels(value(hparams, "augmentation")):
        return {"loss": label_cross_entropy, "metrics": [LabelAccuracy()]}
    return {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}


class _EpochReporter(keras.callbacks.Callback):
    def __init__(self, phase: Phase, on_epoch: EpochCallback | None, history: list[dict[str, Any]], *,
                 first_epoch: int = 0, phase_epochs_before: int = 0, end_epoch: int = 0, last_phase: bool = True,
                 report_model: keras.Model | None = None):
        super().__init__()
        self.report_model = report_model  # the full model when only its head trains (on cached features)
        self.phase = phase
        self.on_epoch = on_epoch
        self.history = history
        self.first_epoch = first_epoch  # global index of this fit's first epoch
        self.phase_epochs_before = phase_epochs_before  # epochs of this phase run before (a resumed trial)
        self.end_epoch = end_epoch
        self.last_phase = last_phase

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        full = self.report_model or self.model
        loss = float(logs.get("loss", math.nan))
        if not math.isfinite(loss):
            raise NonFiniteLossError(f"training loss became {loss} in epoch {epoch + 1}; lower the learning rate")
        metrics = {
            "epoch": epoch + 1,
            "phase": self.phase.name,
            "loss": loss,
            "accuracy": float(logs["accuracy"]),
            "val_loss": float(logs["val_loss"]),
            "val_accuracy": float(logs["val_accuracy"]),
            "learning_rate": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
            "params": int(full.count_params()),
            "trainable_params": int(sum(math.prod(w.shape) for w in full.trainable_weights)),
            # For resuming from this epoch's checkpoint (ResumePoint). EarlyStopping, earlier in the
            # callback list, has already set stop_training when this is the phase's last epoch.
            "phase_epoch": self.phase_epochs_before + epoch + 1 - self.first_epoch,
            "final": self.last_phase and (bool(self.model.stop_training) or epoch + 1 >= self.end_epoch),
        }
        self.history.append(metrics)
        if self.on_epoch is not None:
            self.on_epoch(metrics, full)


def train_trial(
    hparams: Mapping[str, Any],
    data: PreparedDataset,
    settings: TrainSettings,
    on_epoch: EpochCallback | None = None,
    resume: ResumePoint | None = None,
) -> tuple[keras.Model, list[dict[str, Any]]]:
    """Train one configuration; ``on_epoch(metrics, model)`` runs after every epoch.

    Adam or AdamW on sparse categorical cross-entropy (the same loss as categorical
    cross-entropy on one-hot labels; with MixUp or CutMix the training labels are one-hot and mixed, and categorical
    cross-entropy trains on them: :func:`benchmarks.augmentation.label_cross_entropy`), the learning rate halved
    when validation loss stalls, early stopping on validation loss. A pretrained backbone that stays frozen on unaugmented
    images runs once: the head trains on its cached features (:mod:`benchmarks.features`).
    ``resume`` continues a checkpointed trial from its next epoch (the returned history holds the new
    epochs only); within its phase it keeps the checkpoint's optimizer state and learning rate, while
    the early-stopping and plateau counters start afresh.
    Raises :class:`NonFiniteLossError` if the loss diverges.
    """
    keras.utils.set_random_seed(settings.seed)
    batch_size = value(hparams, "batch_size")
    augmentation = build_augmentation(value(hparams, "augmentation"), settings.image_size, settings.seed)
    train = make_dataset(
        data.train,
        image_size=settings.image_size,
        batch_size=batch_size,
        training=True,
        augmentation=augmentation,
        seed=settings.seed,
        num_classes=data.num_classes,  # one-hot (mixed) labels when the augmentation mixes them
    )
    validation = make_dataset(
        data.validation, image_size=settings.image_size, batch_size=max(batch_size, settings.eval_batch_size),
        training=False,
    )
    phases = [phase for phase in plan_phases(hparams, settings) if phase.epochs > 0]
    if resume is None:
        model = build_model(hparams, num_classes=data.num_classes, image_size=settings.image_size, weights=settings.weights)
        done, first, into = 0, 0, 0
    else:
        model, done, into = resume.model, resume.epoch, resume.phase_epoch
        first = next((i for i, phase in enumerate(phases) if phase.name == resume.phase), None)
        if first is None:
            raise ValueError(f"cannot resume phase {resume.phase!r}: this trial's phases are {[p.name for p in phases]}")
    fit_model = model
    if uses_feature_cache(hparams, settings, phases):
        fit_model, train, validation = head_training_data(
            model, hparams, data, settings, batch_size=batch_size, eval_batch_size=max(batch_size, settings.eval_batch_size)
        )

    history: list[dict[str, Any]] = []
    for index in range(first, len(phases)):
        phase = phases[index]
        before = into if index == first else 0
        epochs = phase.epochs - before
        if epochs <= 0:
            continue
        if phase.unfrozen_layers:
            set_unfrozen_layers(backbone_of(model), phase.unfrozen_layers)
        # A resumed phase keeps the checkpoint's optimizer: its moments and any learning rate already reduced.
        optimizer = model.optimizer if before and getattr(model, "optimizer", None) is not None else None
        # Keywords: Keras 3's third positional argument of compile() is loss_weights.
        compile_args = dict(**_loss_and_metrics(hparams), jit_compile=settings.jit_compile,
                            steps_per_execution=settings.steps_per_execution)
        model.compile(
            optimizer=optimizer or make_optimizer(value(hparams, "optimizer"), phase.learning_rate), **compile_args
        )
        if fit_model is not model:
            # The head shares the full model's optimizer (and weights), so a checkpoint of the full model holds its state.
            fit_model.compile(optimizer=model.optimizer, **compile_args)
        ran = len(history)
        fit_model.fit(
            train,
            validation_data=validation,
            initial_epoch=done,
            epochs=done + epochs,
            verbose=0,
            callbacks=[
                keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=max(1, settings.patience // 2)),
                keras.callbacks.EarlyStopping("val_loss", patience=settings.patience),
                _EpochReporter(phase, on_epoch, history, first_epoch=done, phase_epochs_before=before,
                               end_epoch=done + epochs, last_phase=index == len(phases) - 1, report_model=model),
            ],
        )
        done += len(history) - ran
    return model, history
