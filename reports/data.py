"""Reading the results database into the two DataFrames every table and plot is built from."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from benchmarks.errors import UserError
from benchmarks.models import family
from records.store import HYPERPARAMETERS, ResultsStore, display_url, runs_table

__all__ = [
    "HYPERPARAMETER_COLUMNS",
    "ReportData",
    "display_url",
    "load_results",
    "prepare_runs",
    "prepare_trials",
]

HYPERPARAMETER_COLUMNS: tuple[str, ...] = tuple(HYPERPARAMETERS)
#: What a trial row is (``trials.role``): sampled by a search, a finalist trained again, or a fixed recipe.

_NUMERIC = (
    "val_accuracy",
    "val_loss",
    "test_accuracy",
    "test_f1_macro",
    "epochs",
    "wall_seconds",
    "params",
    "trainable_params",
    "image_size",
    "seed",
)


@dataclass(frozen=True)
class ReportData:
    """Everything a report is built from: trials and runs of the selected datasets."""

    url: str
    trials: pd.DataFrame
    runs: pd.DataFrame
    datasets: list[str]


def _loads(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _as_bool(series: pd.Series) -> pd.Series:
    return series.map(lambda v: False if v is None or (isinstance(v, float) and pd.isna(v)) else bool(v)).astype(bool)


def _utc(series: pd.Series) -> pd.Series:
    """Timestamps as naive UTC (SQLite returns naive values, which the store wrote in UTC)."""
    return pd.to_datetime(series, errors="coerce", utc=True).dt.tz_localize(None)


def _pretrained(weights: Any) -> bool:
    """False for weights ``none``, None or empty: the backbone was trained from scratch."""
    return not (weights is None or pd.isna(weights) or str(weights).strip().lower() in ("", "none"))


def _family(stored: Any, backbone: Any, weights: Any) -> str:
    """A trial's family: the stored one, else inferred from the backbone.

    It is ``scratch`` for a backbone without pretrained weights that an older database stored as ``transfer``.
    """
    if backbone is None or pd.isna(backbone):
        return "unknown" if stored is None or pd.isna(stored) else str(stored)
    if stored is None or pd.isna(stored) or stored == "transfer":
        return family(str(backbone), pretrained=_pretrained(weights))
    return str(stored)


def _role(stored: Any, is_reference: bool) -> str:
    """The stored role, or for an older database's NULL: ``reference`` where ``is_reference``, else ``search``."""
    if stored is None or pd.isna(stored) or str(stored) == "":
        return "reference" if is_reference else "search"
    return str(stored)


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name].astype(object) if name in df else pd.Series(None, index=df.index, dtype=object)


def prepare_trials(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalise a raw ``trials`` frame: booleans, numbers, family and role filled in, JSON columns parsed.

    ``family`` is read honestly (see :func:`_family`); ``role`` is one of :data:`ROLES` and ``is_reference``
    agrees with it. Adds
    ``history_list`` (list of per-epoch dicts), ``config_dict``, ``label`` (``run_name/trial_id``) and, for a
    repeat, ``finalist`` (the label of the search trial it repeats; None for other trials).
    """
    df = frame.copy()
    for column in ("is_best", "is_reference"):
        df[column] = _as_bool(df[column]) if column in df else False
    for column in ("seed", "repeat_of"):
        df[column] = df[column].astype(object)
    for column in _NUMERIC + tuple(c for c, kind in HYPERPARAMETERS.items() if kind is not sa.String):
        if column in df:
            df[column] = pd.to_numeric(df[column], errors="coerce").astype(float)
    df["status"] = df["status"].fillna("failed").astype(str).str.lower()
    backbone = df["backbone"].astype(object)
    df["family"] = [
        _family(*values) for values in zip(_column(df, "family"), backbone, _column(df, "weights"), strict=True)
    ]
    df["role"] = [_role(*values) for values in zip(df["role"].astype(object), df["is_reference"], strict=True)]
    df["is_reference"] = df["is_reference"] | (df["role"] == "reference")
    df["backbone"] = backbone.where(backbone.notna(), None).fillna("unknown").astype(str)
    for column in ("started_at", "finished_at"):
        df[column] = _utc(df[column])
    df["history_list"] = df["history"].map(lambda h: v if isinstance(v := _loads(h), list) else [])
    df["config_dict"] = df["config"].map(lambda c: v if isinstance(v := _loads(c), dict) else {})
    df["label"] = df["run_name"].astype(str) + "/" + df["trial_id"].astype(str)
    finalist = df["run_name"].astype(str) + "/" + df["repeat_of"].astype(str)
    df["finalist"] = finalist.where(df["repeat_of"].notna() & (df["role"] == "repeat"), None)
    return df.reset_index(drop=True)


def prepare_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalise a raw ``runs`` frame: ``class_names``, ``test_metrics`` and ``published`` parsed from JSON."""
    df = frame.copy()
    df["class_names_list"] = df["class_names"].map(lambda c: v if isinstance(v := _loads(c), list) else None)
    df["test_metrics_dict"] = df["test_metrics"].map(lambda m: v if isinstance(v := _loads(m), dict) else None)
    df["published_dict"] = df["published"].map(lambda p: v if isinstance(v := _loads(p), dict) else None)
    for column in ("started_at", "finished_at"):
        df[column] = _utc(df[column])
    for column in ("trials_total", "trials_failed"):
        df[column] = pd.to_numeric(df[column], errors="coerce")
    return df.reset_index(drop=True)


def _sqlite_path(url: str) -> str | None:
    try:
        parsed = sa.engine.make_url(url)
    except Exception:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def load_results(url: str, datasets: Sequence[str] | None = None) -> ReportData:
    """Read trials and runs, keeping only ``datasets`` when given.

    Raises :class:`UserError` for a missing or empty database and for a dataset without rows.
    """
    shown = display_url(url)
    path = _sqlite_path(url)
    if path is not None and not os.path.isfile(path):
        raise UserError(f"no results database at {path}; run a search first, or pass --db URL / --results DIR")
    try:
        store = ResultsStore(url, create=False)
    except UserError as error:
        raise UserError(str(error).replace(url, shown)) from None
    try:
        inspector = sa.inspect(store.engine)
        tables = set(inspector.get_table_names())
        if "trials" not in tables:
            raise UserError(f"results database {shown} is empty (it has no trials table); run a search first")
        trials = store.trials()
        runs = store.runs() if "runs" in tables else pd.DataFrame(columns=[c.name for c in runs_table.c])
    except sa.exc.SQLAlchemyError as error:
        first = str(error).splitlines()[0][:200]
        raise UserError(f"cannot read results database {shown} ({first})") from None
    finally:
        store.engine.dispose()
    if trials.empty:
        raise UserError(f"results database {shown} has no trials yet; run a search first")
    available = sorted(trials["dataset"].astype(str).unique())
    if datasets:
        wanted = list(dict.fromkeys(datasets))
        missing = [name for name in wanted if name not in available]
        if missing:
            raise UserError(
                f"no trials for dataset {', '.join(repr(m) for m in missing)} in {shown}; "
                f"datasets with results: {', '.join(available)}"
            )
        trials = trials[trials["dataset"].isin(wanted)]
        order = wanted
    else:
        order = available
    trials = prepare_trials(trials)
    runs = runs[runs["run_id"].isin(set(trials["run_id"])) | runs["dataset"].isin(order)]
    runs = prepare_runs(runs)
    return ReportData(url=shown, trials=trials, runs=runs, datasets=list(order))
