"""Data augmentation as Keras preprocessing layers, chosen by name from a few policies.

A policy is a name from :data:`POLICIES`, or an explicit list of augmentation names
(:data:`AUGMENTATIONS`), as a sequence or a comma-joined string (``"flip,zoom"``): the
string form is what reference recipes use, so it fits the database's ``augmentation`` column.

Consecutive geometric augmentations (flips, rotation, zoom, shear, translation) are fused into one
:class:`RandomAffine`: their transforms compose into one matrix per image, so the batch is resampled once
instead of once per layer. Keras's own layers resample each time, and on a CPU that shares its cores with
training the difference shows (``python -m benchmarks.perf --only pipeline``). When every fused step keeps the
axes (flips, zoom, translation: the ``light`` policy), bilinear resampling is separable, and the layer does it as
two one-dimensional interpolations, columns then rows, instead of a general affine warp: the same pixels to float
rounding, in about a third of the time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras

__all__ = [
    "AUGMENTATIONS", "GEOMETRIC", "POLICIES", "RandomAffine", "SaltAndPepper", "build_augmentation",
    "resample_axis_aligned",
]


# The geometric ranges, shared by the Keras layers below and the fused RandomAffine.
ROTATION = 0.1  # fraction of a full turn
ZOOM = 0.15  # fraction of the size
SHEAR = 0.2  # shear intensity
TRANSLATION = 0.1  # fraction of the height and width


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


def _axis_samples(scale, offset, length: int):
    """Per image, where each output position along one axis samples the input: ``scale * i + offset``.

    Returns the two neighbouring input indices and the weight of the second, after the same reflection and
    clamping as ``affine_transform``'s ``fill_mode="reflect"`` (``dcba|abcd|dcba``).
    """
    ops = keras.ops
    coord = scale[:, None] * ops.arange(length, dtype="float32")[None, :] + offset[:, None]
    period = 2.0 * length
    coord = coord - period * ops.floor(coord / period)
    coord = ops.clip(ops.where(coord >= length, period - coord - 1, coord), 0.0, length - 1.0)
    low = ops.floor(coord)
    first = ops.cast(low, "int32")
    return first, ops.minimum(first + 1, length - 1), coord - low


def _take_per_image(images, index):
    """``images[b, index[b, k]]`` for every image ``b``: one gather of whole rows along axis 1."""
    ops = keras.ops
    n, rows, rest = ops.shape(images)[0], images.shape[1], tuple(images.shape[2:])
    flat_index = index + ops.arange(n, dtype="int32")[:, None] * rows
    taken = ops.take(ops.reshape(images, (-1, *rest)), ops.reshape(flat_index, (-1,)), axis=0)
    return ops.reshape(taken, (n, index.shape[1], *rest))


def _interpolate_rows(images, scale, offset):
    # Along axis 1, the rows of a (batch, rows, columns, channels) tensor.
    first, second, weight = _axis_samples(scale, offset, images.shape[1])
    a, b = _take_per_image(images, first), _take_per_image(images, second)
    return a + keras.ops.cast(weight, images.dtype)[:, :, None, None] * (b - a)


def resample_axis_aligned(images, scale_x, offset_x, scale_y, offset_y):
    """Bilinear resampling where output pixel (x, y) samples input (``scale_x * x + offset_x``, ``scale_y * y + offset_y``).

    The same pixels as ``keras.ops.image.affine_transform(..., "bilinear", fill_mode="reflect")`` with that
    diagonal transform, to float rounding, but separable: columns, then rows, each a gather of whole rows.
    """
    ops = keras.ops
    columns = _interpolate_rows(ops.transpose(images, (0, 2, 1, 3)), scale_x, offset_x)
    return _interpolate_rows(ops.transpose(columns, (0, 2, 1, 3)), scale_y, offset_y)


@keras.saving.register_keras_serializable(package="transfer_search")
class RandomAffine(keras.layers.Layer):
    """Random flips, rotation, zoom, shear and translation as one affine resampling per image (training only).

    Ranges follow the Keras layers they replace: ``rotation`` is a fraction of a full turn (0.1: up to 36
    degrees either way), ``zoom`` a fraction of the size (0.15: 85% to 115%, the same factor for both sides),
    ``shear`` a shear intensity, ``translation`` a fraction of the height and width. ``steps`` lists the
    transforms in the order they apply; empty areas are filled by reflection, with bilinear interpolation.
    """

    STEPS = ("flip", "vertical_flip", "rotation", "zoom", "shear", "translation")
    AXIS_ALIGNED = frozenset({"flip", "vertical_flip", "zoom", "translation"})  # their transforms keep the axes

    def __init__(self, steps: Sequence[str] = ("flip",), rotation: float = ROTATION, zoom: float = ZOOM,
                 shear: float = SHEAR, translation: float = TRANSLATION, seed=None, **kwargs):
        super().__init__(**kwargs)
        unknown = [step for step in steps if step not in self.STEPS]
        if unknown:
            raise ValueError(f"unknown geometric augmentation(s) {unknown}; choose from {list(self.STEPS)}")
        self.steps = tuple(steps)
        self.rotation, self.zoom, self.shear, self.translation = rotation, zoom, shear, translation
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _uniform(self, n, bound):
        return keras.random.uniform((n,), -bound, bound, seed=self.seed_generator)

    def _matrix(self, n, height, width):
        """Per image, the 3x3 map from an output pixel (x, y, 1) to the input pixel it samples."""
        ops = keras.ops
        one, zero = ops.ones((n,)), ops.zeros((n,))

        def stack(rows):
            return ops.stack([ops.stack(row, axis=-1) for row in rows], axis=-2)

        cx, cy = (width - 1) / 2, (height - 1) / 2
        # Every step acts about the image's centre: shift the centre to the origin, transform, shift back.
        to_centre = stack([[one, zero, -cx * one], [zero, one, -cy * one], [zero, zero, one]])
        from_centre = stack([[one, zero, cx * one], [zero, one, cy * one], [zero, zero, one]])
        matrix = None
        for step in self.steps:
            if step in ("flip", "vertical_flip"):
                sign = ops.where(keras.random.uniform((n,), seed=self.seed_generator) < 0.5, -1.0, 1.0)
                sx, sy = (sign, one) if step == "flip" else (one, sign)
                linear = stack([[sx, zero, zero], [zero, sy, zero], [zero, zero, one]])
            elif step == "rotation":
                angle = self._uniform(n, self.rotation * 2 * math.pi)
                cos, sin = ops.cos(angle), ops.sin(angle)
                linear = stack([[cos, -sin, zero], [sin, cos, zero], [zero, zero, one]])
            elif step == "zoom":
                factor = 1 + self._uniform(n, self.zoom)  # above 1 samples a larger area: zooms out
                linear = stack([[factor, zero, zero], [zero, factor, zero], [zero, zero, one]])
            elif step == "shear":
                shear_x, shear_y = self._uniform(n, self.shear), self._uniform(n, self.shear)
                linear = stack([[one, shear_x, zero], [shear_y, one, zero], [zero, zero, one]])
            else:  # translation: the output pixel samples the input shifted by a fraction of the size
                dx, dy = self._uniform(n, self.translation) * width, self._uniform(n, self.translation) * height
                linear = stack([[one, zero, -dx], [zero, one, -dy], [zero, zero, one]])
            step_map = ops.matmul(from_centre, ops.matmul(linear, to_centre))
            # The first step's map is applied last to the pixel coordinates: output -> ... -> input.
            matrix = step_map if matrix is None else ops.matmul(matrix, step_map)
        return matrix

    def call(self, images, training=True):
        if not training or not self.steps:
            return images
        ops = keras.ops
        shape = ops.shape(images)
        matrix = self._matrix(shape[0], images.shape[1], images.shape[2])
        if self.AXIS_ALIGNED.issuperset(self.steps):
            return resample_axis_aligned(images, matrix[:, 0, 0], matrix[:, 0, 2], matrix[:, 1, 1], matrix[:, 1, 2])
        transform = ops.reshape(matrix, (-1, 9))[:, :8]
        return ops.image.affine_transform(images, ops.cast(transform, "float32"), interpolation="bilinear",
                                          fill_mode="reflect")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "steps": list(self.steps), "rotation": self.rotation, "zoom": self.zoom,
                "shear": self.shear, "translation": self.translation, "seed": self.seed}


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
    "rotation": lambda size, seed: keras.layers.RandomRotation(ROTATION, seed=seed),
    "zoom": lambda size, seed: keras.layers.RandomZoom(ZOOM, seed=seed),
    "shear": lambda size, seed: keras.layers.RandomShear(SHEAR, SHEAR, seed=seed),
    "translation": lambda size, seed: keras.layers.RandomTranslation(TRANSLATION, TRANSLATION, seed=seed),
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


# Geometric augmentations that RandomAffine fuses, with the same ranges as the Keras layers above.
GEOMETRIC = RandomAffine.STEPS


def build_augmentation(policy: str | Sequence[str], image_size: int, seed: int | None = None) -> keras.Sequential | None:
    """The augmentation pipeline for ``policy``, or None when it does nothing.

    Runs of consecutive geometric augmentations become one :class:`RandomAffine`; the rest are Keras layers.
    """
    names = resolve_policy(policy)
    if not names:
        return None
    layers, run = [], []
    for i, name in enumerate([*names, None]):
        if name in GEOMETRIC:
            run.append(name)
            continue
        if run:
            layers.append(RandomAffine(run, seed=None if seed is None else seed + i - len(run)))
            run = []
        if name is not None:
            layers.append(AUGMENTATIONS[name](image_size, None if seed is None else seed + i))
    return keras.Sequential(layers, name="augmentation")
