"""Helpers shared by the report tests: build a report through the CLI, check its images and its one-line errors."""

from __future__ import annotations

import re
from pathlib import Path

from reports import tables
from reports.build import main
from reports.importance import load_studies


def _build(fake, tmp_path, capsys, *extra):
    out = tmp_path / "report"
    code = main(["--db", fake.url, "--out", str(out), *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    return out, (out / "leaderboard.md").read_text(), (out / "index.html").read_text()


def _images_exist(out: Path, page: str) -> list[str]:
    images = re.findall(r'<img src="([^"]+)"', page)
    assert all((out / src).is_file() for src in images)
    return images


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def _studies(report, dataset: str):
    searches = set(tables.searched(report.trials[report.trials["dataset"] == dataset])["run_id"])
    return load_studies(report.runs[report.runs["run_id"].isin(searches)].to_dict("records"))
