"""The results database's schema versions: Alembic revisions, and bringing any database up to the newest.

The revisions live in ``versions/`` (package data, shipped with ``records``); the database records the one it is at
in the table ``results_version``. A database made before it had versions (no such table, but ``trials`` or
``runs``) is stamped at the first release's revision, whose schema every version had, and upgraded from there: the
later revisions add only the columns and tables it lacks, as the versions before them added those by hand. On
PostgreSQL the tables live in the schema ``transfer_search`` (Optuna's storage keeps ``public`` to itself, so one
database holds both); one made before, with the tables in ``public``, has them moved there first.

A new database is created from the store's metadata and stamped at the newest revision (Alembic's recipe for
building one from scratch: a few statements instead of every revision's); the tests check that the revisions
end at that same schema.

    upgrade(engine, metadata, create=True)  # under records.databases.create_schema, so that processes take turns
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import sqlalchemy as sa
from alembic import command, op
from alembic.config import Config

__all__ = ["SCHEMA", "VERSION_TABLE", "add_missing_columns", "alembic_config", "upgrade"]

#: The PostgreSQL schema holding the project's tables (``trials``, ``runs``, ``exports``, ``results_version``).
SCHEMA = "transfer_search"
#: Where the database records its revision (not Alembic's default ``alembic_version``, which Optuna's storage uses).
VERSION_TABLE = "results_version"
_FIRST = "0001"
_OURS = {"runs": {"run_id", "run_name"}, "trials": {"run_id", "trial_id"}, "exports": {"run_id", "format"}}


def alembic_config(connection: sa.Connection):
    """An Alembic ``Config`` whose ``env.py`` runs the revisions on ``connection`` (no ``alembic.ini`` needed)."""
    config = Config()
    config.set_main_option("script_location", os.path.dirname(os.path.abspath(__file__)))
    config.set_main_option("version_table", VERSION_TABLE)
    config.attributes["connection"] = connection
    return config


def add_missing_columns(table: str, columns: Iterable[sa.Column]) -> None:
    """In a revision: add those of ``columns`` that ``table`` lacks (a version before revisions may have added it)."""
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}
    for column in columns:
        if column.name not in present:
            op.add_column(table, column)


def _move_from_public(conn: sa.Connection) -> None:
    """On PostgreSQL, move the project's tables from ``public`` to :data:`SCHEMA` (made where missing).

    A table in ``public`` is the project's where it has the project's columns (Optuna's ``trials`` has no
    ``run_id``); nothing moves once :data:`SCHEMA` has a ``runs`` table.
    """
    inspector = sa.inspect(conn)
    if SCHEMA in inspector.get_schema_names() and inspector.has_table("runs", schema=SCHEMA):
        return
    legacy = [name for name, needed in _OURS.items() if inspector.has_table(name, schema="public")
              and needed <= {column["name"] for column in inspector.get_columns(name, schema="public")}]
    if legacy:
        _create_schema(conn)
    for name in legacy:
        conn.execute(sa.text(f'ALTER TABLE public."{name}" SET SCHEMA "{SCHEMA}"'))


def _create_schema(conn: sa.Connection) -> None:
    if SCHEMA not in sa.inspect(conn).get_schema_names():  # CREATE needs a privilege even with IF NOT EXISTS
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))


def upgrade(engine: sa.Engine, metadata: sa.MetaData, *, create: bool = True) -> None:
    """Bring the results database at ``engine`` to the newest revision; with ``create``, make it where absent.

    ``metadata`` is the newest schema, what the revisions lead to. Without ``create`` a database with no results
    tables is left as it is (a report does not create one).
    """
    with engine.begin() as conn:
        postgresql = conn.dialect.name == "postgresql"
        if postgresql:
            _move_from_public(conn)
        tables = set(sa.inspect(conn).get_table_names())  # on PostgreSQL those in SCHEMA, the connection's path
        existing = bool(tables & set(_OURS))
        if not existing and not create:
            return
        if postgresql:
            _create_schema(conn)
        config = alembic_config(conn)
        if not existing:
            metadata.create_all(conn)
            command.stamp(config, "head")
            return
        if VERSION_TABLE not in tables:
            command.stamp(config, _FIRST)
        command.upgrade(config, "head")
