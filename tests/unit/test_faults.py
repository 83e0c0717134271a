"""A full disk stops a search as interrupted, in one line naming the folder, with the results database intact.

The SQLite results database fills up for real (``PRAGMA max_page_count``: SQLite's own ``database or disk is full``,
as on a full disk); a trial's checkpoint write gets an injected ``OSError(ENOSPC)``. A tmpfs mount made by the test
is left to the end-to-end test (``tests/integration/test_faults_cli.py``), which needs the right to mount one.
"""

from __future__ import annotations

import errno
import signal
import sqlite3
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from records.run import RunRecord
from records.store import ResultsStore
from runners import faults

RUN = RunRecord(run_id="r", run_name="r", dataset="digits", space="s", budget="smoke", image_size=24, weights="none",
                seed=0)


@pytest.fixture
def signals(monkeypatch):
    """The signals the search would send itself, caught instead; the module's memory of a full disk reset."""
    sent = []
    monkeypatch.setattr(faults, "_stopped", [])
    monkeypatch.setattr(faults.os, "kill", lambda pid, sig: sent.append((pid, sig)))
    return sent


def _trial(trial_id, last_result):
    return SimpleNamespace(trial_id=trial_id, config={"backbone": "custom_cnn", "learning_rate": 0.01},
                           last_result=last_result, run_metadata=SimpleNamespace(num_failures=0),
                           error_file=None, get_error=lambda: None)


def test_what_counts_as_a_full_disk():
    full = OSError(errno.ENOSPC, "No space left on device", "/data/results/ray/x/checkpoint/model.keras")
    assert faults.disk_full(full) and faults.full_folder(full, "elsewhere") == "/data/results/ray/x/checkpoint"
    wrapped = sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    assert faults.disk_full(wrapped) and faults.disk_full(RuntimeError("Traceback ... OSError: [Errno 28] No space "
                                                                       "left on device"))
    try:
        try:
            raise full
        except OSError as error:
            raise RuntimeError("checkpoint failed") from error
    except RuntimeError as chained:
        assert faults.disk_full(chained)
    assert not faults.disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not faults.disk_full(sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")))


def test_the_line_names_the_folder_and_the_command(signals):
    assert faults.interrupted_line("python -m runners.search --resume x") == (
        "error: interrupted; continue it with: python -m runners.search --resume x")
    faults.stop_for_full_disk("/data/results")
    faults.stop_for_full_disk("/elsewhere")  # stopped once, the first folder kept
    assert signals == [(faults.os.getpid(), signal.SIGINT)]
    assert faults.interrupted_line("python -m runners.search --resume x") == (
        "error: no space left on device in /data/results; free some space and continue it with: "
        "python -m runners.search --resume x")


def test_a_full_results_database_stops_the_search_keeps_the_row_and_stays_intact(tmp_path, signals, capsys):
    from runners.callbacks import TrialRecorder

    url = f"sqlite:///{tmp_path}/leaderboard.db"
    store = ResultsStore(url)
    recorder = TrialRecorder(store, RUN)
    recorder.on_trial_complete(0, [], _trial("first", {"epoch": 1, "done": True, "final": True}))
    pages = store.engine.connect().exec_driver_sql("PRAGMA page_count").scalar()
    store.engine.dispose()
    # SQLite's own limit: no page more, so the next row finds the database full as on a full disk.
    sa.event.listen(store.engine, "connect", lambda conn, _: conn.execute(f"PRAGMA max_page_count = {pages}"))
    big = [{"epoch": e, "val_accuracy": 0.5, "phase": "x" * 2000} for e in range(1, 40)]
    recorder.histories["second"] = big
    recorder.on_trial_complete(0, [], _trial("second", {"epoch": 39, "done": True, "final": True}))

    assert signals == [(faults.os.getpid(), signal.SIGINT)]  # stopped as Ctrl-C stops it
    assert faults.disk_full_folder() == str(tmp_path)
    assert list(recorder.pending) == ["second"] and capsys.readouterr().err == ""  # kept for --resume; no warning
    with sqlite3.connect(tmp_path / "leaderboard.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("select trial_id from trials").fetchall() == [("first",)]
    store.engine.dispose()

    recorder.store = ResultsStore(url)  # space again: the kept row is written, once
    recorder.flush()
    assert sorted(recorder.store.trials().trial_id) == ["first", "second"] and not recorder.pending


def test_a_checkpoint_that_finds_no_space_ends_the_search_not_the_trial(tmp_path, signals):
    from runners.callbacks import ProgressPrinter, TrialRecorder

    store = ResultsStore(f"sqlite:///{tmp_path}/leaderboard.db")
    recorder, printer = TrialRecorder(store, RUN), ProgressPrinter(2, 3)
    result = {faults.DISK_FULL: "/data/ray/run", "best_val_accuracy": 0.5}  # the trainable's report (runners.trainable)
    printer.on_trial_result(0, [], _trial("t", result), result)
    recorder.on_trial_result(0, [], _trial("t", result), result)
    assert signals == [(faults.os.getpid(), signal.SIGINT)] and faults.disk_full_folder() == "/data/ray/run"
    assert "t" not in recorder.histories and store.trials().empty  # not recorded as failed: --resume continues it


def test_a_state_file_cut_short_by_a_full_disk_is_resumed_from_its_last_good_copy(tmp_path, capsys):
    import pickle

    from runners.state_copy import keep_good_copy, restore_good_copy

    state, searcher = tmp_path / "experiment_state-1.json", tmp_path / "searcher-state-1.pkl"
    state.write_text('{"trial_data": ["t1"]}')
    searcher.write_bytes(pickle.dumps({"suggested": 1}))
    keep_good_copy(tmp_path)
    assert not restore_good_copy(str(tmp_path))  # whole: left as it is
    state.write_text('{"trial_data": ["t1", "t2"]}')
    keep_good_copy(tmp_path)
    searcher.write_bytes(pickle.dumps({"suggested": 3})[:-4])  # a rewrite on a full disk, cut short
    keep_good_copy(tmp_path)  # not copied: the copy keeps the last whole state
    assert restore_good_copy(str(tmp_path))
    assert state.read_text() == '{"trial_data": ["t1", "t2"]}' and pickle.loads(searcher.read_bytes()) == {"suggested": 1}
    assert "continuing from its last good copy" in capsys.readouterr().out
