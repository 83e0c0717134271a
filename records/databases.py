"""What the results database and the Optuna storage share: SQLite files made ready, schemas created once.

Two searches started at once on a fresh results folder (two users sharing it, or a script starting several) both
create the same tables. On SQLite they take turns, under a lock file beside the database (``.NAME.lock``, from
the ``filelock`` package); a server database such as PostgreSQL takes concurrent CREATEs itself, and the slower
search looks again when told that a table, column or row "already exists".

Why a lock and not only looking again: ``tests/unit/test_store_and_metrics.py`` opens a fresh Optuna SQLite storage
from four processes at once, 12 rounds. It fails with neither; looking again up to five times still failed one
round in a clean-clone CI run, as each attempt met the next of Optuna's tables being created by another process.

    storage = create_schema(url, lambda: optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": ...}))
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any, TypeVar

from filelock import FileLock

__all__ = ["connect_args", "create_schema", "sqlite_file"]

T = TypeVar("T")

# What a database says when another process created the same table, column or row a moment before: SQLite's and
# PostgreSQL's wordings.
_CREATED_ELSEWHERE = ("already exists", "duplicate column", "duplicate key value", "unique constraint failed")
_CREATE_ATTEMPTS = 5
_LOCK_TIMEOUT_S = 120


def sqlite_file(url: str) -> str | None:
    """The absolute path of a SQLite URL's file; None for an in-memory SQLite database or any other database."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?")[0]
    return os.path.abspath(path) if path and path != ":memory:" else None


def connect_args(url: str) -> dict[str, Any]:
    """SQLAlchemy ``connect_args``: on SQLite another search's write is waited for (30 s), not an error."""
    return {"timeout": 30} if url.startswith("sqlite") else {}


def _created_elsewhere(error: BaseException) -> bool:
    """Whether ``error`` says another process created the same schema object first (look again, not an error)."""
    return any(text in str(getattr(error, "orig", None) or error).lower() for text in _CREATED_ELSEWHERE)


def create_schema(url: str, create: Callable[[], T]) -> T:
    """Run ``create`` (which creates what is missing of a schema at ``url``) once at a time; return its result.

    A SQLite file's folder is made first and its creation runs under a lock file beside it, ``.NAME.lock``. Where
    that lock cannot be had (a read-only folder, or another process holding it past the timeout, which
    ``filelock`` raises as an OSError), the creation goes on without it; a read-only database is then reported by
    its own error or the store's write check. Any database's creation is tried again when its error says another
    process created the same thing first.

    Raises:
        OSError: the SQLite file's folder cannot be made.
    """
    path = sqlite_file(url)
    with contextlib.ExitStack() as held:
        if path:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            lock = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.lock")
            with contextlib.suppress(OSError):
                held.enter_context(FileLock(lock, timeout=_LOCK_TIMEOUT_S))
        for _ in range(_CREATE_ATTEMPTS - 1):
            try:
                return create()
            except Exception as error:
                if not _created_elsewhere(error):
                    raise
        return create()
