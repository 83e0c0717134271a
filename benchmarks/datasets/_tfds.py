"""tensorflow-datasets image classification, with per-dataset split protocols."""

from __future__ import annotations

import dataclasses
import difflib
import logging

import numpy as np

from benchmarks.datasets._types import PreparedDataset, Split, carve
from benchmarks.errors import UserError

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Protocol:
    """Which tfds splits serve as train, validation and test (None: carve from train)."""

    train: str
    validation: str | None
    test: str


# Datasets whose protocol is not just their own train/validation/test splits.
PROTOCOLS: dict[str, Protocol] = {
    "cifar10": Protocol(train="train", validation=None, test="test"),
    # Flowers-102's official train and validation splits have 10 images per class and
    # test has 6,149: the usual transfer-learning protocol trains on the large split.
    "oxford_flowers102": Protocol(train="test", validation="validation", test="train"),
}


def _protocol(name: str, available: set[str]) -> Protocol:
    base = name.split(":")[0].split("/")[0]
    if base in PROTOCOLS:
        return PROTOCOLS[base]
    if "train" not in available:
        raise UserError(f"tfds dataset {name!r} has no 'train' split (it has {sorted(available)}); it cannot be searched")
    validation = next((s for s in ("validation", "valid", "val") if s in available), None)
    test = "test" if "test" in available else None
    if test is None:
        raise UserError(f"tfds dataset {name!r} has no 'test' split (it has {sorted(available)}); use an image folder instead")
    return Protocol(train="train", validation=validation, test=test)


def _read_split(builder, split: str, image_key: str, label_key: str) -> Split:
    import tensorflow_datasets as tfds

    ds = builder.as_dataset(split=split, decoders={image_key: tfds.decode.SkipDecoding()})
    items: list[bytes] = []
    labels: list[np.ndarray] = []
    for batch in ds.batch(4096).as_numpy_iterator():
        items.extend(batch[image_key].tolist())
        labels.append(batch[label_key])
    return Split(np.array(items, dtype=object), np.concatenate(labels).astype(np.int64), "bytes")


def load_tfds(
    name: str, *, data_dir: str | None = None, validation_fraction: float = 0.1, seed: int = 0
) -> PreparedDataset:
    """Prepare (download on first use) and read a tfds image-classification dataset."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        close = difflib.get_close_matches(name, tfds.list_builders(), n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UserError(
            f"unknown dataset {name!r}: not a folder, a .zip, a built-in name (digits, hymenoptera, fruits360) "
            f"or a tensorflow-datasets name; {hint}see `python -m runners.search --list-datasets`"
        ) from None

    features = builder.info.features
    keys = builder.info.supervised_keys or ("image", "label")
    image_key, label_key = keys[0], keys[1]
    if (
        not isinstance(features, tfds.features.FeaturesDict)
        or image_key not in features
        or not isinstance(features[image_key], tfds.features.Image)
        or not isinstance(features[label_key], tfds.features.ClassLabel)
    ):
        raise UserError(f"tfds dataset {name!r} is not image classification (an Image and a ClassLabel feature)")

    try:
        builder.download_and_prepare()
    except Exception as error:  # network, manual-download datasets, disk: all user-fixable
        raise UserError(
            f"could not prepare tfds dataset {name!r} ({type(error).__name__}: {str(error).splitlines()[0][:200]}); "
            "check the network, or prepare it elsewhere and pass that folder with --data-dir"
        ) from None

    protocol = _protocol(name, set(builder.info.splits.keys()))
    train = _read_split(builder, protocol.train, image_key, label_key)
    test = _read_split(builder, protocol.test, image_key, label_key)
    if protocol.validation is None:
        train, validation = carve(train, validation_fraction, seed, "validation")
    else:
        validation = _read_split(builder, protocol.validation, image_key, label_key)

    class_names = tuple(features[label_key].names)
    data = PreparedDataset(name, class_names, train, validation, test)
    data.check()
    return data
