"""What the results database and the Optuna storage share: SQLite files made ready, schemas created once.

Two searches started at once on a fresh results folder (two users sharing it, or a script starting several) both
create the same tables. They take turns: on SQLite under a lock file beside the database (``.NAME.lock``, from
the ``filelock`` package), on PostgreSQL under an advisory lock (``pg_advisory_lock``, held by a connection of its
own for as long as the creation runs); the results store and the Optuna storage take the same lock. On any
database the slower search also looks again when told that a table, column or row "already exists".

Why a lock and not only looking again: ``tests/unit/test_store_and_metrics.py`` opens a fresh Optuna SQLite storage
from four processes at once, 12 rounds. It fails with neither; looking again up to five times still failed one
round in a clean-clone CI run, as each attempt met the next of Optuna's tables being created by another process.

    storage = create_schema(url, lambda: optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": ...}))
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from filelock import FileLock

from benchmarks.errors import UserError

__all__ = ["check_apart", "connect_args", "create_schema", "is_postgresql", "sqlite_file"]

T = TypeVar("T")

# What a database says when another process created the same table, column or row a moment before: SQLite's and
# PostgreSQL's wordings.
_CREATED_ELSEWHERE = ("already exists", "duplicate column", "duplicate key value", "unique constraint failed")
_CREATE_ATTEMPTS = 5
_LOCK_TIMEOUT_S = 120
# The advisory lock's key (a 64-bit number every process of this project agrees on; locks are per database).
_ADVISORY_KEY = 0x7472616E73666572  # "transfer" in ASCII


def sqlite_file(url: str) -> str | None:
    """The absolute path of a SQLite URL's file; None for an in-memory SQLite database or any other database."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?")[0]
    return os.path.abspath(path) if path and path != ":memory:" else None


def is_postgresql(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (any driver: ``postgresql+psycopg://``, ``postgresql://``)."""
    try:
        return sa.engine.make_url(url).get_backend_name() == "postgresql"
    except sa.exc.ArgumentError:
        return False


def check_apart(db: str, optuna_storage: str) -> None:
    """Refuse one SQLite file as both the results database and the Optuna storage (both have a ``trials`` table).

    Raises:
        UserError: both URLs name the same SQLite file.
    """
    path, other = sqlite_file(db), sqlite_file(optuna_storage)
    if path and other and os.path.realpath(path) == os.path.realpath(other):
        raise UserError(f"--db and --optuna-storage name the same SQLite file {path}, and both have a 'trials' "
                        "table; give the study a file of its own (--optuna-storage sqlite:///.../optuna.db) or "
                        "use one PostgreSQL database for both")


def connect_args(url: str) -> dict[str, Any]:
    """SQLAlchemy ``connect_args``: on SQLite another search's write is waited for (30 s), not an error."""
    return {"timeout": 30} if url.startswith("sqlite") else {}


def _created_elsewhere(error: BaseException) -> bool:
    """Whether ``error`` says another process created the same schema object first (look again, not an error)."""
    return any(text in str(getattr(error, "orig", None) or error).lower() for text in _CREATED_ELSEWHERE)


@contextlib.contextmanager
def _advisory_lock(url: str) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock on the database at ``url`` (waiting at most the lock timeout).

    Where it cannot be had in that time (or the lock's own connection fails), the block runs without it.
    """
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            try:
                conn.execute(sa.text(f"SET lock_timeout = '{_LOCK_TIMEOUT_S}s'"))
                conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_KEY})
                conn.commit()  # a session lock: held past the commit, until unlocked or the connection closes
                held = True
            except sa.exc.SQLAlchemyError:
                conn.rollback()
                held = False
            try:
                yield
            finally:
                if held:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_KEY})
                    conn.commit()
    finally:
        engine.dispose()


def create_schema(url: str, create: Callable[[], T]) -> T:
    """Run ``create`` (which creates what is missing of a schema at ``url``) once at a time; return its result.

    A SQLite file's folder is made first and its creation runs under a lock file beside it, ``.NAME.lock``. Where
    that lock cannot be had (a read-only folder, or another process holding it past the timeout, which
    ``filelock`` raises as an OSError), the creation goes on without it; a read-only database is then reported by
    its own error or the store's write check. On PostgreSQL it runs under an advisory lock, likewise given up on
    after the timeout. Any database's creation is tried again when its error says another process created the same
    thing first.

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
        elif is_postgresql(url):
            held.enter_context(_advisory_lock(url))
        for _ in range(_CREATE_ATTEMPTS - 1):
            try:
                return create()
            except Exception as error:
                if not _created_elsewhere(error):
                    raise
        return create()
