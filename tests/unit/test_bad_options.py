"""Bad flags stop before any trial with one `error:` line and exit code 2, in-process (no trial).

The command-line corpus of issue 19 that needs no trial: each case runs ``runners.search.main`` and checks the
exit code, a single line on stderr, and that no results database was created (or the existing one untouched).
The database is opened last of the checks, after Ray's resources, so its cases start (and stop) a local Ray.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from runners.search import main
from records.store import ResultsStore

SMOKE = ["--budget", "smoke", "--weights", "none"]


def _file(tmp_path: Path) -> str:
    (tmp_path / "plain-file").write_text("not a folder")
    return str(tmp_path / "plain-file")


def _read_only_db(tmp_path: Path) -> str:
    store = ResultsStore(f"sqlite:///{tmp_path}/ro.db")
    store.engine.dispose()
    # SQLite's read-only mode: the tables open, no write succeeds (root ignores file permissions, so no chmod).
    return f"sqlite:///file:{tmp_path}/ro.db?mode=ro&uri=true"


CASES = {
    "negative-seed": (lambda t: ["--seed", "-1"], r"--seed must be between 0 and 4294967295, got -1"),
    "huge-seed": (lambda t: ["--seed", str(2**32)], r"--seed must be between 0 and"),
    "name-dot": (lambda t: ["--name", "."], r"--name '\.' may only use letters, digits.*not '\.' or '\.\.'"),
    "name-dotdot": (lambda t: ["--name", ".."], r"--name '\.\.' may only"),
    "name-too-long": (lambda t: ["--name", "n" * 300], r"--name is 300 characters long; use at most 100"),
    "weights-without-backbone": (lambda t: ["--space", "custom_cnn", "--weights", "/missing.h5"],
                                 r"space 'custom_cnn' trains no backbone, so --weights /missing.h5 has nothing to load"),
    "image-too-small": (lambda t: ["--image-size", "5"], r"--image-size 5 is outside what space 'default' can train: 32 to 1024"),
    "image-too-small-cnn": (lambda t: ["--space", "custom_cnn", "--image-size", "8"], r"custom_cnn' can train: 16 to 1024"),
    "image-too-large": (lambda t: ["--image-size", "100000"], r"--image-size 100000 is outside"),
    "negative-repeats": (lambda t: ["--repeats", "-1"], r"--repeats must be at least 0, got -1"),
    "bad-finalists": (lambda t: ["--finalists", "best"], r"invalid choice: 'best'"),
    "db-in-proc": (lambda t: ["--db", "sqlite:////proc/x/y.db"], r"cannot open results database 'sqlite:////proc/x/y\.db'"),
    "db-under-a-file": (lambda t: ["--db", f"sqlite:///{_file(t)}/x/y.db"], r"cannot open results database"),
    "db-read-only": (lambda t: ["--db", _read_only_db(t)], r"cannot write to results database .*readonly"),
    "results-under-a-file": (lambda t: ["--results", f"{_file(t)}/results"], r"--results .*plain-file/results is not writable"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_flag_is_one_line_before_any_trial(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args, message = CASES[case]
    argv = [*SMOKE, *args(tmp_path)]
    existing = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.rglob("*.db")}
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert re.search(message, err[0]), err[0]
    assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "results").exists()  # no database, no Ray state for a rejected command
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.rglob("*.db")} == existing


def _exit_code(argv: list[str]) -> int:
    """What ``python -m runners.search ARGV`` would exit with (argparse's own errors exit through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code)



def test_a_password_in_the_database_url_is_never_printed_or_stored(tmp_path):
    from runners.options import SearchOptions, resume_command
    from records.store import display_url

    url = "postgresql+psycopg://searcher:s3cret@dbhost:5432/results"
    assert display_url(url) == "postgresql+psycopg://searcher:***@dbhost:5432/results"
    options = SearchOptions(
        dataset="digits", space="default", budget="smoke", num_samples=1, epochs=1, image_size=32, sampler="tpe",
        scheduler="fifo", weights=None, seed=0, address=None, max_concurrent=None, cpus_per_trial=1.0,
        gpus_per_trial=0.0, results=tmp_path, db=url, name="n", data_dir=None, val_fraction=0.15, test_fraction=0.15,
        storage_path=str(tmp_path / "ray"))
    command = resume_command(options)
    assert "s3cret" not in command and "--db 'postgresql+psycopg://searcher:***@dbhost:5432/results'" in command
