"""tensorflow-datasets image classification, with per-dataset split protocols.

A dataset that is not prepared in its data dir must be downloaded: its download hosts are tried first (a TCP
connection, seconds), so that no network is a one-line error at once, not minutes of tfds's retries.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
import os

import numpy as np

from benchmarks.datasets._network import address, unreachable
from benchmarks.datasets._types import PreparedDataset, RecordSource, Split, carve
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

# How a tfds name is written, for the errors about names that are not.
_NAME_FORM = "dataset[/config][:x.y.z], e.g. cifar10, cifar10:3.0.2 or oxford_flowers102"


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
    """Every encoded image of ``split`` in this process: only for mock data, which no other process can read."""
    import tensorflow_datasets as tfds

    ds = builder.as_dataset(split=split, decoders={image_key: tfds.decode.SkipDecoding()})
    items: list[bytes] = []
    labels: list[np.ndarray] = []
    for batch in ds.batch(4096).as_numpy_iterator():
        items.extend(batch[image_key].tolist())
        labels.append(batch[label_key])
    return Split(np.array(items, dtype=object), np.concatenate(labels).astype(np.int64), "bytes")


def _records(builder, split: str, image_key: str):
    """``split``'s examples in the records' own order (the same in every process), each with its ``tfds_id``,
    the image left encoded."""
    import tensorflow_datasets as tfds

    return builder.as_dataset(split=split, decoders={image_key: tfds.decode.SkipDecoding()}, shuffle_files=False,
                              read_config=tfds.ReadConfig(add_tfds_id=True))


def _describe_split(builder, name: str, split: str, image_key: str, label_key: str) -> Split:
    """``split`` as its examples' ``tfds_id`` and labels: the trials read the images from the records themselves.

    Only the labels and ids are kept here (the images pass by, one batch at a time), so the driver holds a
    few bytes an example whatever the dataset's size.
    """
    ids: list[bytes] = []
    labels: list[np.ndarray] = []
    ds = _records(builder, split, image_key).map(lambda e: {"id": e["tfds_id"], "label": e[label_key]})
    for batch in ds.batch(4096).as_numpy_iterator():
        ids.extend(batch["id"].tolist())
        labels.append(batch["label"])
    shape = builder.info.features[image_key].shape
    source = RecordSource(name, str(builder.data_dir_root), split, image_key, label_key,
                          tuple(shape) if shape else None)
    return Split(np.array(ids, dtype=object), np.concatenate(labels).astype(np.int64), "records", source=source)


def read_records(split: Split):
    """A ``tf.data`` dataset of ``(encoded image, label)`` of ``split`` (``kind == "records"``), read from its
    source's records in their own order, which is ``split.items``' order: an example not in the split is skipped."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    source = split.source
    builder = tfds.builder(source.name, data_dir=source.data_dir)
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(split.items.tolist(), tf.string),
                                            tf.constant(split.labels, tf.int64)), default_value=-1)
    ds = _records(builder, source.split, source.image_key)
    ds = ds.map(lambda e: (e[source.image_key], table.lookup(e["tfds_id"])), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.filter(lambda image, label: label >= 0)


def encoded_bytes_per_example(split: Split) -> float:
    """The average size of one encoded image of ``split`` (tfds's record sizes, or the bytes held), 0 for files."""
    if split.kind == "records":
        import tensorflow_datasets as tfds

        info = tfds.builder(split.source.name, data_dir=split.source.data_dir).info.splits[split.source.split]
        return info.num_bytes / max(info.num_examples, 1)
    if split.kind == "bytes" and len(split):
        return float(np.mean([len(item) for item in split.items[:1000]]))
    return 0.0


def _parsed(name: str):
    """tfds's reading of ``name``: its dataset name and builder arguments; a malformed name is a one-line error."""
    from tensorflow_datasets.core import naming

    try:
        dataset, kwargs = naming.parse_builder_name_kwargs(name)
    except ValueError:
        raise UserError(f"{name!r} is not a tensorflow-datasets name: write {_NAME_FORM}") from None
    if dataset.namespace and dataset.namespace in _known_names():  # "cifar10:abc" reads as a community dataset
        raise UserError(f"{name!r} has a version that is not x.y.z: write {_NAME_FORM}")
    return dataset, kwargs


def _known_names() -> list[str]:
    """The datasets tensorflow-datasets itself defines (community lists would need the network)."""
    import tensorflow_datasets as tfds

    return tfds.list_builders(with_community_datasets=False)


def _unbuildable(name: str, dataset: str, kwargs: dict) -> str:
    """Why tfds could not make a builder for ``name``: an unknown config, version or option, and the fix."""
    import tensorflow_datasets as tfds

    cls = tfds.builder_cls(dataset)
    configs = [c.name for c in cls.BUILDER_CONFIGS or ()]
    versions = [str(v) for v in (cls.VERSION, *cls.SUPPORTED_VERSIONS)]
    if "config" in kwargs and kwargs["config"] not in configs:
        fix = f"its configs are {', '.join(configs)}: write {dataset}/{configs[0]}" if configs else f"it has none: write {dataset}"
        return f"tfds dataset {dataset!r} has no config {kwargs['config']!r}; {fix}"
    if "version" in kwargs:
        return (
            f"tfds dataset {dataset!r} has no version {kwargs['version']}; it has {', '.join(versions)}: "
            f"write {dataset} for the latest or {dataset}:{versions[0]}"
        )
    options = sorted(set(kwargs) - {"config", "version"})
    return f"tfds dataset {dataset!r} does not take the option(s) {', '.join(options)} given in {name!r}: write {_NAME_FORM}"


def _builder(name: str, data_dir: str | None):
    """tfds's builder for ``name``; a malformed name or an unknown dataset, config or version is a one-line error."""
    import tensorflow_datasets as tfds

    dataset, kwargs = _parsed(name)
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        close = difflib.get_close_matches(name.lower(), _known_names(), n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UserError(
            f"unknown dataset {name!r}: not a folder, a .zip, a built-in name (digits, hymenoptera, fruits360) "
            f"or a tensorflow-datasets name; {hint}see `python -m runners.search --list-datasets`"
        ) from None
    except (AssertionError, ValueError, TypeError):  # tfds's way of saying so for configs, versions and options
        if dataset.namespace:
            raise
        raise UserError(_unbuildable(name, dataset.name, kwargs)) from None


def _cached(builder, url: str, info) -> bool:
    """Whether tfds would take ``url``'s file from its download cache (or manual folder), not the network."""
    from etils import epath
    from tensorflow_datasets.core.download import resource

    downloads = epath.Path(builder.data_dir_root) / "downloads"
    if getattr(info, "filename", None) and (downloads / "manual" / info.filename).exists():
        return True
    names = {resource.get_dl_fname(url, getattr(info, "checksum", None)), resource.get_dl_fname(url)}
    return any(resource.is_locally_cached(d / n) for d in (downloads / builder.name, downloads) for n in names)


def _mocked(builder) -> bool:
    """Whether tfds's download is ``tfds.testing.mock_data``'s no-op (random data, no network)."""
    return getattr(type(builder).download_and_prepare, "__module__", "").startswith("tensorflow_datasets.testing")


def _download_problem(builder, name: str) -> str | None:
    """Why ``name`` cannot be had now, with the fix: it must be downloaded and none of its download hosts answers.

    None when it is prepared, or every file it needs is in tfds's download cache, or a host answers, or tfds
    gives no download URLs to try (then tfds decides, as it always did).
    """
    if builder.is_prepared() or _mocked(builder):
        return None
    try:
        infos = dict(builder.url_infos or {})
        needed = [url for url, info in infos.items() if not _cached(builder, url, info)]
    except Exception:  # no checksums to read: tfds decides, as before
        return None
    addresses = [address(url) for url in needed]
    if not addresses or None in addresses:
        return None  # nothing to download, or a kind of URL this check does not know
    why = unreachable(list(dict.fromkeys(addresses)))
    if why is None:
        return None
    root = str(builder.data_dir_root)
    command = f"import tensorflow_datasets as tfds; tfds.builder({name!r}, data_dir={root!r}).download_and_prepare()"
    return (
        f"tfds dataset {name!r} is not prepared in {root} and cannot be downloaded: could not connect to {why}; "
        f'prepare it on a machine with network (python -c "{command}"), then copy that folder here and pass it '
        f"with --data-dir {root}"
    )


def _absolute(data_dir: str | None) -> str | None:
    """The user's folder, whatever directory a later process runs in."""
    return None if data_dir is None else os.path.abspath(os.path.expanduser(data_dir))


def tfds_unavailable(name: str, data_dir: str | None = None) -> str | None:
    """Why tfds dataset ``name`` cannot be had now (not prepared in ``data_dir`` and no download host answers).

    None when it can; a malformed or unknown name is a :class:`UserError`, as in :func:`load_tfds`.
    """
    return _download_problem(_builder(name, _absolute(data_dir)), name)


def load_tfds(
    name: str, *, data_dir: str | None = None, validation_fraction: float = 0.1, seed: int = 0
) -> PreparedDataset:
    """Prepare (download on first use) and describe a tfds image-classification dataset.

    Each split is its examples' ids and labels (:func:`_describe_split`); the trials read the images from the
    prepared records in ``data_dir`` (:func:`read_records`), which every node of a cluster must see.
    """
    import tensorflow_datasets as tfds

    builder = _builder(name, _absolute(data_dir))

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

    if problem := _download_problem(builder, name):
        raise UserError(problem)
    try:
        builder.download_and_prepare()
    except Exception as error:  # network, manual-download datasets, disk: all user-fixable
        raise UserError(
            f"could not prepare tfds dataset {name!r} ({type(error).__name__}: {str(error).splitlines()[0][:200]}); "
            "check the network, or prepare it elsewhere and pass that folder with --data-dir"
        ) from None

    protocol = _protocol(name, set(builder.info.splits.keys()))
    if _mocked(builder):  # mock data exists in this process only: its images travel with the dataset
        read = functools.partial(_read_split, builder, image_key=image_key, label_key=label_key)
    else:
        read = functools.partial(_describe_split, builder, name, image_key=image_key, label_key=label_key)
    train = read(protocol.train)
    test = read(protocol.test)
    if protocol.validation is None:
        train, validation = carve(train, validation_fraction, seed, "validation")
    else:
        validation = read(protocol.validation)

    class_names = tuple(features[label_key].names)
    data = PreparedDataset(name, class_names, train, validation, test)
    data.check()
    return data
