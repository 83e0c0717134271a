"""The records every dataset source resolves to (:class:`Split`, :class:`PreparedDataset`) and how splits are cut.

:func:`carve` splits a validation or test split off another, :func:`limit` caps a split without losing a
class; both are stratified and seeded. Trial workers unpickle these records, so at import the module needs
only NumPy and ``benchmarks.errors``; scikit-learn and Pillow are imported inside the functions that use them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from collections.abc import Sequence

import numpy as np

from benchmarks.errors import UserError

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")


#: How the input pipeline holds a split's decoded images (``benchmarks.pipeline``): ``process``, cached in the
#: reading process's own memory; ``node``, one memory-mapped copy per node shared by every trial there
#: (``benchmarks.decoded``); ``stream``, decoded from the source every epoch, nothing cached.
STORAGES = ("process", "node", "stream")


@dataclasses.dataclass(frozen=True)
class RecordSource:
    """A tensorflow-datasets split whose prepared records the trials read themselves, in a data dir every node sees.

    ``image_shape`` is the image feature's shape (None where a side varies).
    """

    name: str
    data_dir: str | None
    split: str
    image_key: str
    label_key: str
    image_shape: tuple[int | None, ...] | None = None

    def describe(self) -> str:
        """Where the records are: ``DATA_DIR/NAME (split SPLIT)``."""
        return f"{self.data_dir or 'the default tfds data dir'}/{self.name} (split {self.split})"


@dataclasses.dataclass(frozen=True)
class Split:
    """The examples of one split, not yet decoded.

    ``items`` holds encoded image bytes (``kind == "bytes"``), image file paths (``kind == "files"``), or the
    ``tfds_id`` of each example of a tfds split's prepared records (``kind == "records"``, read from ``source``);
    the input pipeline decodes them all the same way. Keeping splits undecoded, and a tfds dataset's images in
    its records, makes a prepared dataset small enough to ship to every trial through Ray's object store.
    ``storage`` (one of :data:`STORAGES`) says how the pipeline holds the decoded images.
    """

    items: np.ndarray
    labels: np.ndarray
    kind: str  # "bytes", "files" or "records"
    source: RecordSource | None = None
    storage: str = "process"

    def __post_init__(self) -> None:
        if self.kind not in ("bytes", "files", "records"):
            raise ValueError(f"unknown split kind {self.kind!r}")
        if (self.kind == "records") != (self.source is not None):
            raise ValueError("a split of tfds records needs their source, and only it has one")
        if self.storage not in STORAGES:
            raise ValueError(f"unknown split storage {self.storage!r}")
        if len(self.items) != len(self.labels):
            raise ValueError("items and labels differ in length")

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices: np.ndarray) -> Split:
        """The examples at ``indices`` (an index array or boolean mask), as a split of the same kind and source."""
        return dataclasses.replace(self, items=self.items[indices], labels=self.labels[indices])

    def stored(self, storage: str) -> Split:
        """This split with its decoded images held as ``storage`` says (one of :data:`STORAGES`)."""
        return dataclasses.replace(self, storage=storage)


@dataclasses.dataclass(frozen=True)
class PreparedDataset:
    """A dataset resolved to three labelled splits and its class names."""

    name: str
    class_names: tuple[str, ...]
    train: Split
    validation: Split
    test: Split
    native_size: int | None = None  # the images' own side in pixels (median longer side), where known

    @property
    def num_classes(self) -> int:
        """How many class names the dataset has, whether or not every split holds each of them."""
        return len(self.class_names)

    def split(self, name: str) -> Split:
        """The split called ``name`` (one of :data:`SPLITS`); a KeyError for any other name."""
        if name not in SPLITS:
            raise KeyError(f"unknown split {name!r}; expected one of {SPLITS}")
        return getattr(self, name)

    def describe(self) -> str:
        """One line for the log: ``name: N classes, a/b/c train/validation/test images``."""
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


def _file_identity(path: str | bytes | os.PathLike) -> bytes:
    """``path`` with its size and mtime, or with ``missing`` where it cannot be stat'ed (gone since the scan)."""
    try:
        stat = os.stat(path)
        state = f"{stat.st_size}\0{stat.st_mtime_ns}"
    except (OSError, ValueError):  # vanished, unreadable folder, a NUL in the name: the pipeline skips it later
        state = "missing"
    return os.fsencode(path) + f"\0{state}".encode()


def split_fingerprint(split: Split) -> str:
    """A digest of a split's examples and labels: image bytes, file paths with their size and mtime, or the ids of
    tfds records with their source (what the feature cache and the node's decoded copies are keyed by)."""
    digest = hashlib.sha256(split.kind.encode())
    digest.update(np.ascontiguousarray(split.labels, dtype=np.int64).tobytes())
    digest.update(repr(split.source).encode() if split.source is not None else b"")
    for item in split.items:
        if split.kind == "files":
            item = _file_identity(item)
        digest.update(len(item).to_bytes(8, "little"))
        digest.update(item)
    return digest.hexdigest()


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


