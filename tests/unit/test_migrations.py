"""The results database's schema versions: a first-release database upgraded in place and reported from.

The first release's schema is kept here as that release created it on SQLite (raw SQL, not the first revision), so
the revisions are checked against the real thing. Fast: SQLite files only, no trial.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from benchmarks.errors import UserError
from records.databases import check_apart
from records.migrations import VERSION_TABLE, alembic_config
from records.store import ResultsStore, metadata

FIRST_RELEASE = """
CREATE TABLE runs (
    run_id VARCHAR(32) NOT NULL, run_name VARCHAR(200) NOT NULL, dataset VARCHAR(200) NOT NULL,
    dataset_summary TEXT, class_names TEXT, space VARCHAR(100), budget VARCHAR(20), sampler VARCHAR(20),
    scheduler VARCHAR(20), seed INTEGER, num_samples INTEGER, max_concurrent INTEGER, epochs INTEGER,
    image_size INTEGER, weights VARCHAR(500), command TEXT, status VARCHAR(20) NOT NULL, trials_total INTEGER,
    trials_failed INTEGER, best_trial_id VARCHAR(64), test_metrics TEXT, model_path TEXT, started_at DATETIME,
    finished_at DATETIME, PRIMARY KEY (run_id));
CREATE TABLE trials (
    id INTEGER NOT NULL, run_id VARCHAR(32) NOT NULL, run_name VARCHAR(200) NOT NULL, trial_id VARCHAR(64) NOT NULL,
    dataset VARCHAR(200) NOT NULL, space VARCHAR(100), budget VARCHAR(20), family VARCHAR(20), backbone VARCHAR(50),
    is_reference BOOLEAN NOT NULL, is_best BOOLEAN NOT NULL, status VARCHAR(20) NOT NULL, error TEXT,
    val_accuracy FLOAT, val_loss FLOAT, test_accuracy FLOAT, test_f1_macro FLOAT, epochs INTEGER, wall_seconds FLOAT,
    params BIGINT, trainable_params BIGINT, image_size INTEGER, weights VARCHAR(500), learning_rate FLOAT,
    batch_size INTEGER, optimizer VARCHAR, dropout FLOAT, dense_units INTEGER, augmentation VARCHAR,
    unfrozen_layers INTEGER, depth INTEGER, width INTEGER, config TEXT, history TEXT, started_at DATETIME,
    finished_at DATETIME, PRIMARY KEY (id), CONSTRAINT one_row_per_trial UNIQUE (run_id, trial_id));
CREATE INDEX ix_trials_run_id ON trials (run_id);
CREATE INDEX ix_trials_dataset ON trials (dataset);
INSERT INTO runs (run_id, run_name, dataset, class_names, space, budget, status, trials_total, trials_failed,
    best_trial_id, started_at, finished_at)
    VALUES ('r1', 'first', 'digits', '["0", "1"]', 'custom_cnn', 'smoke', 'finished', 1, 0, 'old_trial_1',
    '2026-11-22 03:00:00.000000', '2026-11-22 03:05:00.000000');
INSERT INTO trials (run_id, run_name, trial_id, dataset, space, budget, family, backbone, is_reference, is_best,
    status, val_accuracy, val_loss, test_accuracy, test_f1_macro, epochs, wall_seconds, params, image_size,
    learning_rate, batch_size, optimizer, config, history, started_at, finished_at)
    VALUES ('r1', 'first', 'old_trial_1', 'digits', 'custom_cnn', 'smoke', 'custom_cnn', 'custom_cnn', 0, 1,
    'completed', 0.75, 0.6, 0.7, 0.69, 1, 12.5, 1234, 32, 0.001, 32, 'adam', '{"learning_rate": 0.001}',
    '[{"epoch": 1, "val_accuracy": 0.75}]', '2026-11-22 03:00:00.000000', '2026-11-22 03:05:00.000000');
"""


def _first_release_db(path) -> str:
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in filter(str.strip, FIRST_RELEASE.split(";")):
            conn.execute(sa.text(statement))
    engine.dispose()
    return url


def _differences(url: str) -> list:
    """What the database's schema lacks or has beyond today's metadata (none at the head revision)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": lambda o, name, kind, *_:
                                                         not (kind == "table" and name == VERSION_TABLE)})
        found = compare_metadata(context, metadata)
    engine.dispose()
    return found


def _version(url: str) -> str | None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        version = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    engine.dispose()
    return version


