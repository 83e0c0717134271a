"""One decoded copy of a split per node: a memory-mapped ``.npy`` file on the node's own disk, shared by its trials.

The first trial on a node that needs a split at an image size decodes it once, under a lock file, into
``<dir>/<key>.npy`` (uint8 pixels, one row an image) and ``<key>.labels.npy``; every other trial there waits for
the lock, then maps the same file read-only (``np.load(mmap_mode="r")``). Its pages are the kernel's page cache,
held once however many processes map them, so a node's host memory no longer grows with its trials; under
memory pressure the kernel drops them and reads them back from disk instead of killing a trial.

Why a file and not Ray's object store (whose NumPy arrays trials also read without copying): the object store
lives in shared memory sized at Ray's start (30% of the node's memory by default), and an object of several GiB
per split and size would crowd out or spill the trials' own objects, while a file's pages are reclaimable cache
that the kernel sizes itself; the object store would also need one owner process alive for the whole search to
keep the object, and it is per cluster, so each node would fetch its copy from the driver's node. The file is
made where the trials run, from the source they read (a folder, tfds's records), so the driver never holds it.

The key is a digest of the split's examples and labels (``benchmarks.datasets.split_fingerprint``: file paths with
their sizes and mtimes, the bytes of embedded images, the ids of tfds records and their source) and the image size:
a file is reused by later searches on the same data, and a changed dataset gets a new file.
``$TRANSFER_SEARCH_DECODED_DIR`` sets the folder (default: ``transfer-search-decoded`` in the system's temporary
folder, a node-local disk on most clusters).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from filelock import FileLock

from benchmarks.datasets import Split, split_fingerprint

__all__ = ["DECODED_DIR_ENV", "decoded_bytes", "decoded_dir", "decoded_key", "node_copy"]

log = logging.getLogger(__name__)

DECODED_DIR_ENV = "TRANSFER_SEARCH_DECODED_DIR"
CHANNELS = 3


def decoded_dir() -> Path:
    """The node-local folder of decoded copies (``$TRANSFER_SEARCH_DECODED_DIR``, else the temporary folder's)."""
    return Path(os.environ.get(DECODED_DIR_ENV) or os.path.join(tempfile.gettempdir(), "transfer-search-decoded"))


def decoded_bytes(count: int, image_size: int) -> int:
    """The bytes ``count`` images take decoded at ``image_size`` px: uint8, three channels."""
    return int(count) * image_size * image_size * CHANNELS


def decoded_key(split: Split, image_size: int) -> str:
    """The file stem of ``split``'s decoded copy at ``image_size`` (see the module's docstring)."""
    return f"{split.kind}-{image_size}px-{len(split)}-{split_fingerprint(split)[:24]}"


def node_copy(split: Split, image_size: int, decode: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]],
              directory: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of ``split`` decoded at ``image_size``: images a read-only memory map of this node's copy.

    ``decode()`` yields batches of (uint8 images, labels) in the split's order, images that fail to decode left
    out; it runs only where no copy exists yet, in the first process to take the lock.
    """
    folder = Path(directory) if directory else decoded_dir()
    folder.mkdir(parents=True, exist_ok=True)
    key = decoded_key(split, image_size)
    images_path, labels_path = folder / f"{key}.npy", folder / f"{key}.labels.npy"
    with FileLock(folder / f".{key}.lock"):  # the node's other trials wait for the one decoding
        if not labels_path.exists():  # written last: its presence means the images are complete
            log.info("decoding %d images at %dpx into %s", len(split), image_size, images_path)
            _write(folder, images_path, labels_path, (len(split), image_size, image_size, CHANNELS), decode())
    labels = np.load(labels_path)
    return np.load(images_path, mmap_mode="r")[: len(labels)], labels


def _write(folder: Path, images_path: Path, labels_path: Path, shape: tuple[int, ...], batches) -> None:
    """Write the batches' images into a ``.npy`` of ``shape`` row by row (never all in memory), then the labels;
    each under a temporary name renamed when complete. Rows past the images that decoded stay zero, unread."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False, "shape": shape}
    temporary = []
    try:
        fd, tmp_images = tempfile.mkstemp(prefix=f".{images_path.name}.", suffix=".tmp", dir=folder)
        temporary.append(tmp_images)
        labels = []
        with os.fdopen(fd, "wb") as f:
            np.lib.format.write_array_header_1_0(f, header)
            start = f.tell()
            for images, batch_labels in batches:
                f.write(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
                labels.append(np.asarray(batch_labels, dtype=np.int64))
            f.truncate(start + int(np.prod(shape)))
        fd, tmp_labels = tempfile.mkstemp(prefix=f".{labels_path.name}.", suffix=".tmp", dir=folder)
        temporary.append(tmp_labels)
        with os.fdopen(fd, "wb") as f:
            np.save(f, np.concatenate(labels) if labels else np.zeros(0, np.int64))
        os.replace(tmp_images, images_path)
        os.replace(tmp_labels, labels_path)
    except BaseException:
        for path in temporary:
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise
