from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from benchmarks.errors import UserError

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class Split:
    """The examples of one split, not yet decoded.

    ``items`` holds either encoded image bytes (``kind == "bytes"``) or image
    file paths (``kind == "files"``); the input pipeline decodes both the same
    way. Keeping splits undecoded makes a prepared dataset small enough to
    ship to every trial through Ray's object store.
    """

    items: np.ndarray
    labels: np.ndarray
    kind: str  # "bytes" or "files"

    def __post_init__(self) -> None:
        if self.kind not in ("bytes", "files"):
            raise ValueError(f"unknown split kind {self.kind!r}")
        if len(self.items) != len(self.labels):
            raise ValueError("items and labels differ in length")

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices: np.ndarray) -> Split:
        return Split(self.items[indices], self.labels[indices], self.kind)


@dataclasses.dataclass(frozen=True)
class PreparedDataset:
    """A dataset resolved to three labelled splits and its class names."""

    name: str
    class_names: tuple[str, ...]
    train: Split
    validation: Split
    test: Split

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def split(self, name: str) -> Split:
        if name not in SPLITS:
            raise KeyError(f"unknown split {name!r}; expected one of {SPLITS}")
        return getattr(self, name)

    def describe(self) -> str:
        sizes = "/".join(str(len(self.split(s))) for s in SPLITS)
        return f"{self.name}: {self.num_classes} classes, {sizes} train/validation/test images"

    def check(self) -> None:
        """Fail with a one-line error if a split misses a class or the dataset has one class."""
        if self.num_classes < 2:
            raise UserError(
                f"dataset {self.name!r} has {self.num_classes} class; "
                "image classification needs at least 2 classes (one subfolder per class)"
            )
        for split_name in SPLITS:
            present = set(np.unique(self.split(split_name).labels).tolist())
            missing = [self.class_names[c] for c in range(self.num_classes) if c not in present]
            if missing:
                shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
                raise UserError(
                    f"the {split_name} split of {self.name!r} has no images of "
                    f"{len(missing)} class(es): {shown}; add images there or let the "
                    "split be carved from train by removing that split folder"
                )


def carve(split: Split, fraction: float, seed: int, what: str) -> tuple[Split, Split]:
    """Split off ``fraction`` of ``split``, stratified by label and seeded: (rest, carved)."""
    labels = split.labels
    counts = np.bincount(labels)
    if (counts[counts > 0] < 2).any():
        raise UserError(
            f"cannot carve a stratified {what} split: some classes have a single image; "
            "add images or provide the split as its own folder"
        )
    n_classes = int((counts > 0).sum())
    n_carved = max(int(round(fraction * len(labels))), n_classes)
    if len(labels) - n_carved < n_classes:
        raise UserError(
            f"too few images ({len(labels)}) to carve a {what} split with every one of "
            f"{n_classes} classes on both sides; add images or lower the split fraction"
        )
    from sklearn.model_selection import train_test_split  # here: trial workers unpickle this module, never carve

    rest, carved = train_test_split(
        np.arange(len(labels)), test_size=n_carved, stratify=labels, random_state=seed
    )
    return split.take(np.sort(rest)), split.take(np.sort(carved))


def limit(split: Split, max_examples: int | None, seed: int) -> Split:
    """A stratified, seeded subset of at most ``max_examples`` examples."""
    if max_examples is None or len(split) <= max_examples:
        return split
    n_classes = len(np.unique(split.labels))
    if max_examples < n_classes:
        raise UserError(
            f"the budget keeps {max_examples} images per split but the dataset has "
            f"{n_classes} classes; use a larger --budget"
        )
    counts = np.bincount(split.labels)
    if (counts[counts > 0] < 2).any():
        rng = np.random.default_rng(seed)
        return split.take(np.sort(rng.choice(len(split), max_examples, replace=False)))
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        np.arange(len(split)), train_size=max_examples, stratify=split.labels, random_state=seed
    )
    return split.take(np.sort(keep))


def limit_all(data: PreparedDataset, max_examples: Sequence[int | None], seed: int) -> PreparedDataset:
    """Apply per-split example limits (train, validation, test)."""
    limited = {s: limit(data.split(s), n, seed) for s, n in zip(SPLITS, max_examples)}
    return dataclasses.replace(data, **limited)
