"""One PostgreSQL database for the results and the studies, one made before kept, the schema created in turns.

And a server restarted between two writes: the store's next write gets a live connection.

A throwaway server (``tests/pg_server.py``) on 127.0.0.1; no trial is trained, so this file takes seconds. Skipped,
with the reason, only where PostgreSQL is not installed (a failure where ``TRANSFER_SEARCH_REQUIRE_POSTGRES`` is set).
"""

from __future__ import annotations

import threading
import time

import optuna
import pandas as pd
import pytest
from helpers import run_at_once
import sqlalchemy as sa

from records import databases
from records.migrations import SCHEMA, VERSION_TABLE
from records.store import ResultsStore, metadata
from records.study import create_study_storage, load_run_study, open_storage

pytestmark = pytest.mark.timeout(300)



def _tables(url: str) -> dict[str, set[str]]:
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    found = {schema: set(inspector.get_table_names(schema=schema)) for schema in ("public", SCHEMA)
             if schema in inspector.get_schema_names()}
    engine.dispose()
    return found


def _trial(run_id: str, trial_id: str) -> dict:
    return {"run_id": run_id, "run_name": run_id, "trial_id": trial_id, "dataset": "digits", "status": "completed",
            "val_accuracy": 0.5, "config": {"learning_rate": 0.01}}


def test_one_database_holds_the_results_and_the_studies(postgres):
    url = postgres.create_database("both")
    store = ResultsStore(url)
    storage = create_study_storage(url, "run1", {"run_id": "r1"})  # Optuna's tables beside ours, in `public`
    store.start_run(run_id="r1", run_name="run1", dataset="digits")
    store.record_trial(_trial("r1", "t1"))
    study = optuna.load_study(study_name="run1", storage=storage)
    trial = study.ask()
    study.tell(trial, 0.5)
    tables = _tables(url)
    assert {"trials", "runs", "exports", VERSION_TABLE} == tables[SCHEMA]
    assert {"studies", "trials", "alembic_version"} <= tables["public"] and "runs" not in tables["public"]
    again = ResultsStore(url)  # both open again, as a second search or a resume does
    assert again.trials().trial_id.tolist() == ["t1"] and again.run_row("r1")["run_name"] == "run1"
    assert [t.value for t in load_run_study(url, "run1").trials] == [0.5]
    for engine in (store.engine, again.engine):
        engine.dispose()


def test_a_database_made_before_keeps_its_rows_in_the_projects_schema(postgres):
    url = postgres.create_database("before")
    engine = sa.create_engine(url)  # an earlier version: the tables in `public`, no schema version
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE runs DROP COLUMN protocol"))
        conn.execute(sa.text("INSERT INTO runs (run_id, run_name, dataset, status) VALUES ('old', 'old', 'd', 'finished')"))
    engine.dispose()
    store = ResultsStore(url)
    assert store.runs().run_id.tolist() == ["old"] and "protocol" in store.runs()
    tables = _tables(url)
    assert tables["public"] == set() and {"trials", "runs", "exports", VERSION_TABLE} == tables[SCHEMA]
    open_storage(url)  # the study now has `public` to itself
    assert {"studies", "trials"} <= _tables(url)["public"]
    store.engine.dispose()


def test_schema_creation_waits_for_the_advisory_lock(postgres):
    url = postgres.create_database("locked")
    holder = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with holder.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": databases._ADVISORY_KEY})
        opened = threading.Thread(target=lambda: ResultsStore(url).engine.dispose())
        opened.start()
        time.sleep(2)
        assert opened.is_alive() and SCHEMA not in _tables(url)  # waiting its turn, nothing created yet
        conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": databases._ADVISORY_KEY})
        opened.join(60)
    assert not opened.is_alive() and VERSION_TABLE in _tables(url)[SCHEMA]
    holder.dispose()


def _open_both(url: str, barrier, failures) -> None:
    barrier.wait()  # every process opens the fresh database at once
    try:
        ResultsStore(url).engine.dispose()
        open_storage(url)
    except Exception as error:
        failures.put(f"{type(error).__name__}: {error}")


def test_drivers_started_at_once_on_a_fresh_database_all_open_it(postgres):
    processes = 4
    for n in range(2):
        url = postgres.create_database(f"fresh{n}")
        run_at_once(_open_both, (url,), processes)
        engine = sa.create_engine(url)
        versions = pd.read_sql(sa.text(f"select * from {SCHEMA}.{VERSION_TABLE}"), engine)
        engine.dispose()
        assert versions.version_num.tolist() == ["0003"]


def test_a_write_after_the_server_restarted_gets_a_live_connection(postgres):
    store = ResultsStore(postgres.create_database("restarted"))
    store.record_trial(_trial("r", "before"))
    postgres._call("pg_ctl", "-D", str(postgres.data), "-l", str(postgres.root / "server.log"), "-m", "fast", "-w",
                   "-t", "60", "restart")  # its options as before (postmaster.opts), its log where it was
    store.record_trial(_trial("r", "after"))  # the pooled connection died with the server: checked, replaced
    assert store.trials().trial_id.tolist() == ["before", "after"]
    store.engine.dispose()
