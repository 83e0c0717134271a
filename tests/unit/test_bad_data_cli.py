"""Bad data through the command line: one ``error:`` line, exit status 2, no traceback, before any trial."""

from __future__ import annotations

import pytest
from helpers import run_cli, write_zip

# Two cases, as each starts the command line (about 15 s); the others are the same errors, tested in-process.
CASES = {
    "escaping-zip": (lambda t: str(write_zip(t / "evil.zip", {"d/a/x.png": b"x", "../evil.png": b"x"})),
                     "would be written outside the extraction folder"),
    "tfds-version": (lambda t: "cifar10:99.9.9", "has no version 99.9.9; it has 3.0.2"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_is_one_error_line(case, tmp_path):
    dataset, message = CASES[case]
    env = {"TRANSFER_SEARCH_CACHE": str(tmp_path / "cache")}
    result = run_cli("runners.search", "--budget", "smoke", "--dataset", dataset(tmp_path), cwd=tmp_path, env=env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert not (tmp_path / "evil.png").exists() and not (tmp_path.parent / "evil.png").exists()
