"""What every command line of the project shares: one-line errors, and a quiet TensorFlow.

A bad flag is one ``error: ... (see --help)`` line on stderr and exit code 2, never a usage block or a
traceback; TensorFlow's C++ start-up lines are kept off the terminal unless ``--verbose``.
"""

from __future__ import annotations

import argparse
import logging
import warnings
from typing import NoReturn

__all__ = ["Formatter", "OneLineParser", "quiet"]


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (and exit 2), not usage plus error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {' '.join(message.split())} (see --help)\n")


class Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show a default only where there is one and the help does not already say it."""

    def _get_help_string(self, action):
        if action.default in (None, False) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def quiet(verbose: bool) -> None:
    """Unless ``verbose``: import TensorFlow with its C++ lines muted, and silence Python's warnings and absl."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    if verbose:
        return
    from benchmarks.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    warnings.filterwarnings("ignore")
    logging.getLogger("absl").setLevel(logging.ERROR)
