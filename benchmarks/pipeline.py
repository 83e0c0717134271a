"""One tf.data input pipeline for every dataset: decode, resize, cache, shuffle, batch, augment, prefetch.

Where the decoded images live is the split's ``storage`` (``benchmarks.datasets.STORAGES``): ``process`` caches
them in this process (``ds.cache()``, for one-off uses: tests, benchmarks); ``node`` reads the node's one
memory-mapped copy (:mod:`benchmarks.decoded`), gathering each batch's rows so that nothing copies the whole
array; ``stream`` decodes from the source every epoch (a folder's files, the bytes held, a tfds split's records
in its data dir), in parallel and prefetched, and caches nothing: for data larger than its share of a node.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import tensorflow as tf

from benchmarks.augmentation import augment_batch, mixes_labels
from benchmarks.datasets import Split, encoded_bytes_per_example, read_records, shown_list

__all__ = ["make_dataset", "make_feature_dataset"]

log = logging.getLogger(__name__)


#: The most memory a streamed split's shuffle buffer of encoded images may take (file names take a few bytes).
STREAM_SHUFFLE_BYTES = 256 * 2**20


def _decoder(kind: str, image_size: int):
    def decode(item, label):
        encoded = tf.io.read_file(item) if kind == "files" else item
        image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        image = tf.image.resize(image, (image_size, image_size), antialias=True)
        # Cache uint8 pixels: a quarter of the memory of float32.
        return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8), label

    return decode


def _present(split: Split) -> Split:
    """``split`` less the files gone since the dataset was scanned, with a warning naming them.

    tf.data would skip them too (``ignore_errors``), but its warning is TensorFlow's own log, which trials
    silence (``TF_CPP_MIN_LOG_LEVEL=2``); a file corrupted after the scan is still skipped that way.
    """
    if split.kind != "files":
        return split
    there = np.array([os.path.exists(p) for p in split.items], dtype=bool)
    if not there.all():
        gone = split.items[~there].tolist()
        log.warning("skipping %d image file(s) gone since the dataset was scanned: %s", len(gone), shown_list(gone))
    return split if there.all() else split.take(np.flatnonzero(there))


def _tensor_items(split: Split) -> np.ndarray:
    """The items as tf.data takes them: encoded images, or file names as bytes (so names need not be UTF-8)."""
    if split.kind == "files":
        return np.array([os.fsencode(p) for p in split.items], dtype=object)
    return split.items


def _without_autotune_thread(ds: tf.data.Dataset) -> tf.data.Dataset:
    """Turn off tf.data's autotuning thread; ``AUTOTUNE`` parallelism then uses the thread pool's size.

    Destroying an iterator (Keras makes one per epoch and one per validation pass) joins that thread, which can
    miss the wake-up and sleep out its optimisation period, up to 60 s (TensorFlow 2.21): trials ended 7 to 41 s
    after their last epoch in 3 of 5 runs of the harness benchmark's 96px search.
    ``python -m perf.iterator_teardown`` shows the stall and that this option removes it.
    Prefetch buffers still grow on their own when the model waits for its input.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def _items(split: Split) -> tf.data.Dataset:
    """(encoded image or file name, label) of every example, in the split's order."""
    if split.kind == "records":
        return read_records(split)
    return tf.data.Dataset.from_tensor_slices((_tensor_items(split), split.labels))


def _decoded(split: Split, image_size: int) -> tf.data.Dataset:
    """(uint8 image, label) of every example that decodes, in the split's order, decoded in parallel."""
    ds = _items(split).map(_decoder(split.kind, image_size), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # Corrupt files are filtered out before training; this keeps a bad file that slipped through from ending a trial.
    return ds.ignore_errors(log_warning=True)


def _node_images(split: Split, image_size: int, *, batch_size: int, training: bool, seed: int) -> tf.data.Dataset:
    """Batches of (uint8 images, labels) gathered from the node's decoded copy, shuffled as the cached path does."""
    from benchmarks.decoded import node_copy

    images, labels = node_copy(
        split, image_size, lambda: _decoded(split, image_size).batch(256).prefetch(2).as_numpy_iterator())
    # Indices are shuffled and batched, then each batch's rows are read from the memory map: one batch is copied
    # at a time. The same buffer and seed over as many elements give the cached path's order; ignore_errors()
    # (which drops nothing) leaves the cardinality unknown as there, so Keras iterates epochs the same way.
    ds = tf.data.Dataset.range(len(labels)).ignore_errors()
    ds = _shuffle_and_batch(ds, len(split), batch_size=batch_size, training=training, seed=seed)
    label_table = tf.constant(labels)

    def gather(indices):
        rows = tf.numpy_function(lambda i: images[i], [indices], tf.uint8, stateful=False)
        rows.set_shape([None, image_size, image_size, 3])
        return rows, tf.gather(label_table, indices)

    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE)


