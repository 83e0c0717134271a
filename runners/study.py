"""The search's Optuna study in Optuna's own storage: live in optuna-dashboard, loadable with ``optuna.load_study``.

Each run's study is named after the run and kept in an Optuna RDB storage, by default
``sqlite:///RESULTS/optuna.db`` beside the leaderboard database. It is a file of its own: Optuna's schema has a
``trials`` table too, so the two cannot share one SQLite file. ``--optuna-storage URL`` puts it anywhere
SQLAlchemy reaches (PostgreSQL on a cluster). The study's user attributes say which run it belongs to; its trial
values are the number the search optimises (each trial's best-epoch validation accuracy).

    optuna-dashboard sqlite:///results/optuna.db      # watch a search live
    optuna.load_study(study_name=RUN, storage="sqlite:///results/optuna.db")
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks.errors import UserError
from runners.store import CREATE_ATTEMPTS, created_elsewhere

__all__ = ["OPTUNA_FILE", "create_study_storage", "default_optuna_url", "load_run_study", "open_storage"]

OPTUNA_FILE = "optuna.db"


def default_optuna_url(results_dir: str | os.PathLike) -> str:
    """The SQLite URL of ``<results_dir>/optuna.db`` (absolute), beside the leaderboard database, not in it."""
    return f"sqlite:///{os.path.abspath(os.path.join(results_dir, OPTUNA_FILE))}"


def open_storage(url: str):
    """Optuna's RDB storage at ``url`` (created where missing); a one-line error where it cannot be opened.

    Two searches started at once on a fresh storage both create Optuna's schema; the slower one meets the other's
    tables ("table studies already exists") or schema version row ("UNIQUE constraint failed: alembic_version"),
    and looks again, as the results store does. Without that, four processes opening one fresh SQLite file at once
    failed in 6 of 10 rounds on a 2-core machine.
    """
    import optuna

    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs = {"connect_args": {"timeout": 30}}  # other searches' writes are waited for, not errors
        path = url[len("sqlite:///"):].split("?")[0]
        if path:
            try:
                os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
            except OSError as error:
                raise UserError(f"cannot open Optuna storage {url!r} ({error}); check --optuna-storage") from None
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        except Exception as error:  # SQLAlchemy, a missing driver, Optuna's own schema checks
            if attempt < CREATE_ATTEMPTS and created_elsewhere(error):
                continue
            first = (str(error).splitlines() or [type(error).__name__])[0][:200]
            raise UserError(f"cannot open Optuna storage {url!r} ({first}); check --optuna-storage") from None


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
            f"the Optuna storage {url} already holds a study named {name!r}; choose another --name"
        ) from None
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    return storage


def load_run_study(url: str, name: str):
    """The run's stored study, or None (a run recorded before studies were stored, or no storage there)."""
    import optuna

    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):].split("?")[0]):
        return None  # do not create a storage just to look
    try:
        return optuna.load_study(study_name=name, storage=open_storage(url))
    except (KeyError, UserError):
        return None
