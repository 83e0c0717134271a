"""How long destroying a tf.data iterator takes, with tf.data's autotuning thread on and off.

    python -m perf.iterator_teardown [--lifetime 3] [--repeats 20]

Each of ``--repeats`` iterators of a small parallel-map pipeline (like ``benchmarks.pipeline``'s) is read for
``--lifetime`` seconds by a slow consumer and then destroyed, as Keras destroys one every epoch. Destroying it
joins the autotuning thread; when that thread misses its wake-up it sleeps out its optimisation period, which
grows with the iterator's age up to 60 s. Run it beside other work on a busy machine to see the stall. Prints a
table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from perf.trial_startup import _positive


def teardown_seconds(*, autotune: bool, lifetime: float, repeats: int) -> list[float]:
    """Seconds each of ``repeats`` iterators took to destroy after ``lifetime`` seconds of slow reading."""
    import numpy as np
    import tensorflow as tf

    images = np.random.default_rng(0).integers(0, 255, (4096, 32, 32, 3), dtype=np.uint8)
    ds = tf.data.Dataset.from_tensor_slices(images)
    ds = ds.map(lambda x: tf.cast(x, tf.float32), num_parallel_calls=tf.data.AUTOTUNE).batch(32)
    ds = ds.map(tf.image.flip_left_right, num_parallel_calls=tf.data.AUTOTUNE).repeat().prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.autotune.enabled = autotune
    ds = ds.with_options(options)
    seconds = []
    for _ in range(repeats):
        iterator, start = iter(ds), time.perf_counter()
        while time.perf_counter() - start < lifetime:
            next(iterator)
            time.sleep(0.01)  # a consumer slower than the pipeline, like a training step
        start = time.perf_counter()
        del iterator
        seconds.append(time.perf_counter() - start)
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Measure with autotuning on, then off, with a 1-CPU trial's thread pools; print the table and the JSON line."""
    p = argparse.ArgumentParser(prog="python -m perf.iterator_teardown")
    p.add_argument("--lifetime", type=_positive, default=3, help="seconds each iterator is read before it is destroyed")
    p.add_argument("--repeats", type=_positive, default=20, help="iterators per setting")
    args = p.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from benchmarks.quiet import import_tensorflow_quietly
    from runners.trainable import configure_tensorflow

    import_tensorflow_quietly()
    configure_tensorflow(1)  # the thread pools of a 1-CPU trial
    figures = {}
    print("| tf.data autotuning | slowest destruction | destructions over 0.1 s |\n|---|---|---|")
    for autotune in (True, False):
        seconds = teardown_seconds(autotune=autotune, lifetime=args.lifetime, repeats=args.repeats)
        figures["on" if autotune else "off"] = seconds
        print(f"| {'on' if autotune else 'off'} | {max(seconds):.2f} s | {sum(s > 0.1 for s in seconds)} of {len(seconds)} |",
              flush=True)
    print(json.dumps({**vars(args), "teardown_s": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
