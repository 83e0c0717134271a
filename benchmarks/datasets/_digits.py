"""The embedded default: scikit-learn's 8x8 handwritten digits, no download needed."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from benchmarks.datasets._types import PreparedDataset, Split, carve


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def load_digits_dataset(*, validation_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0) -> PreparedDataset:
    """1,797 grey 8x8 digit images as PNG bytes; the input pipeline upscales them."""
    # Imported here: scikit-learn takes about a second to import, and trial workers never need it.
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.clip(digits.images * (255.0 / 16.0), 0, 255).astype(np.uint8)
    items = np.array([_png(p) for p in pixels], dtype=object)
    everything = Split(items, digits.target.astype(np.int64), "bytes")
    rest, test = carve(everything, test_fraction, seed, "test")
    train, validation = carve(rest, validation_fraction / (1 - test_fraction), seed, "validation")
    data = PreparedDataset("digits", tuple(str(d) for d in range(10)), train, validation, test)
    data.check()
    return data
