"""Start TensorFlow without its C++ start-up chatter on the terminal."""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["import_tensorflow_quietly", "stderr_to_devnull"]


@contextlib.contextmanager
def stderr_to_devnull():
    """Send file descriptor 2 (where C++ libraries write) to /dev/null inside the block."""
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
    with stderr_to_devnull():
        import tensorflow as tf

        tf.config.list_physical_devices()