def _columns(url: str) -> dict[str, list[tuple[str, str, bool]]]:
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    found = {table: [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)]
             for table in sorted(inspector.get_table_names()) if table != VERSION_TABLE}
    engine.dispose()
    return found


def test_a_first_release_database_is_upgraded_in_place_and_reported_from(tmp_path):
    from reports.build import main

    url = _first_release_db(tmp_path / "first.db")
    assert _version(url) is None and _differences(url)  # no version, and many columns short of today's
    out = tmp_path / "report"
    assert main(["--db", url, "--out", str(out)]) == 0  # the report opens it: upgraded, then read
    assert _version(url) == "0003" and _differences(url) == []
    leaderboard = (out / "leaderboard.md").read_text()
    assert "| 1 | old\\_trial\\_1 | custom\\_cnn | completed | 75.00% | 70.00% | 69.00% |" in leaderboard
    store = ResultsStore(url)  # a search opening it again finds it current, the old row intact
    old = store.trials().iloc[0]
    assert old.trial_id == "old_trial_1" and old.val_accuracy == 0.75 and old.role is None
    store.record_trial({"run_id": "r2", "run_name": "today", "trial_id": "t", "dataset": "digits",
                        "status": "completed", "role": "search", "flops": 10, "test_predictions": "AAE="})
    store.start_run(run_id="r2", run_name="today", dataset="digits", protocol={"epochs": 1}, published={"a": 1})
    assert list(store.trials().trial_id) == ["old_trial_1", "t"] and store.run_row("r2")["protocol"] == '{"epochs": 1}'
    store.engine.dispose()


def test_the_first_revision_is_the_first_release_and_the_head_is_todays_metadata(tmp_path):
    first = _first_release_db(tmp_path / "raw.db")
    with sa.create_engine(first).begin() as conn:
        conn.execute(sa.text("DELETE FROM trials"))
        conn.execute(sa.text("DELETE FROM runs"))
    url = f"sqlite:///{tmp_path / 'revisions.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    assert _columns(url) == _columns(first)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert _differences(url) == []
    with engine.begin() as conn:  # and back down to nothing
        command.downgrade(alembic_config(conn), "base")
    assert set(sa.inspect(engine).get_table_names()) == {VERSION_TABLE}
    engine.dispose()
    store = ResultsStore(url)  # a fresh database is created at the head
    assert _version(url) == "0003" and _differences(url) == []
    store.engine.dispose()


def test_a_database_of_a_version_that_added_columns_by_hand_is_stamped_and_upgraded(tmp_path):
    url = f"sqlite:///{tmp_path / 'between.db'}"
    engine = sa.create_engine(url)
    metadata.create_all(engine)  # yesterday's version: everything but the columns added since, no version table
    with engine.begin() as conn:
        for table, column in (("runs", "test_fingerprint"), ("runs", "protocol"), ("trials", "test_predictions")):
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(sa.text("INSERT INTO runs (run_id, run_name, dataset, status) VALUES ('r', 'r', 'd', 'finished')"))
    engine.dispose()
    assert _version(url) is None and len(_differences(url)) == 3
    ResultsStore(url, create=False).engine.dispose()  # reading (a report, a worker) upgrades it too
    assert _version(url) == "0003" and _differences(url) == []
    assert ResultsStore(url).runs().run_id.tolist() == ["r"]


def test_reading_creates_no_tables_where_there_are_none(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    sa.create_engine(url).connect().close()
    ResultsStore(url, create=False).engine.dispose()
    assert sa.inspect(sa.create_engine(url)).get_table_names() == []


def test_one_sqlite_file_for_the_results_and_the_study_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    same = f"sqlite:///{tmp_path}/both.db"
    with pytest.raises(UserError, match=r"--db and --optuna-storage name the same SQLite file .*both\.db"):
        check_apart(same, f"sqlite:///{tmp_path}/./both.db")
    check_apart(same, f"sqlite:///{tmp_path}/optuna.db")
    check_apart("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db")  # one server database holds both

    from runners.search import main

    monkeypatch.chdir(tmp_path)
    try:
        code = main(["--budget", "smoke", "--weights", "none", "--db", same, "--optuna-storage", "sqlite:///both.db"])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert re.fullmatch(r"error: --db and --optuna-storage name the same SQLite file .*both\.db, .*own "
                        r"\(--optuna-storage sqlite:///\.\.\./optuna\.db\) or use one PostgreSQL database for both",
                        err[0]), err[0]
    assert not (tmp_path / "both.db").exists() and not (tmp_path / "results").exists()  # nothing created
