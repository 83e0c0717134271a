"""Data augmentation as Keras preprocessing layers, chosen by name from a few policies.

A policy is a name from :data:`POLICIES`, or an explicit list of augmentation names
(:data:`AUGMENTATIONS`), as a sequence or a comma-joined string (``"flip,zoom"``): the
string form is what reference recipes use, so it fits the database's ``augmentation`` column.

Consecutive geometric augmentations (flips, rotation, zoom, shear, translation) are fused into one
:class:`RandomAffine`: their transforms compose into one matrix per image, so the batch is resampled once
instead of once per layer. Keras's own layers resample each time, and on a CPU that shares its cores with
training the difference shows (``python -m perf --only pipeline``). When every fused step keeps the
axes (flips, zoom, translation: the ``light`` policy), bilinear resampling is separable, and the layer does it as
two one-dimensional interpolations, columns then rows, instead of a general affine warp: the same pixels to float
rounding, in about a third of the time.

Four policies are Keras 3's own layers, one each: ``randaugment`` (:class:`keras.layers.RandAugment`), ``erasing``
(:class:`keras.layers.RandomErasing`), ``mixup`` (:class:`keras.layers.MixUp`) and ``cutmix``
(:class:`keras.layers.CutMix`); their names also go in explicit lists (``"flip,translation,zoom,mixup"``). MixUp and
CutMix blend pairs of images of a batch and their labels alike (:data:`LABEL_MIXING`): a policy with one of them
(:func:`mixes_labels`) needs one-hot labels, which the training pipeline then yields, mixed, and trains on with
categorical cross-entropy (:func:`augment_batch`, :func:`benchmarks.pipeline.make_dataset`,
:mod:`benchmarks.training`); validation and test keep integer labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras

__all__ = [
    "AUGMENTATIONS", "GEOMETRIC", "LABEL_MIXING", "POLICIES", "LabelAccuracy", "RandomAffine", "SaltAndPepper",
    "augment_batch", "build_augmentation", "label_cross_entropy", "mixes_labels", "resample_axis_aligned",
]


# The geometric ranges, shared by the Keras layers below and the fused RandomAffine.
ROTATION = 0.1  # fraction of a full turn
ZOOM = 0.15  # fraction of the size
SHEAR = 0.2  # shear intensity
TRANSLATION = 0.1  # fraction of the height and width

# Keras's augmentation layers, as the policies of the same names use them.
RANDAUGMENT_OPS = 2  # transforms per batch, drawn from RandAugment's eleven
# RandAugment's strength, shared by its transforms: a rotation of up to 0.2 of a turn, translation by up to 20%, shear
# 0.2, brightness and contrast 0.2. Keras's default, 0.5, rotates by up to half a turn.
RANDAUGMENT_FACTOR = 0.2
ERASING_PROBABILITY = 0.5  # of each image having a patch (2% to 33% of its area) replaced by noise
MIXUP_ALPHA = 0.2  # Beta(alpha, alpha) weights of the two images: Keras's default, as for ImageNet
CUTMIX_FACTOR = 1.0  # Keras's default: Beta(a, a) patch weights, a drawn in (0, 1] per batch


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
    "randaugment": lambda size, seed: keras.layers.RandAugment(
        value_range=(0, 255), num_ops=RANDAUGMENT_OPS, factor=RANDAUGMENT_FACTOR, seed=seed),
    "erasing": lambda size, seed: keras.layers.RandomErasing(
        factor=(ERASING_PROBABILITY, ERASING_PROBABILITY), value_range=(0, 255), seed=seed),
    "mixup": lambda size, seed: keras.layers.MixUp(alpha=MIXUP_ALPHA, seed=seed),
    "cutmix": lambda size, seed: keras.layers.CutMix(factor=CUTMIX_FACTOR, seed=seed),
}

# The augmentations that blend images of a batch with each other, and their labels alike: they take one-hot labels.
LABEL_MIXING = frozenset({"mixup", "cutmix"})
_LABEL_MIXING_LAYERS = (keras.layers.MixUp, keras.layers.CutMix)

# The policies a search chooses between.
POLICIES: dict[str, tuple[str, ...]] = {
    "none": (),
    "flip": ("flip",),
    "light": ("flip", "translation", "zoom"),
    "color": ("flip", "brightness", "contrast"),
    "strong": ("flip", "rotation", "zoom", "translation", "brightness", "contrast", "crop", "salt_and_pepper"),
    # Keras's own layers, one each (slower than the fused geometric policies: python -m perf --only pipeline).
    "randaugment": ("randaugment",),
    "erasing": ("erasing",),
    "mixup": ("mixup",),  # mixes labels
    "cutmix": ("cutmix",),  # mixes labels
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


def _layers_of(augmentation: keras.Layer) -> list[keras.Layer]:
    return list(augmentation.layers) if isinstance(augmentation, keras.Sequential) else [augmentation]


def mixes_labels(policy) -> bool:
    """Whether ``policy`` mixes labels (MixUp, CutMix): its batches need one-hot labels and a categorical loss.

    ``policy`` is a policy, a list of augmentation names, or a layer from :func:`build_augmentation`.
    """
    if policy is None:
        return False
    if isinstance(policy, keras.Layer):
        return any(isinstance(layer, _LABEL_MIXING_LAYERS) for layer in _layers_of(policy))
    return not LABEL_MIXING.isdisjoint(resolve_policy(policy))


def augment_batch(augmentation: keras.Layer | None, images, labels):
    """``(images, labels)`` of one batch after ``augmentation`` (from :func:`build_augmentation`; None does nothing).

    Image layers see the images; label-mixing layers (MixUp, CutMix) see both, as Keras's layers take them
    (``{"images": ..., "labels": ...}``), so ``labels`` must then be one-hot (float, ``(batch, classes)``) and come
    back mixed. Other labels pass through untouched.
    """
    if augmentation is None:
        return images, labels
    if not mixes_labels(augmentation):
        return augmentation(images, training=True), labels
    if len(labels.shape) != 2:
        raise ValueError(f"MixUp and CutMix mix one-hot labels of shape (batch, classes); got shape {tuple(labels.shape)}")
    for layer in _layers_of(augmentation):
        if isinstance(layer, _LABEL_MIXING_LAYERS):
            mixed = layer({"images": images, "labels": labels}, training=True)
            images, labels = mixed["images"], mixed["labels"]
        else:
            images = layer(images, training=True)
    return images, labels


# The loss and accuracy of trials whose augmentation mixes labels (benchmarks.training), registered here with the
# layers, where a process loading a checkpoint compiled with them imports them from.
def _one_hot(y_true, y_pred) -> bool:
    # One-hot (or mixed) labels have a class axis like the predictions; integer labels have none, or one of size 1.
    return len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == y_pred.shape[-1] != 1


@keras.saving.register_keras_serializable(package="transfer_search")
def label_cross_entropy(y_true, y_pred):
    """Cross-entropy on one-hot, mixed or integer labels alike, so that ``val_loss`` means the same in every trial.

    Categorical cross-entropy on one-hot or mixed labels (training batches of MixUp and CutMix), sparse
    categorical cross-entropy on integer labels (their validation batches).
    """
    if _one_hot(y_true, y_pred):
        return keras.losses.categorical_crossentropy(y_true, y_pred)
    return keras.losses.sparse_categorical_crossentropy(y_true, y_pred)


def _label_accuracy(y_true, y_pred):
    if _one_hot(y_true, y_pred):
        y_true = keras.ops.argmax(y_true, axis=-1)  # a mixed label's larger share
    return keras.metrics.sparse_categorical_accuracy(y_true, y_pred)


@keras.saving.register_keras_serializable(package="transfer_search")
class LabelAccuracy(keras.metrics.MeanMetricWrapper):
    """Accuracy on integer labels, or on one-hot or mixed ones (the class with the larger share), as ``accuracy``."""

    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(_label_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
