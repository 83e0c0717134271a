"""Data augmentation as Keras preprocessing layers, chosen by name from a few policies.

A policy is a name from :data:`POLICIES`, or an explicit list of augmentation names
(:data:`AUGMENTATIONS`), as a sequence or a comma-joined string (``"flip,zoom"``): the
string form is what reference recipes use, so it fits the database's ``augmentation`` column.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

__all__ = ["AUGMENTATIONS", "POLICIES", "SaltAndPepper", "build_augmentation"]


@keras.saving.register_keras_serializable(package="transfer_search")
class SaltAndPepper(keras.layers.Layer):
    """Set a random ``rate`` of pixels to black or white (training only)."""

    def __init__(self, rate: float = 0.02, value_range: tuple[float, float] = (0.0, 255.0), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.value_range = tuple(value_range)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training or self.rate <= 0:
            return images
        shape = keras.ops.shape(images)
        pixel_shape = (shape[0], shape[1], shape[2], 1)
        draw = keras.random.uniform(pixel_shape, seed=self.seed_generator)
        low, high = self.value_range
        images = keras.ops.where(draw < self.rate / 2, keras.ops.cast(low, images.dtype), images)
        return keras.ops.where(draw > 1 - self.rate / 2, keras.ops.cast(high, images.dtype), images)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "value_range": self.value_range, "seed": self.seed}


def _random_crop(image_size: int, seed: int | None) -> keras.layers.Layer:
    # Crop a random window from a slightly enlarged image, so the output size is unchanged.
    padded = int(round(image_size * 1.15))
    return keras.Sequential(
        [keras.layers.Resizing(padded, padded), keras.layers.RandomCrop(image_size, image_size, seed=seed)],
        name="random_crop",
    )


# Each augmentation takes the image size and a seed; images are float pixels in [0, 255].
AUGMENTATIONS = {
    "flip": lambda size, seed: keras.layers.RandomFlip("horizontal", seed=seed),
    "vertical_flip": lambda size, seed: keras.layers.RandomFlip("vertical", seed=seed),
    "rotation": lambda size, seed: keras.layers.RandomRotation(0.1, seed=seed),
    "zoom": lambda size, seed: keras.layers.RandomZoom(0.15, seed=seed),
    "shear": lambda size, seed: keras.layers.RandomShear(0.2, 0.2, seed=seed),
    "translation": lambda size, seed: keras.layers.RandomTranslation(0.1, 0.1, seed=seed),
    "brightness": lambda size, seed: keras.layers.RandomBrightness(0.2, value_range=(0, 255), seed=seed),
    "contrast": lambda size, seed: keras.layers.RandomContrast(0.2, seed=seed),
    "crop": _random_crop,
    "salt_and_pepper": lambda size, seed: SaltAndPepper(0.02, seed=seed),
}

# The policies a search chooses between.
POLICIES: dict[str, tuple[str, ...]] = {
    "none": (),
    "flip": ("flip",),
    "light": ("flip", "translation", "zoom"),
    "color": ("flip", "brightness", "contrast"),
    "strong": ("flip", "rotation", "zoom", "translation", "brightness", "contrast", "crop", "salt_and_pepper"),
}


def resolve_policy(policy: str | Sequence[str]) -> tuple[str, ...]:
    """A policy name, or an explicit list of augmentation names (a sequence or comma-joined), to the list of names."""
    if isinstance(policy, str):
        names = POLICIES.get(policy)
        if names is None and "," in policy:
            names = tuple(n.strip() for n in policy.split(",") if n.strip())
        elif names is None and policy in AUGMENTATIONS:
            names = (policy,)
    else:
        names = tuple(policy)
    if names is None:
        raise ValueError(
            f"unknown augmentation policy {policy!r}; choose from {sorted(POLICIES)} "
            f"or a comma-joined list of {sorted(AUGMENTATIONS)}"
        )
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; choose from {sorted(AUGMENTATIONS)}")
    return names


def build_augmentation(policy: str | Sequence[str], image_size: int, seed: int | None = None) -> keras.Sequential | None:
    """The augmentation pipeline for ``policy``, or None when it does nothing."""
    names = resolve_policy(policy)
    if not names:
        return None
    layers = [AUGMENTATIONS[n](image_size, None if seed is None else seed + i) for i, n in enumerate(names)]
    return keras.Sequential(layers, name="augmentation")
