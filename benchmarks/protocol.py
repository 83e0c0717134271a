"""What a test figure means: the test split's fingerprint, and the protocol two runs must share to be pooled.

A finalist's test accuracy is a statement about particular test images, after particular training. Two runs of
one dataset with another seed, budget, cap or split fraction test on other images; with other epochs, image sizes
or weights their models were trained differently. Their figures are compared only where both match: the report
pools finalists of several runs only then, and otherwise says which of these differ (:func:`differences`).

>>> differences({"fingerprint": "a", "protocol": {"epochs": 3}}, {"fingerprint": "a", "protocol": {"epochs": 10}})
['epochs 3 against 10']
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["differences", "test_set_fingerprint", "test_protocol"]


def _item_digest(item: Any, kind: str) -> bytes:
    """A digest of one example: its encoded bytes, or the file's bytes (so a copied folder matches)."""
    if kind == "bytes":
        return hashlib.sha256(bytes(item)).digest()
    if kind == "files" and os.path.isfile(str(item)):
        with open(str(item), "rb") as f:
            return hashlib.file_digest(f, "sha256").digest()
    return hashlib.sha256(repr(item).encode()).digest()


def test_set_fingerprint(split) -> str:
    """SHA-256 (hex, 16 characters) of a split's examples and labels, in order: equal exactly for the same test set.

    ``split`` is a :class:`benchmarks.datasets.Split` (``items``, ``labels``, ``kind``). Files are hashed by content,
    not path, so the same images under another folder match; order matters, since predictions are stored in it.
    Unlike :func:`benchmarks.datasets.split_fingerprint`, a cache key that changes when a file is touched, this
    names the images themselves: it is what two runs' test figures are compared by.
    """
    digest = hashlib.sha256(str(split.kind).encode())
    for item, label in zip(split.items, split.labels):
        digest.update(_item_digest(item, split.kind))
        digest.update(int(label).to_bytes(4, "little"))
    return digest.hexdigest()[:16]


def test_protocol(*, budget: str, epochs: int, image_sizes: Mapping[str, int], weights: str, train_examples: int,
                  validation_examples: int) -> dict[str, Any]:
    """Everything beside the test images that changes what a finalist's test figure means, as stored with a run.

    ``image_sizes`` maps each family to the side it trains at (the custom CNN may train at the images' own size).
    """
    return {"budget": budget, "epochs": int(epochs), "image_size": {k: int(v) for k, v in sorted(image_sizes.items())},
            "weights": str(weights), "train_examples": int(train_examples),
            "validation_examples": int(validation_examples)}


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def differences(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    """Why two runs' test figures cannot be pooled, in words; empty where they can.

    Each argument has ``fingerprint`` (:func:`test_set_fingerprint` of its test split) and ``protocol``
    (:func:`test_protocol`); a run that stored neither cannot be matched with any other.
    """
    if not first.get("fingerprint") or not second.get("fingerprint"):
        return ["a run stored no fingerprint of its test split"]
    found = []
    if first["fingerprint"] != second["fingerprint"]:
        found.append("different test images (another seed, cap or split fraction)")
    mine, theirs = first.get("protocol") or {}, second.get("protocol") or {}
    for key in sorted(set(mine) | set(theirs)):
        if mine.get(key) != theirs.get(key):
            found.append(f"{key.replace('_', ' ')} {_show(mine.get(key))} against {_show(theirs.get(key))}")
    return found
