"""Where a search's decoded images live: one copy per node where it fits its share of a node's memory, else streamed.

The training and validation splits are decoded at every image size the search's families train at
(``benchmarks.resolution``: the custom CNN may train at the images' own size, the backbones at the budget's). If
those copies fit in ``share`` of the smallest node's memory, each node holds them once, memory-mapped and shared by
its trials (``benchmarks.decoded``); otherwise every trial streams its images from the source each epoch. The test
split is read once per evaluation, so it is always streamed.

>>> from benchmarks.memory import GIB
>>> placement = DataPlacement("node", decoded=int(7.5 * GIB), where="/tmp/transfer-search-decoded", share=0.5)
>>> placement.describe(), placement.bytes_per_node
('cached once per node, 7.5 GiB at /tmp/transfer-search-decoded', 8053063680)
>>> DataPlacement("stream", decoded=20 * GIB, where="/data/tfds/cifar10", share=0.5).describe()
'streamed from /data/tfds/cifar10 (decoded it would take 20.0 GiB, over 0.5 of a node)'
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable

from benchmarks.datasets import PreparedDataset, Split
from benchmarks.decoded import decoded_bytes, decoded_dir
from benchmarks.memory import size

__all__ = ["DEFAULT_SHARE", "DataPlacement", "decoded_size", "place", "source_of"]

#: The share of a node's memory the decoded copies may take; the rest is the trials'.
DEFAULT_SHARE = 0.5


@dataclasses.dataclass(frozen=True)
class DataPlacement:
    """How the trials hold the decoded images (``node`` or ``stream``), their size decoded, and where they are read."""

    storage: str
    decoded: int
    where: str
    share: float

    @property
    def bytes_per_node(self) -> int:
        """The host memory the data takes on each node: the decoded copies where cached, nothing streamed."""
        return self.decoded if self.storage == "node" else 0

    def describe(self) -> str:
        """``cached once per node, 7.5 GiB at DIR`` or ``streamed from DIR (...)``."""
        if self.storage == "node":
            return f"cached once per node, {size(self.decoded)} at {self.where}"
        return f"streamed from {self.where} (decoded it would take {size(self.decoded)}, over {self.share:g} of a node)"


def decoded_size(data: PreparedDataset, image_sizes: Iterable[int]) -> int:
    """The bytes of the training and validation splits decoded at each of ``image_sizes``."""
    count = len(data.train) + len(data.validation)
    return sum(decoded_bytes(count, size) for size in set(image_sizes))


def source_of(split: Split) -> str:
    """Where a streamed split's images are read from: the tfds records' folder, the images' folder, or the
    encoded images that travel with the dataset to each trial (embedded and mock data)."""
    if split.kind == "records":
        return split.source.describe()
    if split.kind == "files" and len(split):
        return os.path.commonpath([os.path.dirname(str(p)) for p in split.items])
    return "the encoded images sent with the dataset to each trial"


def place(data: PreparedDataset, image_sizes: Iterable[int], node_memory: float,
          share: float = DEFAULT_SHARE) -> tuple[PreparedDataset, DataPlacement]:
    """``data`` with its splits' storage set, and the placement: cached once per node where the decoded copies fit
    ``share`` of ``node_memory`` (the smallest node's, bytes; 0 where unknown: cached), else streamed."""
    decoded = decoded_size(data, image_sizes)
    fits = not node_memory or decoded <= share * node_memory
    storage = "node" if fits else "stream"
    placement = DataPlacement(storage, decoded, str(decoded_dir()) if fits else source_of(data.train), share)
    placed = dataclasses.replace(data, train=data.train.stored(storage), validation=data.validation.stored(storage),
                                 test=data.test.stored("stream"))
    return placed, placement
