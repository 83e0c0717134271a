"""Per-example class indices (a test split's labels, a model's predictions) as compact text for one database cell.

The paired comparison of two finalists (``benchmarks.comparison``) needs each tested model's prediction for every
test example, in the run's test order. Stored as text so any SQLAlchemy database takes it: ``z:`` then the
base64 of the zlib-compressed little-endian ``uint16`` array (at most 65,536 classes). CIFAR-10's 10,000 test
predictions take about 6 KB.

>>> decode(encode([3, 1, 4, 1, 5])).tolist()
[3, 1, 4, 1, 5]
>>> decode(None) is None
True
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence

__all__ = ["decode", "encode"]

_PREFIX = "z:"


def encode(indices: Sequence[int]) -> str:
    """``indices`` (class numbers, 0 to 65,535) as ``z:`` + base64(zlib(uint16 little-endian))."""
    import numpy as np

    array = np.asarray(indices, dtype=np.int64)
    if array.size and (array.min() < 0 or array.max() > np.iinfo(np.uint16).max):
        raise ValueError("class indices must lie in 0..65535")
    raw = array.astype("<u2").tobytes()
    return _PREFIX + base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def decode(text: str | None):
    """The ``int64`` array :func:`encode` wrote; None for None or an empty cell."""
    import numpy as np

    if not text:
        return None
    if not text.startswith(_PREFIX):
        raise ValueError("not an encoded array of class indices")
    raw = zlib.decompress(base64.b64decode(text[len(_PREFIX):]))
    return np.frombuffer(raw, dtype="<u2").astype(np.int64)