def _streamed_images(split: Split, image_size: int, *, batch_size: int, training: bool, seed: int) -> tf.data.Dataset:
    """Batches of (uint8 images, labels) decoded from the source each epoch: the encoded items are shuffled (a
    buffer of at most :data:`STREAM_SHUFFLE_BYTES`), then decoded in parallel; nothing is cached."""
    ds = _items(split)
    if training:
        per_item = encoded_bytes_per_example(split) or 256  # a file name
        buffer = max(1, min(len(split), 10_000, int(STREAM_SHUFFLE_BYTES // per_item)))
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(_decoder(split.kind, image_size), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.ignore_errors(log_warning=True).batch(batch_size)


def _images(split: Split, image_size: int, *, batch_size: int, training: bool, seed: int) -> tf.data.Dataset:
    """Batches of (uint8 images, int64 labels), held as ``split.storage`` says (see the module's docstring)."""
    if split.storage == "node":
        return _node_images(split, image_size, batch_size=batch_size, training=training, seed=seed)
    if split.storage == "stream":
        return _streamed_images(split, image_size, batch_size=batch_size, training=training, seed=seed)
    ds = _decoded(split, image_size).cache()
    return _shuffle_and_batch(ds, len(split), batch_size=batch_size, training=training, seed=seed)


def _shuffle_and_batch(ds: tf.data.Dataset, size: int, *, batch_size: int, training: bool, seed: int) -> tf.data.Dataset:
    # Shared by images and cached features: the same buffer and seed give both the same example order.
    if training:
        ds = ds.shuffle(min(size, 10_000), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size)


def make_dataset(
    split: Split,
    *,
    image_size: int,
    batch_size: int,
    training: bool,
    augmentation=None,
    seed: int = 0,
    num_classes: int | None = None,
) -> tf.data.Dataset:
    """Batches of (float32 pixels in [0, 255], int64 label).

    With an augmentation that mixes labels (MixUp, CutMix: :func:`benchmarks.augmentation.mixes_labels`), the
    training batches' labels are float32 one-hot vectors of ``num_classes`` (which it then needs), mixed as their
    images are: a model trains on them with categorical cross-entropy. Evaluation batches keep int64 labels.

    Models carry their backbone's own input preprocessing as their first
    layer, so the pipeline (and a saved model) works on raw pixels.
    Decoding runs in parallel once (the first epoch, or once per node) and is cached, unless the split is
    streamed; each epoch then only shuffles, batches and augments whole batches in parallel, and
    prefetches, so the model does not wait for its input.
    """
    split = _present(split)
    ds = _images(split, image_size, batch_size=batch_size, training=training, seed=seed)
    if training and augmentation is not None:
        one_hot = mixes_labels(augmentation)
        if one_hot and not num_classes:
            raise ValueError("an augmentation that mixes labels (MixUp, CutMix) needs num_classes for one-hot labels")

        # One vectorised call per batch, not per image: the augmentation layers work on batches.
        def to_float_and_augment(x, y):
            if one_hot:
                y = tf.one_hot(y, num_classes, dtype=tf.float32)
            return augment_batch(augmentation, tf.cast(x, tf.float32), y)

        ds = ds.map(to_float_and_augment, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
    return _without_autotune_thread(ds.prefetch(tf.data.AUTOTUNE))


def make_feature_dataset(
    features: np.ndarray, labels: np.ndarray, *, size: int, batch_size: int, training: bool, seed: int = 0
) -> tf.data.Dataset:
    """Batches of (cached backbone features, label), shuffled like :func:`make_dataset` shuffles a split of ``size``."""
    # ignore_errors() drops nothing here; like make_dataset's, it leaves the cardinality unknown, and Keras iterates
    # epochs of a dataset of unknown length differently (new iterator, next reshuffle), so both see the same order.
    ds = tf.data.Dataset.from_tensor_slices((features, labels)).ignore_errors()
    ds = _shuffle_and_batch(ds, size, batch_size=batch_size, training=training, seed=seed)
    return _without_autotune_thread(ds.prefetch(tf.data.AUTOTUNE))