def _stratified_subset(labels: np.ndarray, keep: int, seed: int) -> np.ndarray | None:
    """Sorted indices of scikit-learn's stratified subset of ``keep`` examples, or None where it would miss a class.

    Its split needs every class twice and on both sides of the cut, and it rounds small classes' shares
    down to none (``[1000, 2, 2]`` kept to 3 is ``[3, 0, 0]``).
    """
    counts = np.bincount(labels)
    n_classes = int((counts > 0).sum())
    if (counts[counts > 0] < 2).any() or keep < n_classes or len(labels) - keep < n_classes:
        return None
    from sklearn.model_selection import train_test_split  # here: trial workers unpickle this module, never limit

    kept, _ = train_test_split(np.arange(len(labels)), train_size=keep, stratify=labels, random_state=seed)
    return np.sort(kept) if len(np.unique(labels[kept])) == n_classes else None


def _per_class_counts(counts: np.ndarray, keep: int) -> np.ndarray:
    """How many of each class to keep, ``keep`` in all: one of every class, the rest in proportion to what is left.

    Largest remainders round the proportional shares, so the counts sum to ``keep`` exactly and no
    class gets more than it has (``sum(counts > 0) <= keep <= counts.sum()``).
    """
    ones = (counts > 0).astype(np.int64)
    spare = counts - ones
    share = (keep - ones.sum()) * spare / max(int(spare.sum()), 1)
    extra = np.floor(share).astype(np.int64)
    left = int(keep - ones.sum() - extra.sum())
    extra[np.argsort(extra - share, kind="stable")[:left]] += 1  # the largest fractional parts
    return ones + extra


def _proportional_subset(labels: np.ndarray, keep: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded subset of ``keep`` examples with :func:`_per_class_counts` of each class."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(labels)
    chosen = [
        rng.choice(np.flatnonzero(labels == c), n, replace=False)
        for c, n in enumerate(_per_class_counts(counts, keep))
        if n
    ]
    return np.sort(np.concatenate(chosen))


def native_size(split: Split, sample: int = 200, seed: int = 0) -> int | None:
    """The median longer side of up to ``sample`` images of ``split``, from their headers (Pillow reads no pixels).

    None where no image opens. A custom CNN trains at this size when it is below the budget's
    (``benchmarks.resolution.trial_image_size``).
    """
    import io

    from PIL import Image

    if len(split) == 0:
        return None
    if split.kind == "records":  # the images are in the records; tfds's feature says their size where fixed
        sides = [side for side in (split.source.image_shape or ())[:2] if side]
        return max(sides) if len(sides) == 2 else None
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(split), min(sample, len(split)), replace=False)
    sides = []
    for item in split.items[chosen]:
        try:
            with Image.open(item if split.kind == "files" else io.BytesIO(item)) as image:
                sides.append(max(image.size))
        except (OSError, ValueError):  # unreadable here: the scan or the pipeline says so
            continue
    return int(np.median(sides)) if sides else None


def limit(split: Split, max_examples: int | None, seed: int, what: str = "a") -> Split:
    """A seeded subset of at most ``max_examples`` examples that keeps every class; caps never fail.

    Stratified by scikit-learn's ``train_test_split`` where that keeps every class (see
    :func:`_stratified_subset`); otherwise, a 102-class split of 1,020 capped at 1,000 say, every class
    keeps one example and the rest of the cap is shared in proportion to what each class has left,
    drawn with ``seed`` (:func:`_proportional_subset`). A cap below the number of classes is raised to one
    example of every class, with a warning: :meth:`PreparedDataset.check` needs every class in every
    split, and a subset without some classes would only fail there. ``what`` names the split in the warning.
    """
    if max_examples is None or len(split) <= max_examples:
        return split
    n_classes = len(np.unique(split.labels))
    if max_examples < n_classes:
        log.warning(
            "the budget keeps %d images per split but %s split has %d classes; keeping one image of each (%d)",
            max_examples, what, n_classes, n_classes,
        )
        max_examples = n_classes
    kept = _stratified_subset(split.labels, max_examples, seed)
    return split.take(kept if kept is not None else _proportional_subset(split.labels, max_examples, seed))


def limit_all(data: PreparedDataset, max_examples: Sequence[int | None], seed: int) -> PreparedDataset:
    """Apply per-split example limits (train, validation, test)."""
    limited = {s: limit(data.split(s), n, seed, f"the {s}") for s, n in zip(SPLITS, max_examples)}
    return dataclasses.replace(data, **limited)
