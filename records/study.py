"""The search's Optuna study in Optuna's own storage: live in optuna-dashboard, loadable with ``optuna.load_study``.

Each run's study is named after the run and kept in an Optuna RDB storage, by default
``sqlite:///RESULTS/optuna.db`` beside the leaderboard database. It is a file of its own: Optuna's schema has a
``trials`` table too, so the two cannot share one SQLite file (``records.databases.check_apart`` refuses it).
``--optuna-storage URL`` puts it anywhere SQLAlchemy reaches; on PostgreSQL it may be the results database itself,
whose tables live in a schema of their own (``records.migrations.SCHEMA``) while Optuna's stay in ``public``.
Its schema is created under the same lock as the results store's. The study's user attributes say which run it
belongs to; its trial values are the number the search optimises (each trial's best-epoch validation accuracy).

    optuna-dashboard sqlite:///results/optuna.db      # watch a search live
    optuna.load_study(study_name=RUN, storage="sqlite:///results/optuna.db")
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks.errors import UserError
from records.databases import connect_args, create_schema, sqlite_file
from records.redact import display_url, redact

__all__ = ["OPTUNA_FILE", "create_study_storage", "default_optuna_url", "load_run_study", "open_storage"]

OPTUNA_FILE = "optuna.db"


def default_optuna_url(results_dir: str | os.PathLike) -> str:
    """The SQLite URL of ``<results_dir>/optuna.db`` (absolute), beside the leaderboard database, not in it."""
    return f"sqlite:///{os.path.abspath(os.path.join(results_dir, OPTUNA_FILE))}"


def open_storage(url: str):
    """Optuna's RDB storage at ``url`` (created where missing); a one-line error where it cannot be opened.

    Searches started at once on a fresh storage create Optuna's schema one at a time (``create_schema``).
    """
    import optuna

    try:
        return create_schema(url, lambda: optuna.storages.RDBStorage(url, engine_kwargs={
            "connect_args": connect_args(url)}))
    except Exception as error:  # SQLAlchemy, a missing driver, Optuna's own schema checks, a folder not made
        first = (str(error).splitlines() or [type(error).__name__])[0][:200]
        raise UserError(redact(f"cannot open Optuna storage {url!r} ({first}); check --optuna-storage")) from None


def create_study_storage(url: str, name: str, attrs: dict[str, Any]):
    """Create the run's study (maximising) with ``attrs`` as user attributes; return the storage for OptunaSearch.

    Ray's ``OptunaSearch`` then loads the study by name (it creates with ``load_if_exists=True``).
    """
    import optuna

    storage = open_storage(url)
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
    except optuna.exceptions.DuplicatedStudyError:
        raise UserError(
            f"the Optuna storage {display_url(url)} already holds a study named {name!r}; choose another --name"
        ) from None
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    return storage


def load_run_study(url: str, name: str):
    """The run's stored study, or None (a run recorded before studies were stored, or no storage there)."""
    import optuna

    path = sqlite_file(url)
    if path and not os.path.exists(path):
        return None  # do not create a storage just to look
    try:
        return optuna.load_study(study_name=name, storage=open_storage(url))
    except (KeyError, UserError):
        return None
