"""The results store: one row per finished trial and per run, in any SQLAlchemy database.

SQLite at ``results/leaderboard.db`` by default; PostgreSQL (or any SQLAlchemy URL)
on a cluster, where the tables live in the schema ``transfer_search`` so that the same
database may hold Optuna's storage. Users may query the ``trials`` and ``runs`` tables
directly: every hyperparameter the bundled spaces use has a column of its own, and the
full configuration and per-epoch history are kept as JSON. The schema has versions
(``records.migrations``): opening an older database upgrades it in place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from benchmarks.errors import UserError
from benchmarks.hyperparameters import HYPERPARAMETERS as VOCABULARY
from records import migrations
from records.databases import connect_args, create_schema, is_postgresql
from records.redact import display_url
from records.retry import retry_while_unreachable

__all__ = ["HYPERPARAMETERS", "ResultsStore", "default_db_url", "display_url", "exports_table", "runs_table",
           "trials_table"]

# One column each in `trials` for every hyperparameter of the vocabulary (benchmarks.hyperparameters); others
# (a reference recipe's head, say) live in the `config` JSON.
_SQL_TYPES: dict[type, type[sa.types.TypeEngine]] = {float: sa.Float, int: sa.Integer, str: sa.String}
HYPERPARAMETERS: dict[str, type[sa.types.TypeEngine]] = {name: _SQL_TYPES[h.type] for name, h in VOCABULARY.items()}

metadata = sa.MetaData()

trials_table = sa.Table(
    "trials",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), nullable=False, index=True),
    sa.Column("run_name", sa.String(200), nullable=False),
    sa.Column("trial_id", sa.String(64), nullable=False),
    sa.Column("dataset", sa.String(200), nullable=False, index=True),
    sa.Column("space", sa.String(100)),
    sa.Column("budget", sa.String(20)),
    sa.Column("family", sa.String(20)),  # custom_cnn | transfer | scratch (benchmarks.models.FAMILIES)
    sa.Column("backbone", sa.String(50)),
    sa.Column("is_reference", sa.Boolean, nullable=False, default=False),
    sa.Column("is_best", sa.Boolean, nullable=False, default=False),
    # search: sampled or a starting point; repeat: a finalist trained again with another seed; reference: a recipe.
    sa.Column("role", sa.String(20)),
    sa.Column("seed", sa.Integer),  # the training seed (weights' initialisation, shuffling, augmentation)
    sa.Column("repeat_of", sa.String(64)),  # a repeat's finalist: the search trial whose configuration it trains
    sa.Column("status", sa.String(20), nullable=False),  # completed | stopped | failed
    sa.Column("error", sa.Text),
    sa.Column("val_accuracy", sa.Float),
    sa.Column("val_loss", sa.Float),
    sa.Column("test_accuracy", sa.Float),
    sa.Column("test_f1_macro", sa.Float),
    # The class each test example was predicted as, in the run's test order (benchmarks.predictions encodes it):
    # what pairs two models' test figures example by example (benchmarks.comparison's paired bootstrap).
    sa.Column("test_predictions", sa.Text),
    sa.Column("epochs", sa.Integer),
    sa.Column("wall_seconds", sa.Float),
    sa.Column("params", sa.BigInteger),
    sa.Column("trainable_params", sa.BigInteger),
    # What the model costs (benchmarks.costs): the Keras model's single-image CPU latency on the trial's worker
    # (median, ms; a latency search's trials only) and floating-point operations per image at the trial's image
    # size (every trial); null where the trial measured none.
    sa.Column("latency_ms", sa.Float),
    sa.Column("flops", sa.BigInteger),
    sa.Column("image_size", sa.Integer),
    sa.Column("weights", sa.String(500)),
    sa.Column("node_id", sa.String(64)),  # the Ray node the trial ended on
    sa.Column("node_ip", sa.String(64)),
    sa.Column("worker_pid", sa.Integer),
    sa.Column("peak_rss_mb", sa.Float),  # the trial process's peak host memory
    sa.Column("worker_failures", sa.Integer),  # times its worker or node died and Ray retried it
    *(sa.Column(name, kind) for name, kind in HYPERPARAMETERS.items()),
    sa.Column("config", sa.Text),  # JSON: every hyperparameter
    sa.Column("history", sa.Text),  # JSON: one object per epoch
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("run_id", "trial_id", name="one_row_per_trial"),
)

runs_table = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("run_name", sa.String(200), nullable=False),
    sa.Column("dataset", sa.String(200), nullable=False),
    sa.Column("dataset_summary", sa.Text),
    sa.Column("class_names", sa.Text),  # JSON list
    sa.Column("space", sa.String(100)),
    sa.Column("budget", sa.String(20)),
    sa.Column("sampler", sa.String(20)),
    sa.Column("scheduler", sa.String(20)),
    sa.Column("objective", sa.String(40)),  # accuracy, or accuracy,latency|params|flops (runners.objectives)
    sa.Column("pick", sa.String(20)),  # how a two-objective search picked its best trial from the front
    sa.Column("seed", sa.Integer),
    sa.Column("num_samples", sa.Integer),
    sa.Column("max_concurrent", sa.Integer),
    sa.Column("epochs", sa.Integer),
    sa.Column("image_size", sa.Integer),
    sa.Column("weights", sa.String(500)),
    sa.Column("command", sa.Text),
    sa.Column("status", sa.String(20), nullable=False),  # running | finished | failed | interrupted
    sa.Column("trials_total", sa.Integer),
    sa.Column("trials_failed", sa.Integer),
    sa.Column("best_trial_id", sa.String(64)),
    sa.Column("test_metrics", sa.Text),  # JSON: classification_metrics() of the best trial
    sa.Column("published", sa.Text),  # JSON: a reference recipe's published figures
    sa.Column("finalists", sa.Text),  # JSON: each family's repeats, intervals, the difference and the verdict
    # What a test figure of this run means: a fingerprint of its test split (the examples and their labels, after
    # caps), the labels themselves (benchmarks.predictions), and the protocol that must match for two runs' figures
    # to be pooled (budget, image size per family, weights, epochs: JSON). benchmarks.comparison reads them.
    sa.Column("test_fingerprint", sa.String(64)),
    sa.Column("test_labels", sa.Text),
    sa.Column("protocol", sa.Text),
    sa.Column("environment", sa.Text),  # JSON: Python and package versions, git commit, OS, CPU, memory, GPUs
    sa.Column("model_path", sa.Text),
    sa.Column("storage_path", sa.Text),  # Ray's experiment folder: where --resume finds the run
    sa.Column("optuna_storage", sa.Text),  # the Optuna storage URL holding the run's study (named after the run)
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)


# One row per exported file of a run's model (runners.export): its size, latency, test figures and parity.
exports_table = sa.Table(
    "exports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), nullable=False, index=True),
    sa.Column("run_name", sa.String(200)),
    sa.Column("trial_id", sa.String(64), nullable=False),  # the search trial whose best checkpoint was exported
    sa.Column("role", sa.String(20)),  # best | finalist
    # savedmodel | tflite_float32 | tflite_float16 | tflite_int8 | onnx
    sa.Column("format", sa.String(30), nullable=False),
    sa.Column("path", sa.Text),
    sa.Column("bytes", sa.BigInteger),  # size on disk (a SavedModel: its whole folder)
    sa.Column("image_size", sa.Integer),
    sa.Column("params", sa.BigInteger),
    sa.Column("flops", sa.BigInteger),  # floating-point operations per image (multiply and add counted apart)
    sa.Column("latency_p50_ms_1t", sa.Float),  # single-image CPU latency, one thread
    sa.Column("latency_p90_ms_1t", sa.Float),
    sa.Column("latency_p50_ms_all", sa.Float),  # ... with all threads (threads_all)
    sa.Column("latency_p90_ms_all", sa.Float),
    sa.Column("threads_all", sa.Integer),
    sa.Column("test_accuracy", sa.Float),
    sa.Column("test_f1_macro", sa.Float),
    sa.Column("keras_test_accuracy", sa.Float),
    sa.Column("accuracy_diff_pp", sa.Float),  # test accuracy of the file minus the Keras model's, in points
    sa.Column("parity_ok", sa.Boolean),  # float32 formats: within 0.1 pp; null where the change is only measured
    sa.Column("error", sa.Text),  # why the export failed (then the figures are null)
    sa.Column("created_at", sa.DateTime(timezone=True)),
)


def default_db_url(results_dir: str | os.PathLike = "results") -> str:
    """The SQLite URL of ``<results_dir>/leaderboard.db``, the folder made absolute (the working directory's)."""
    return f"sqlite:///{os.path.abspath(os.path.join(results_dir, 'leaderboard.db'))}"


def now() -> dt.datetime:
    """The current time in UTC, timezone-aware, as every ``started_at``/``finished_at`` column stores it."""
    return dt.datetime.now(dt.timezone.utc)


_RUN_JSON = ("class_names", "test_metrics", "published", "finalists", "protocol", "environment")  # run fields stored as JSON text


def _connect_args(url: str) -> dict[str, Any]:
    """The engine's ``connect_args``: on PostgreSQL its tables are looked up and created in their own schema."""
    if is_postgresql(url):
        return {**connect_args(url), "options": f"-c search_path={migrations.SCHEMA}"}
    return connect_args(url)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


class ResultsStore:
    """Append-only access to the results database: runs accumulate, nothing is overwritten."""

    def __init__(self, url: str, *, create: bool = True):
        """Open the database at ``url``, brought to the newest schema; with ``create``, made where it has none."""
        self.url = url
        try:
            # Each pooled connection is checked before use: after a database server restarted, a dead one is
            # replaced, not handed to the next write.
            self.engine = sa.create_engine(url, connect_args=_connect_args(url), pool_pre_ping=True)
            self._server = not url.startswith("sqlite")  # a server may be restarted mid-run: its writes wait for it
            create_schema(url, lambda: migrations.upgrade(self.engine, metadata, create=create))
        except (sa.exc.SQLAlchemyError, ModuleNotFoundError, ValueError, OSError) as error:
            first = (str(error).splitlines() or [type(error).__name__])[0][:200]
            raise UserError(
                f"cannot open results database {display_url(url)!r} ({first}); check the --db URL"
            ) from None

    def check_writable(self) -> None:
        """Write a row and take it back, so that a read-only database fails before any trial, not after."""
        try:
            with self.engine.connect() as conn:
                transaction = conn.begin()
                conn.execute(sa.insert(runs_table).values(run_id="write-probe", run_name="write-probe",
                                                          dataset="write-probe", status="probe"))
                transaction.rollback()
        except sa.exc.SQLAlchemyError as error:
            first = str(error.orig if getattr(error, "orig", None) else error).splitlines()[0][:200]
            raise UserError(f"cannot write to results database {display_url(self.url)!r} ({first}); "
                            "make it writable or pass another --db") from None

    def _write(self, work):
        """``work(conn)`` in one transaction; on a database server, made again while the server does not answer."""
        def attempt():
            with self.engine.begin() as conn:
                return work(conn)

        return retry_while_unreachable(attempt, display_url(self.url)) if self._server else attempt()

    # Ray Tune pickles its callbacks with the experiment state; an engine does not pickle, its URL does.
    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], create=False)

    def start_run(self, **fields: Any) -> None:
        """Insert a ``runs`` row with status ``running`` (``started_at`` now unless given).

        ``fields`` are column values; the JSON columns (class names, test metrics, published figures,
        finalists) may be given as Python objects and are stored as JSON text.
        """
        fields = {**fields, "status": "running", "started_at": fields.get("started_at") or now()}
        for key in _RUN_JSON:
            if key in fields and not isinstance(fields[key], str):
                fields[key] = _json(fields[key])
        with self.engine.begin() as conn:
            conn.execute(sa.insert(runs_table).values(**fields))

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set columns of run ``run_id``'s row (its status, results, end); JSON columns as in :meth:`start_run`."""
        for key in _RUN_JSON:
            if key in fields and not isinstance(fields[key], str):
                fields[key] = _json(fields[key])
        where = runs_table.c.run_id == run_id
        self._write(lambda conn: conn.execute(sa.update(runs_table).where(where).values(**fields)))

    def record_trial(self, row: Mapping[str, Any]) -> None:
        """Insert a trial's row, or replace it if this run already stored that trial (a resumed trial)."""
        values = {k: v for k, v in row.items() if k in trials_table.c and k != "id"}
        for key in ("config", "history"):
            if key in values and not isinstance(values[key], str):
                values[key] = _json(values[key])
        where = (trials_table.c.run_id == values["run_id"]) & (trials_table.c.trial_id == values["trial_id"])

        def upsert(conn):
            if conn.execute(sa.select(trials_table.c.id).where(where)).first() is None:
                conn.execute(sa.insert(trials_table).values(**values))
            else:
                conn.execute(sa.update(trials_table).where(where).values(**values))

        self._write(upsert)

    def forget_trials(self, run_id: str, keep: set[str], *, repeats: bool = False) -> list[str]:
        """Delete this run's rows of trials not in ``keep``; return their ids.

        After a driver died, its last saved experiment state may not know a trial it had just started
        (and maybe recorded); the resumed search samples that slot again, so the old row would be one too many.
        ``repeats`` says which experiment ``keep`` comes from: the finalists' repeats, or the search.
        """
        role = trials_table.c.role
        is_repeat = role == "repeat" if repeats else sa.or_(role.is_(None), role != "repeat")
        with self.engine.begin() as conn:
            ids = [row.trial_id for row in conn.execute(
                sa.select(trials_table.c.trial_id).where((trials_table.c.run_id == run_id) & is_repeat))]
            gone = sorted(set(ids) - set(keep))
            if gone:
                conn.execute(sa.delete(trials_table).where(
                    (trials_table.c.run_id == run_id) & trials_table.c.trial_id.in_(gone)))
        return gone

    def run_row(self, run_id: str | None = None, run_name: str | None = None) -> dict[str, Any] | None:
        """One ``runs`` row as a dict (the latest of that name), or None."""
        with self.engine.connect() as conn:
            query = sa.select(runs_table)
            if run_id is not None:
                query = query.where(runs_table.c.run_id == run_id)
            if run_name is not None:
                query = query.where(runs_table.c.run_name == run_name)
            row = conn.execute(query.order_by(runs_table.c.started_at.desc())).first()
        return None if row is None else dict(row._mapping)

    def update_trial(self, run_id: str, trial_id: str, **fields: Any) -> None:
        """Set columns of one stored trial's row (``is_best``, test figures); values are stored as given."""
        where = (trials_table.c.run_id == run_id) & (trials_table.c.trial_id == trial_id)
        self._write(lambda conn: conn.execute(sa.update(trials_table).where(where).values(**fields)))

    def trials(self, dataset: str | None = None, run_id: str | None = None):
        """The ``trials`` table as a pandas DataFrame."""
        import pandas as pd

        with self.engine.connect() as conn:
            query = sa.select(trials_table)
            if dataset is not None:
                query = query.where(trials_table.c.dataset == dataset)
            if run_id is not None:
                query = query.where(trials_table.c.run_id == run_id)
            return pd.read_sql(query.order_by(trials_table.c.id), conn)

    def record_export(self, row: Mapping[str, Any]) -> None:
        """Insert an exported file's row, replacing this run's earlier row of the same trial and format."""
        values = {k: v for k, v in row.items() if k in exports_table.c and k != "id"}
        values.setdefault("created_at", now())
        where = ((exports_table.c.run_id == values["run_id"]) & (exports_table.c.trial_id == values["trial_id"])
                 & (exports_table.c.format == values["format"]))

        def replace(conn):
            conn.execute(sa.delete(exports_table).where(where))
            conn.execute(sa.insert(exports_table).values(**values))

        self._write(replace)

    def exports(self, run_id: str | None = None):
        """The ``exports`` table as a pandas DataFrame."""
        import pandas as pd

        with self.engine.connect() as conn:
            query = sa.select(exports_table)
            if run_id is not None:
                query = query.where(exports_table.c.run_id == run_id)
            return pd.read_sql(query.order_by(exports_table.c.id), conn)

    def runs(self):
        """The ``runs`` table as a pandas DataFrame."""
        import pandas as pd

        with self.engine.connect() as conn:
            return pd.read_sql(sa.select(runs_table).order_by(runs_table.c.started_at), conn)
