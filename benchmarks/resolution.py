"""The image side a trial trains at: each family at its own resolution.

A pretrained backbone needs the larger inputs it was trained on, so it takes the budget's size (at least its own
minimum). The custom CNN learns nothing from interpolated pixels, so on a dataset whose images are smaller than
the budget's size it trains at the images' own size (CIFAR-10: 32 px, not 96), but never below
:data:`MIN_CUSTOM_CNN_SIZE` (digits' 8 px become 16). A backbone trained from scratch keeps the budget's size, as
nothing here has measured that a smaller one serves it. ``--image-size`` sets one size for every trial.

>>> trial_image_size({"backbone": "custom_cnn"}, budget_size=96, native=32)
32
>>> trial_image_size({"backbone": "custom_cnn"}, budget_size=96, native=8)
16
>>> trial_image_size({"backbone": "mobilenet_v2"}, budget_size=96, native=32)
96
>>> trial_image_size({"backbone": "custom_cnn"}, budget_size=96, native=None)
96
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks.models import CUSTOM_CNN, get_backbone

__all__ = ["MIN_CUSTOM_CNN_SIZE", "trial_image_size"]

#: The custom CNN halves its input once per block, up to four blocks: 16 px is the least every depth accepts.
MIN_CUSTOM_CNN_SIZE = 16


def trial_image_size(config: Mapping[str, Any], *, budget_size: int, native: int | None) -> int:
    """The side ``config`` trains at, given the budget's size and the images' own (None: keep the budget's)."""
    backbone = str(config.get("backbone"))
    if backbone != CUSTOM_CNN:
        return max(budget_size, get_backbone(backbone).min_size)
    if native is None:
        return budget_size
    return max(MIN_CUSTOM_CNN_SIZE, min(native, budget_size))
