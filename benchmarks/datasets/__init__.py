"""Datasets and their protocols: every source resolves to a :class:`PreparedDataset`.

``load_dataset`` accepts the embedded ``digits``, the named downloads
(``hymenoptera``, ``fruits360``), a folder or ``.zip`` of class subfolders,
or any tensorflow-datasets image-classification name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from benchmarks.datasets._digits import load_digits_dataset
from benchmarks.datasets._downloads import ARCHIVES, archive_unavailable, fetch_archive
from benchmarks.datasets._folders import IMAGE_EXTENSIONS, default_cache_dir, load_image_folder, shown_list
from benchmarks.datasets._tfds import PROTOCOLS, encoded_bytes_per_example, load_tfds, read_records, tfds_unavailable
from benchmarks.datasets._types import SPLITS, STORAGES, PreparedDataset, RecordSource, Split, limit_all, native_size, split_fingerprint
from benchmarks.errors import UserError

__all__ = [
    "ARCHIVES",
    "DEFAULT_DATASET",
    "IMAGE_EXTENSIONS",
    "SPLITS",
    "PreparedDataset",
    "RecordSource",
    "STORAGES",
    "Split",
    "dataset_kind",
    "unavailable",
    "default_cache_dir",
    "encoded_bytes_per_example",
    "list_datasets",
    "load_dataset",
    "read_records",
    "shown_list",
    "split_fingerprint",
]

DEFAULT_DATASET = "digits"


def list_datasets() -> dict[str, str]:
    """Built-in names and what they are; any other tfds name or folder works too."""
    named = {"digits": "scikit-learn's 8x8 digits, 10 classes, embedded (the default; no download)"}
    named.update({a.name: a.description + " (downloaded on first use)" for a in ARCHIVES.values()})
    named.update({n: "tensorflow-datasets (downloaded and prepared on first use, or from --data-dir)" for n in PROTOCOLS})
    return named


def _looks_like_path(spec: str) -> bool:
    return spec.lower().endswith(".zip") or spec.startswith((".", "/", "~"))


def dataset_kind(spec: str) -> str:
    """How :func:`load_dataset` reads ``spec``: ``digits``, ``archive`` (a named download), ``folder`` or ``tfds``."""
    if spec == "digits":
        return "digits"
    if spec in ARCHIVES:
        return "archive"
    if Path(spec).expanduser().exists() or _looks_like_path(spec):
        return "folder"
    return "tfds"


def unavailable(spec: str, data_dir: str | None = None) -> str | None:
    """Why ``spec`` cannot be loaded right now, decided in seconds (None if it can).

    A folder that does not exist; a named archive not yet downloaded whose host does not answer; a tfds dataset
    not prepared in ``data_dir`` whose download hosts do not answer (a malformed or unknown name is a
    :class:`UserError`). Nothing is downloaded.
    """
    kind = dataset_kind(spec)
    if kind == "folder":
        return None if Path(spec).expanduser().exists() else f"no such folder or zip {spec}"
    if kind == "archive":
        return archive_unavailable(spec)
    if kind == "tfds":
        return tfds_unavailable(spec, data_dir)
    return None


def load_dataset(
    spec: str = DEFAULT_DATASET,
    *,
    data_dir: str | None = None,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    max_examples: Sequence[int | None] = (None, None, None),
    seed: int = 0,
) -> PreparedDataset:
    """Resolve ``spec`` to three labelled splits, limited to ``max_examples`` (train, val, test)."""
    if not 0 < validation_fraction < 1 or not 0 < test_fraction < 1 or validation_fraction + test_fraction >= 1:
        raise UserError("--val-fraction and --test-fraction must be between 0 and 1 and sum to less than 1")
    folder_options = dict(validation_fraction=validation_fraction, test_fraction=test_fraction, seed=seed)
    kind = dataset_kind(spec)
    if kind == "digits":
        data = load_digits_dataset(**folder_options)
    elif kind == "archive":
        data = load_image_folder(fetch_archive(spec), name=spec, **folder_options)
    elif kind == "folder":
        data = load_image_folder(spec, **folder_options)
    else:
        data = load_tfds(spec, data_dir=data_dir, validation_fraction=validation_fraction, seed=seed)
    data = limit_all(data, max_examples, seed)
    data.check()
    return dataclasses.replace(data, native_size=native_size(data.train, seed=seed))
