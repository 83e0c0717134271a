"""Shared fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_results import BEANS, DIGITS, FakeResults, populate_finalists, populate_rich
from helpers import kill_processes_mentioning, short_ray_tmpdir
from pg_server import PostgresServer, find_binaries

from reports.data import load_results

# --------------------------------------------------------------------------- reports: fake results databases
# Realistic rows written through records.store.ResultsStore (tests/fake_results.py), so that report tests never
# need a real search.


@pytest.fixture(scope="session")
def report_fakes() -> SimpleNamespace:
    """``FakeResults`` (a writer of realistic fake runs), ``populate_rich`` (the two-dataset scenario) and
    ``populate_finalists`` (repeated finalists)."""
    return SimpleNamespace(
        FakeResults=FakeResults, populate_rich=populate_rich, populate_finalists=populate_finalists,
        BEANS=BEANS, DIGITS=DIGITS,
    )  # fmt: skip


@pytest.fixture
def fake_results(tmp_path: Path) -> FakeResults:
    """An empty results database under ``tmp_path/results`` with a writer of fake runs."""
    return FakeResults(tmp_path / "results" / "leaderboard.db")


@pytest.fixture(scope="session")
def rich_report(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The two-dataset scenario, reported once per session by the real command (``python -m reports.build``)."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("rich")
    fake = populate_rich(FakeResults(root / "results" / "leaderboard.db"))
    out = root / "report"
    done = subprocess.run(
        [sys.executable, "-m", "reports.build", "--results", str(root / "results"), "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return SimpleNamespace(out=out, url=fake.url, stdout=done.stdout, stderr=done.stderr)


@pytest.fixture(scope="session")
def finalists_report(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The repeated-finalists scenario (:func:`populate_finalists`), reported once per session by ``main``."""
    from reports.build import main

    root = tmp_path_factory.mktemp("finalists-report")
    fake = populate_finalists(FakeResults(root / "results" / "leaderboard.db"))
    out = root / "report"
    assert main(["--db", fake.url, "--out", str(out)]) == 0
    return SimpleNamespace(out=out, url=fake.url)


# --------------------------------------------------------------------------- data: small image folders

from helpers import make_class_folders  # noqa: E402


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Class-per-folder dataset: ants, bees, wasps with 20 images each."""
    return make_class_folders(tmp_path / "insects", {"ants": 20, "bees": 20, "wasps": 20})


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch) -> None:
    """Archives extract into a per-session cache, never the user's."""
    monkeypatch.setenv("TRANSFER_SEARCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def rich(tmp_path_factory, report_fakes):
    """The two-dataset scenario, loaded (no report built)."""
    fake = report_fakes.populate_rich(report_fakes.FakeResults(tmp_path_factory.mktemp("db") / "leaderboard.db"))
    return load_results(fake.url)


@pytest.fixture(scope="module")
def finalists(finalists_report):
    """The repeated-finalists scenario (tests/conftest.py: populate_finalists), loaded and reported."""
    out = finalists_report.out
    return SimpleNamespace(
        data=load_results(finalists_report.url),
        markdown=(out / "leaderboard.md").read_text(),
        page=(out / "index.html").read_text(),
    )


# --------------------------------------------------------------------------- real services and processes


@pytest.fixture(scope="module")
def postgres():
    """A real PostgreSQL server on 127.0.0.1 for the module's tests (``tests/pg_server.py``); skipped where none is
    installed, failed instead where ``TRANSFER_SEARCH_REQUIRE_POSTGRES`` is set (CI)."""
    bindir = find_binaries()
    if bindir is None:
        reason = ("PostgreSQL is not installed (no initdb, pg_ctl and postgres on PATH or in /usr/lib/postgresql/*/bin; "
                  "apt-get install postgresql)")
        if os.environ.get("TRANSFER_SEARCH_REQUIRE_POSTGRES"):
            pytest.fail(f"{reason}, and TRANSFER_SEARCH_REQUIRE_POSTGRES is set")
        pytest.skip(reason)
    with PostgresServer(bindir) as server:
        yield server


@pytest.fixture
def ray_tmp():
    """A RAY_TMPDIR of the test's own (its driver's local Ray), its processes ended and the folder removed after."""
    tmp = short_ray_tmpdir()
    yield {"RAY_TMPDIR": str(tmp)}
    kill_processes_mentioning(str(tmp))  # a killed driver's local Ray, should its reaper not have ended it
    shutil.rmtree(tmp, ignore_errors=True)
