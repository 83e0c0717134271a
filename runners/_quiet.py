"""Start TensorFlow without its C++ start-up chatter on the terminal."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def _stderr_to_devnull():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and probe its devices once with file descriptor 2 muted.

    TensorFlow's C++ layer writes "Could not find cuda drivers" and similar lines straight to
    file descriptor 2 before its log level applies, which would bury our one-line errors.
    Python exceptions still surface: they are raised, not printed, inside this block.
    """
    with _stderr_to_devnull():
        import tensorflow as tf

        tf.config.list_physical_devices()
