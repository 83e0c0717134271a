"""The user's own modules that register things (backbones, schedulers, a space), imported in the driver and the trials.

A registration (``benchmarks.models.register_backbone(...)``, ``runners.schedulers.register_scheduler(...)``)
happens when its module is imported. The driver imports the modules named by ``--register MODULE`` (and by the
``TRANSFER_SEARCH_REGISTER`` environment variable, comma-separated) before it reads the space or the scheduler;
each trial's worker imports them, and the ``--space`` module where it is not a bundled one, by name before it
builds its model. Modules outside this project's packages are shipped to the workers with Ray's runtime
environment (``py_modules``), so a cluster's nodes need no copy of them.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from types import ModuleType

from benchmarks.errors import UserError

__all__ = ["ENV_VAR", "PROJECT_PACKAGES", "import_registrations", "registered_modules", "shipped_modules",
           "worker_modules"]

ENV_VAR = "TRANSFER_SEARCH_REGISTER"
#: The project's own packages: installed with it on every node, never shipped.
PROJECT_PACKAGES = ("benchmarks", "search_spaces", "records", "runners", "reports", "perf")


def registered_modules(flags: Iterable[str] | None) -> tuple[str, ...]:
    """The modules ``--register`` names, then those of :data:`ENV_VAR`, each once."""
    names = [*(flags or ()), *os.environ.get(ENV_VAR, "").split(",")]
    return tuple(dict.fromkeys(name.strip() for name in names if name and name.strip()))


def import_registrations(names: Iterable[str]) -> None:
    """Import each module (its registrations happen); a one-line error naming one that does not import."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:  # ImportError, or whatever the module's own code raised
            raise UserError(f"--register {name}: cannot import it ({type(error).__name__}: "
                            f"{str(error).splitlines()[0] if str(error) else ''}); it must be an importable module "
                            f"(on PYTHONPATH or in the working directory)") from None


def worker_modules(register: Iterable[str], space: str) -> tuple[str, ...]:
    """What each trial imports before building its model: the registered modules and a space of the user's."""
    from search_spaces import list_spaces

    own_space = () if space in list_spaces() or space == "reference" else (space,)
    return tuple(dict.fromkeys([*register, *own_space]))


def shipped_modules(names: Iterable[str]) -> list[ModuleType]:
    """The top-level modules (or packages) of ``names`` that lie outside this project, imported, for ``py_modules``."""
    shipped = {}
    for name in names:
        top = name.split(".")[0]
        if top in PROJECT_PACKAGES or top in shipped:
            continue
        module = sys.modules.get(top) or importlib.import_module(top)
        if getattr(module, "__file__", None) or getattr(module, "__path__", None):
            shipped[top] = module
    return list(shipped.values())
