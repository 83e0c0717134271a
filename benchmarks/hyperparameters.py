"""The hyperparameter vocabulary: each hyperparameter a trial may have, declared once.

A hyperparameter's name, type, default, scale, label and short form live here; the spaces suggest through it
(:meth:`Hyperparameter.suggest`), the trainer reads a config through it (:func:`value`), the results store gives
each one a column, the progress lines and the report label it from here, and the importance analysis finds
its scale in the studies the spaces wrote. Adding a hyperparameter is one entry in :data:`HYPERPARAMETERS`.

>>> HYPERPARAMETERS["learning_rate"].log, HYPERPARAMETERS["learning_rate"].label
(True, 'LR')
>>> value({"backbone": "custom_cnn"}, "dropout"), value({"dropout": "0.25"}, "dropout")
(0.0, 0.25)
>>> describe({"learning_rate": 0.001, "batch_size": 32})
'lr=1.0e-03 bs=32'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["HYPERPARAMETERS", "Hyperparameter", "describe", "value"]


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: its type (``float``, ``int`` or ``str``), default, scale and how it is shown.

    ``short`` and ``fmt`` write it in a progress line (``lr=1.0e-03``); ``label`` heads its report column.
    """

    name: str
    type: type
    default: Any
    label: str
    short: str
    fmt: str = "{}"
    log: bool = False

    def suggest(self, trial, *args, **kwargs) -> Any:
        """Ask an Optuna trial for it: ``(low, high[, step])`` for a number, ``(choices)`` for a categorical.

        ``suggest(trial, [16, 32, 64])`` makes it categorical whatever its type; numbers get the declared scale.
        """
        if len(args) == 1 and isinstance(args[0], Sequence) and not isinstance(args[0], str):
            return trial.suggest_categorical(self.name, list(args[0]))
        if self.type is int:
            return trial.suggest_int(self.name, *args, log=self.log, **kwargs)
        if self.type is float:
            return trial.suggest_float(self.name, *args, log=self.log, **kwargs)
        raise TypeError(f"{self.name} takes choices: suggest(trial, [choices])")

    def show(self, config: Mapping[str, Any]) -> str | None:
        """``lr=1.0e-03`` for a config that has it, else None."""
        if config.get(self.name) is None:
            return None
        return f"{self.short}={self.fmt.format(config[self.name])}"


HYPERPARAMETERS: dict[str, Hyperparameter] = {
    h.name: h
    for h in (
        Hyperparameter("learning_rate", float, 1e-3, "LR", "lr", "{:.1e}", log=True),
        Hyperparameter("batch_size", int, 32, "Batch", "bs"),
        Hyperparameter("optimizer", str, "adam", "Optimizer", "opt"),
        Hyperparameter("dropout", float, 0.0, "Dropout", "dropout", "{:.2f}"),
        Hyperparameter("dense_units", int, 256, "Dense", "dense"),
        Hyperparameter("augmentation", str, "none", "Augment.", "aug"),
        Hyperparameter("unfrozen_layers", int, 0, "Unfrozen", "unfrozen"),
        Hyperparameter("depth", int, 3, "Depth", "depth"),
        Hyperparameter("width", int, 32, "Width", "width"),
    )
}


def value(config: Mapping[str, Any], name: str) -> Any:
    """``config[name]`` as its declared type, or its default where the config does not set it."""
    spec = HYPERPARAMETERS[name]
    raw = config.get(name)
    return spec.default if raw is None else spec.type(raw) if spec.type is not str else raw


def describe(config: Mapping[str, Any]) -> str:
    """The hyperparameters a config sets, in declaration order: ``lr=1.0e-03 bs=32 dropout=0.20``."""
    return " ".join(part for part in (h.show(config) for h in HYPERPARAMETERS.values()) if part)
