"""Reference recipes: published single-configuration setups shipped as fixed spaces (nothing is searched).

A recipe's trial config is its hyperparameters as constants; it runs ``num_samples``
trials (one per variant) and its trials are stored with ``is_reference``.

Budget rule: the recipe's hyperparameters (backbone, head, optimizer, learning rate,
batch size, augmentation) always apply. Its own image size, epochs and early-stopping
patience apply on the ``full`` budget only; on ``smoke`` and ``small`` the budget's
values bound the runtime (``--epochs`` and ``--image-size`` override both). Its
``split`` (validation, test fractions) applies to folder datasets unless
``--val-fraction``/``--test-fraction`` are given.

Published figures are fractions under the keys of :data:`PUBLISHED_METRICS`, plus an
optional ``note`` (text), and are compared with :func:`reproduced_figures` of a trial.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import optuna

from search_spaces._space import SearchSpace

__all__ = ["PUBLISHED_METRICS", "FixedSuggest", "fixed_space", "reproduced_figures", "train_accuracy_at_best"]

#: Published figure keys and their labels; precision, recall and F1 compare with our macro averages.
PUBLISHED_METRICS: dict[str, str] = {
    "train_accuracy": "Train accuracy",
    "val_accuracy": "Validation accuracy",
    "test_accuracy": "Test accuracy",
    "precision": "Test precision (macro)",
    "recall": "Test recall (macro)",
    "f1": "Test F1 (macro)",
}

# Hyperparameters that only mean something for a pretrained backbone.
_PRETRAINED_ONLY = ("unfrozen_layers", "head_first")


@dataclasses.dataclass(frozen=True)
class FixedSuggest:
    """The define-by-run function of a fixed space: suggests nothing, returns variant ``trial.number``.

    A class, not a closure: Ray's OptunaSearch pickles its space with the experiment state.
    """

    variants: tuple[dict[str, Any], ...]

    def __call__(self, trial: optuna.Trial, pretrained: bool = True) -> dict[str, Any]:
        config = dict(self.variants[trial.number % len(self.variants)])
        if not pretrained:  # without weights the whole backbone trains: nothing to unfreeze (as in the searches)
            for key in _PRETRAINED_ONLY:
                config.pop(key, None)
        return config


def fixed_space(
    name: str,
    description: str,
    variants: Sequence[Mapping[str, Any]],
    *,
    published: Mapping[str, Any],
    image_size: int | None = None,
    epochs: int | None = None,
    patience: int | None = None,
    split: tuple[float, float] | None = None,
    datasets: tuple[str, ...] = (),
    folder_names: tuple[str, ...] = (),
) -> SearchSpace:
    """A space that returns its variants' constants, one trial each (trial ``n`` gets variant ``n``).

    ``datasets`` (tfds names, named downloads) and ``folder_names`` (parts of a folder's or zip's name; ``"*"``
    for any other folder) make it the recipe ``--space reference`` picks for them.
    """
    variants = [dict(v) for v in variants]
    return SearchSpace(
        name=name,
        description=description,
        suggest=FixedSuggest(tuple(variants)),
        backbones=tuple(dict.fromkeys(v["backbone"] for v in variants)),
        num_samples=len(variants),
        published=dict(published),
        image_size=image_size,
        epochs=epochs,
        patience=patience,
        split=split,
        datasets=tuple(datasets),
        folder_names=tuple(folder_names),
    )


def train_accuracy_at_best(history: Sequence[Mapping[str, Any]]) -> float | None:
    """Training accuracy in the epoch of best validation accuracy (the epoch the stored figures come from)."""
    epochs = [h for h in history if h.get("val_accuracy") is not None and h.get("accuracy") is not None]
    if not epochs:
        return None
    return float(max(epochs, key=lambda h: h["val_accuracy"])["accuracy"])


def reproduced_figures(
    test: Mapping[str, Any] | None, val_accuracy: float | None, train_accuracy: float | None = None
) -> dict[str, float | None]:
    """A trial's figures under the published keys; ``test`` is ``classification_metrics`` output (or part of it)."""
    test = test or {}
    return {
        "train_accuracy": train_accuracy,
        "val_accuracy": val_accuracy,
        "test_accuracy": test.get("accuracy"),
        "precision": test.get("precision_macro"),
        "recall": test.get("recall_macro"),
        "f1": test.get("f1_macro"),
    }
