"""The image side a trial trains at: each model at the resolution its registration asks for.

A pretrained backbone needs the larger inputs it was trained on, so it takes the budget's size (at least its own
minimum). A network built here (the custom CNN, the small ResNet: ``native_size`` in the registry) learns nothing
from interpolated pixels, so on a dataset whose images are smaller than the budget's size it trains at the
images' own size (CIFAR-10: 32 px, not 96), but never below its ``min_size`` (digits' 8 px become 16). A backbone
trained from scratch keeps the budget's size, as nothing here has measured that a smaller one serves it.
``--image-size`` sets one size for every trial.

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

from benchmarks.models import get_model

__all__ = ["trial_image_size"]


def trial_image_size(config: Mapping[str, Any], *, budget_size: int, native: int | None) -> int:
    """The side ``config`` trains at, given the budget's size and the images' own (None: keep the budget's)."""
    model = get_model(str(config.get("backbone")))
    if not model.native_size or native is None:
        return max(budget_size, model.min_size)
    return max(model.min_size, min(native, budget_size))
