"""Import Keras in a trial's process without the optional integrations it loads whenever they are installed.

Keras 3 imports matplotlib.pyplot (for ``keras.visualization``) and scikit-learn (for ``keras.wrappers``) as
soon as it is imported, if they are installed, and this project installs both for its reports and metrics. A
trial uses neither, and every trial is a fresh process (``reuse_actors=False``, ray#616), so they would add to
every trial's start (``python -m perf.trial_startup`` measures it; benchmarks/RESULTS.md has the figures).
"""

from __future__ import annotations

import sys

__all__ = ["import_keras_without_extras"]

EXTRAS = ("matplotlib", "sklearn")


def import_keras_without_extras() -> None:
    """Import Keras with matplotlib and scikit-learn hidden from it; both stay importable afterwards.

    Does nothing where Keras is already imported. Keras in this process then lacks only what needs those two:
    ``keras.visualization``'s plots and the scikit-learn wrappers.
    """
    if "keras" in sys.modules:
        return
    hidden = [name for name in EXTRAS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # `import name` now raises ImportError, which Keras takes as "not installed"
    try:
        import keras  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
