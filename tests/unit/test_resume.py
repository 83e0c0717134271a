"""What --resume and fault tolerance rest on, without Ray running: saved options, the storage path,
the recorder's state and failed-trial rows, and the store's one row per trial."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks.errors import UserError
from runners.resume import experiment_exists, normalize_storage_path, read_options, write_options
from records.run import RunRecord
from records.store import ResultsStore


def test_a_local_storage_path_becomes_absolute_and_must_be_writable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert normalize_storage_path("state/ray") == str(tmp_path / "state" / "ray")  # created later, by Ray
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is not writable"):
        normalize_storage_path(str(tmp_path / "file" / "ray"))
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(UserError, match="--storage-path .* is not writable"):
            normalize_storage_path(str(locked / "ray"))


def test_a_storage_uri_pyarrow_cannot_open_is_a_user_error():
    with pytest.raises(UserError, match="--storage-path nosuchscheme://bucket"):
        normalize_storage_path("nosuchscheme://bucket/ray")


def test_options_round_trip_through_the_experiment_folder(tmp_path):
    from runners.options import SearchOptions

    options = SearchOptions(
        dataset="digits", space="custom_cnn", budget="smoke", num_samples=4, epochs=2, image_size=24, sampler="tpe",
        scheduler="fifo", weights=None, seed=3, address=None, max_concurrent=2, cpus_per_trial=1.0, gpus_per_trial=0.5,
        results=tmp_path / "results", db="sqlite:///x.db", name="run-1", data_dir=None, val_fraction=0.15,
        test_fraction=0.15, storage_path=str(tmp_path / "ray"), precision="float32", max_failures=1,
    )
    storage = str(tmp_path / "ray")
    assert read_options(storage, "run-1") is None and not experiment_exists(storage, "run-1")
    write_options(storage, "run-1", {"options": options.to_json(), "run_id": "abc", "max_concurrent": 2})
    saved = read_options(storage, "run-1")
    assert experiment_exists(storage, "run-1") and saved["run_id"] == "abc"
    assert SearchOptions.from_json(saved["options"]) == options


def _args(tmp_path, *argv):
    from runners.search import build_parser

    return build_parser().parse_args(["--results", str(tmp_path / "results"), *argv])


def test_resume_needs_a_name_and_an_existing_run(tmp_path):
    from runners.options import resume_from_args

    with pytest.raises(UserError, match="--resume needs the run's name"):
        resume_from_args(_args(tmp_path, "--resume"))
    with pytest.raises(UserError, match="no run named 'ghost' to resume in .*results/ray"):
        resume_from_args(_args(tmp_path, "--resume", "ghost"))
    assert not (tmp_path / "results" / "leaderboard.db").exists()  # looking created nothing


def test_resume_reads_the_saved_settings_and_takes_only_the_address_from_the_command(tmp_path):
    from runners.options import options_from_args, resume_from_args

    first = options_from_args(_args(tmp_path, "--name", "r", "--weights", "none", "--epochs", "2", "--seed", "7"))
    write_options(first.storage_path, "r", {"options": first.to_json(), "run_id": "id1", "max_concurrent": 2})
    saved = resume_from_args(_args(tmp_path, "--resume", "r", "--epochs", "9", "--address", "10.0.0.1:6379"))
    assert (saved.run_id, saved.max_concurrent) == ("id1", 2)
    assert saved.options.epochs == 2 and saved.options.seed == 7 and saved.options.address == "10.0.0.1:6379"
    # The same command with --resume (the name from --name) finds it too.
    assert resume_from_args(_args(tmp_path, "--name", "r", "--resume")).run_id == "id1"


def test_resume_finds_a_run_kept_elsewhere_through_the_database(tmp_path):
    from runners.options import options_from_args, resume_from_args

    elsewhere = tmp_path / "shared" / "ray"
    first = options_from_args(_args(tmp_path, "--name", "far", "--storage-path", str(elsewhere)))
    write_options(first.storage_path, "far", {"options": first.to_json(), "run_id": "id2", "max_concurrent": 1})
    store = ResultsStore(first.db)
    store.start_run(run_id="id2", run_name="far", dataset="digits", storage_path=f"{elsewhere}/far")
    assert resume_from_args(_args(tmp_path, "--resume", "far")).options.storage_path == str(elsewhere)


def test_forgetting_trials_the_experiment_does_not_know(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path}/db.sqlite")
    for run_id, trial_id in (("a", "t1"), ("a", "t2"), ("a", "t3"), ("b", "t9")):
        store.record_trial({"run_id": run_id, "run_name": run_id, "trial_id": trial_id, "dataset": "d", "status": "completed"})
    assert store.forget_trials("a", {"t1", "t3"}) == ["t2"]
    assert sorted(store.trials().trial_id) == ["t1", "t3", "t9"]  # another run's rows are untouched
    assert store.forget_trials("a", {"t1", "t3"}) == []


def _trial(trial_id, last_result, num_failures=0):
    return SimpleNamespace(trial_id=trial_id, config={"backbone": "custom_cnn", "learning_rate": 0.01},
                           last_result=last_result, run_metadata=SimpleNamespace(num_failures=num_failures),
                           error_file=None, get_error=lambda: None)


RUN = RunRecord(run_id="r", run_name="r", dataset="digits", space="s", budget="smoke", image_size=24, weights="none",
                seed=0)


def test_the_recorder_state_survives_a_restart_and_a_resumed_epoch_is_not_doubled(tmp_path):
    import pickle

    from runners.callbacks import TrialRecorder

    store = ResultsStore(f"sqlite:///{tmp_path}/db.sqlite")
    recorder = TrialRecorder(store, RUN)
    trial = _trial("t1", {})
    recorder.on_trial_start(0, [], trial)
    for epoch in (1, 2):
        recorder.on_trial_result(0, [], trial, {"epoch": epoch, "val_accuracy": 0.5 + epoch / 10, "node_id": "n1",
                                                "peak_rss_mb": 500.0 + epoch})
    # A new driver: the recorder comes back from the pickled tuner, its state from the experiment checkpoint.
    restored = pickle.loads(pickle.dumps(recorder))
    restored.set_state(pickle.loads(pickle.dumps(recorder.get_state())))
    result = {"epoch": 2, "val_accuracy": 0.75, "node_id": "n2", "peak_rss_mb": 480.0}  # epoch 2 again, elsewhere
    restored.on_trial_result(0, [], trial, result)
    restored.on_trial_result(0, [], trial, {**result, "epoch": 3, "val_accuracy": 0.8})
    restored.on_trial_complete(0, [], _trial("t1", {**result, "epoch": 3, "done": True, "final": True, "pid": 42,
                                                    "node_ip": "10.0.0.2"}, num_failures=1))
    row = store.trials().iloc[0]
    assert row.epochs == 3 and row.val_accuracy == 0.8 and row.status == "completed"
    assert (row.node_id, row.node_ip, row.worker_pid, row.worker_failures) == ("n2", "10.0.0.2", 42, 1)
    # The peak over the epochs kept: the rerun epoch 2 replaced the first report of it.
    assert row.peak_rss_mb == 501.0 and row.started_at is not None


def test_a_trial_the_scheduler_stopped_is_recorded_as_stopped(tmp_path):
    from runners.callbacks import TrialRecorder

    store = ResultsStore(f"sqlite:///{tmp_path}/db.sqlite")
    recorder = TrialRecorder(store, RUN)
    for trial_id, final in (("asha", False), ("natural", True)):
        trial = _trial(trial_id, {})
        recorder.on_trial_result(0, [], trial, {"epoch": 1, "val_accuracy": 0.4})
        # Ray marks the last result done either way; only the trial knows whether it was its last epoch.
        recorder.on_trial_complete(0, [], _trial(trial_id, {"epoch": 1, "done": True, "final": final}))
    assert dict(store.trials()[["trial_id", "status"]].values) == {"asha": "stopped", "natural": "completed"}


def test_a_trial_that_raised_is_recorded_as_failed_with_its_error(tmp_path):
    from runners.callbacks import TrialRecorder, error_message
    from records.contract import TRIAL_ERROR

    store = ResultsStore(f"sqlite:///{tmp_path}/db.sqlite")
    recorder = TrialRecorder(store, RUN)
    trial = _trial("t1", {})
    recorder.on_trial_result(0, [], trial, {"epoch": 1, "val_accuracy": 0.4})
    failed = {"val_accuracy": float("nan"), TRIAL_ERROR: "ResourceExhaustedError: OOM when allocating tensor"}
    recorder.on_trial_result(0, [], trial, failed)  # not an epoch
    trial = _trial("t1", {**failed, "done": True})
    assert error_message(trial) == failed[TRIAL_ERROR]
    recorder.on_trial_complete(0, [], trial)
    row = store.trials().iloc[0]
    assert (row.status, row.error, row.epochs, row.val_accuracy) == ("failed", failed[TRIAL_ERROR], 1, 0.4)


def test_error_summary_is_the_type_and_the_first_line():
    from runners.trainable import error_summary

    assert error_summary(ValueError("bad image\nmore detail")) == "ValueError: bad image"
    assert error_summary(MemoryError()) == "MemoryError"


def test_failures_are_counted_by_reason():
    from runners.outcome import _count_failures
    from records.contract import TRIAL_ERROR

    def result(error=None, reported=None):
        return SimpleNamespace(error=error, metrics={TRIAL_ERROR: reported} if reported else {})

    failed = [result(reported="NonFiniteLossError: nan"), result(reported="NonFiniteLossError: nan"),
              result(error=RuntimeError("trace\nRayActorError: the actor died"))]
    assert _count_failures(failed) == ["2 x NonFiniteLossError: nan", "1 x RayActorError: the actor died"]


def test_experiment_path_joins_local_and_uri_storage():
    from runners.resume import experiment_path

    assert experiment_path("/data/ray/", "run") == "/data/ray/run"
    assert experiment_path("s3://bucket/ray", "run") == "s3://bucket/ray/run"
    assert Path(experiment_path("/a", "b")).name == "b"


def test_a_database_that_fails_mid_run_is_said_once_and_its_rows_are_kept_for_later(tmp_path, capsys, monkeypatch):
    import pickle

    import sqlalchemy as sa

    from runners.callbacks import TrialRecorder

    store = ResultsStore(f"sqlite:///{tmp_path}/db.sqlite")
    recorder = TrialRecorder(store, RUN)
    real = ResultsStore.record_trial

    def locked(self, row):
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(ResultsStore, "record_trial", locked)
    for trial_id in ("t1", "t2"):
        recorder.on_trial_result(0, [], _trial(trial_id, {}), {"epoch": 1, "val_accuracy": 0.6})
        recorder.on_trial_complete(0, [], _trial(trial_id, {"epoch": 1, "done": True, "final": True}))  # no raise
    warnings = [line for line in capsys.readouterr().err.splitlines() if line]
    assert warnings == ["warning: the results database refused a trial's row (database is locked); the search goes "
                        "on and keeps the rows in Ray's state"]
    assert set(recorder.pending) == {"t1", "t2"} and store.trials().empty
    # The database is back: a new driver's recorder (restored from Ray's state) writes them once, at the end.
    monkeypatch.setattr(ResultsStore, "record_trial", real)
    restored = pickle.loads(pickle.dumps(recorder))
    restored.set_state(pickle.loads(pickle.dumps(recorder.get_state())))
    restored.on_experiment_end([])
    rows = store.trials()
    assert sorted(rows.trial_id) == ["t1", "t2"] and restored.pending == {} and set(rows.status) == {"completed"}
