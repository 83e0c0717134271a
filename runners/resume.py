"""Where a search keeps its Ray state, and what ``--resume NAME`` needs to rebuild it.

A search writes its settings to ``<storage>/<name>/search_options.json`` before its first trial, next to
Ray Tune's experiment state, so that ``python -m runners.search --resume NAME`` alone can continue it.
The storage path is a local folder (shared between the nodes of a cluster) or any URI pyarrow opens
(``s3://``, ``gs://``, ...), as Ray Tune accepts.
"""

from __future__ import annotations

import json
import os
from typing import Any

from benchmarks.errors import UserError

__all__ = ["OPTIONS_FILE", "can_restore", "check_resumable", "claim_experiment", "experiment_exists",
           "experiment_path", "normalize_storage_path", "print_resume_state", "read_options", "write_options"]

OPTIONS_FILE = "search_options.json"


def _is_uri(path: str) -> bool:
    return "://" in path


def _filesystem(storage_path: str):
    import pyarrow.fs

    if _is_uri(storage_path):
        return pyarrow.fs.FileSystem.from_uri(storage_path)
    return pyarrow.fs.LocalFileSystem(), storage_path


def normalize_storage_path(path: str, flag: str = "--storage-path") -> str:
    """An absolute local folder that can be created and written, or a URI pyarrow can open; else a UserError.

    ``flag`` is how the error names where the path came from (``--results DIR`` when it is DIR/ray).
    """
    what = flag if flag.startswith("--results") else f"{flag} {path}"
    if _is_uri(path):
        try:
            _filesystem(path)
        except Exception as error:  # pyarrow raises several kinds for a bad URI or missing credentials
            raise UserError(f"{what}: {str(error).splitlines()[0][:200]}") from None
        return path
    folder = os.path.abspath(os.path.expanduser(path))
    existing = folder
    while not os.path.exists(existing):  # the nearest folder that exists must let us create the rest
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{what} is not writable ({existing} is not a writable folder)")
    return folder


def experiment_path(storage_path: str, name: str) -> str:
    """``<storage_path>/<name>``, the folder or URI of the run's Ray experiment (Tune's ``storage_path/name``)."""
    return f"{storage_path.rstrip('/')}/{name}"


def _path(storage_path: str, name: str, *parts: str) -> tuple[Any, str]:
    fs, base = _filesystem(storage_path)
    return fs, "/".join([base.rstrip("/"), name, *parts])


def experiment_exists(storage_path: str, name: str) -> bool:
    """Whether anything is at the run's experiment path, on a local folder or a URI (its contents unchecked)."""
    import pyarrow.fs

    fs, path = _path(storage_path, name)
    return fs.get_file_info(path).type != pyarrow.fs.FileType.NotFound


def claim_experiment(storage_path: str, name: str) -> bool:
    """Create the run's folder if no other search has: False where it exists already.

    A local folder is claimed atomically (``os.mkdir``), so two searches started at once with the same name
    cannot both take it; on a URI (``s3://``...) the check and the creation are two steps.
    """
    if _is_uri(storage_path):
        if experiment_exists(storage_path, name):
            return False
        fs, path = _path(storage_path, name)
        fs.create_dir(path, recursive=True)
        return True
    os.makedirs(storage_path, exist_ok=True)
    try:
        os.mkdir(experiment_path(storage_path, name))
    except FileExistsError:
        return False
    return True


def write_options(storage_path: str, name: str, options: dict[str, Any]) -> None:
    """Write :data:`OPTIONS_FILE` into the run's experiment folder (created if missing), replacing any earlier one.

    ``options`` is what :func:`read_options` will give back: the run's settings, its run_id and concurrency.
    """
    fs, path = _path(storage_path, name, OPTIONS_FILE)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as f:
        f.write(json.dumps(options, indent=2, default=str).encode())


def read_options(storage_path: str, name: str) -> dict[str, Any] | None:
    """The options a run saved, or None where there is no such run."""
    import pyarrow.fs

    fs, path = _path(storage_path, name, OPTIONS_FILE)
    if fs.get_file_info(path).type == pyarrow.fs.FileType.NotFound:
        return None
    with fs.open_input_stream(path) as f:
        return json.loads(f.read().decode())


def can_restore(path: str) -> bool:
    """Whether Ray Tune saved enough of the experiment at ``path`` to restore it (``Tuner.can_restore``)."""
    from ray import tune

    return tune.Tuner.can_restore(path)


def check_resumable(store, name: str, run_id: str, path: str) -> None:
    """A one-line error unless run ``name`` can be continued: not finished, and Ray's state saved at ``path``."""
    row = store.run_row(run_id=run_id)
    if row is not None and row["status"] == "finished":
        raise UserError(f"run {name!r} already finished; nothing to resume (its results are in the database)")
    if not can_restore(path):
        raise UserError(f"run {name!r} stopped before Ray saved any state in {path}; "
                        "start it again without --resume (and another --name)")


def print_resume_state(store, options, run_id: str) -> None:
    """One line: how many of the run's trials are recorded, and what the sampler's stored study keeps."""
    from records.study import load_run_study

    rows = store.trials(run_id=run_id)
    recorded = int((rows["role"].fillna("search") != "repeat").sum()) if len(rows) else 0
    study = load_run_study(options.optuna_storage, options.name) if options.optuna_storage else None
    learned = "" if study is None else (
        f"; the {options.sampler} sampler keeps {sum(t.state.is_finished() for t in study.trials)} finished trials")
    print(f"resume: {recorded} of {options.num_samples} trials already recorded{learned}", flush=True)
