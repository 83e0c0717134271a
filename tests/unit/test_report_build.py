"""The whole report through ``python -m reports.build``: files and contents, edge cases, one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from report_helpers import _build, _images_exist, _one_line_error

from benchmarks.errors import UserError
from reports.build import main
from reports.data import load_results
from records.store import ResultsStore

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- the full report


def test_full_report_files_and_contents(rich_report):
    out = rich_report.out
    printed = rich_report.stdout.splitlines()
    assert printed[0] == f"wrote {out / 'leaderboard.md'}" and printed[-1].startswith("report: ")
    assert rich_report.stderr == ""
    markdown = (out / "leaderboard.md").read_text()
    page = (out / "index.html").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert images and images == re.findall(r'<img src="([^"]+)"', page)
    for src in images:
        assert src.startswith("plots/") and (out / src).stat().st_size > 5000, src
    assert len(images) == 12  # 1 summary, 1 expected best accuracy against budget, 5 per dataset
    for text in ("Custom CNN vs transfer learning", "Backbones across datasets", "Runs covered", "Reference recipes"):
        assert text in markdown and text in page
    # the numbers come from the database: the side-by-side summary of beans
    assert "| beans | Best trial (by validation accuracy) | beans-cnn/c01 (custom\\_cnn) |" in markdown
    assert "| 78.00% | 90.00% | +12.00 pp |" in markdown and "| 74.00% | 88.00% | +14.00 pp |" in markdown
    assert "not evaluated" in markdown  # the test-metrics footnote
    assert "beans: transfer learning (mobilenet\\_v2) leads the custom CNN on validation by 12.00 pp (best of the search, optimistic)" in markdown
    assert "digits: the custom CNN leads transfer learning" in markdown
    # the leaderboard of beans: one Markdown row per trial the caption claims
    section = markdown.split("**Top 9 of 9 finished searched trials on beans")[1].split("\n\n")[1]
    rows = section.splitlines()[2:]
    assert len(rows) == 9 and rows[0].startswith(
        "| 1 | beans-search | t02 | mobilenet\\_v2 | completed | 90.00% | 88.00% |"
    )
    # which runs and when
    assert "Covers 4 runs (beans-search, beans-cnn, beans-reference, digits-search) on 2 datasets" in markdown
    assert "2024-05-01 09:00" in markdown
    # escaping of stored strings
    assert "ValueError: bad \\| pipe \\<b\\>x\\</b\\>" in markdown
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "Custom CNN: not enough trials: 2 completed, at least 8 needed." in page


# --------------------------------------------------------------------------- edge cases through main()


def test_one_family_only(fake_results, tmp_path, capsys):
    fake_results.run(
        "only-transfer", "flowers",
        [
            {"trial_id": "a", "backbone": "mobilenet_v2", "val_accuracy": 0.81},
            {"trial_id": "b", "backbone": "efficientnet_b0", "val_accuracy": 0.84},
            {"trial_id": "c", "backbone": "resnet50", "val_accuracy": 0.79, "status": "stopped"},
        ],
    )  # fmt: skip
    out, markdown, page = _build(fake_results, tmp_path, capsys, "--dataset", "flowers")
    assert (
        "flowers: only transfer learning trials finished (no custom CNN trial did), so there is no comparison."
        in markdown
    )
    assert (
        "| flowers | Best trial (by validation accuracy) | no finished trial | only-transfer/b (efficientnet\\_b0) |"
        in markdown
    )
    assert "All trials (shared hyperparameters)" not in markdown  # no cross-family importance with one family
    assert "Transfer learning: not enough trials: 2 completed, at least 8 needed." in markdown
    assert len(_images_exist(out, page)) == 7  # summary, expected best, confusion matrix, progress, curves, hyperparameters, cost


def test_an_older_databases_transfer_row_without_weights_is_a_backbone_from_scratch(fake_results, tmp_path, capsys):
    # Stored before the scratch family existed: family "transfer", weights none, no role.
    fake_results.run(
        "scratch", "cifar",
        [
            {"trial_id": "a", "backbone": "custom_cnn", "val_accuracy": 0.33, "role": None},
            {"trial_id": "b", "backbone": "mobilenet_v2", "val_accuracy": 0.21, "weights": "none",
             "family": "transfer", "role": None},
        ],
    )  # fmt: skip
    stored = fake_results.store.trials().set_index("trial_id")
    assert stored.loc["b", "family"] == "transfer" and stored["role"].isna().all()
    trials = load_results(fake_results.url).trials.set_index("trial_id")
    assert trials["family"].to_dict() == {"a": "custom_cnn", "b": "scratch"}
    assert trials["role"].tolist() == ["search", "search"]
    _, markdown, page = _build(fake_results, tmp_path, capsys, "--dataset", "cifar")
    assert (
        "| cifar | Best trial (by validation accuracy) | scratch/a (custom\\_cnn) | "
        "scratch/b (mobilenet\\_v2, backbone from scratch) |" in markdown
    )
    assert "| Dataset | Measure | Custom CNN | Backbone from scratch | Difference |" in markdown
    assert "the custom CNN leads backbone from scratch (mobilenet\\_v2) on validation by 12.00 pp (best of the search, optimistic)" in markdown
    assert "| mobilenet\\_v2 | Backbone from scratch |" in markdown  # the backbones table
    assert "<th class=num scope=\"col\">Backbone from scratch</th>" in page
    for text in (markdown, page):
        assert "Transfer learning" not in text and "transfer learning (" not in text


def test_single_trial(fake_results, tmp_path, capsys):
    fake_results.run(
        "solo", "digits", [{"trial_id": "only", "backbone": "custom_cnn", "val_accuracy": 0.93}], test=(0.91, 0.9)
    )
    stale, other = tmp_path / "report" / "plots" / "02-gone-cost.png", tmp_path / "report" / "plots" / "mine.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    other.write_bytes(b"a user's file")
    out, markdown, page = _build(fake_results, tmp_path, capsys)
    assert not stale.exists() and other.exists()  # an earlier build's plot goes, nothing else
    assert "**Top 1 of 1 finished searched trial on digits, by validation accuracy**" in markdown
    assert "Custom CNN: not enough trials: 1 completed, at least 8 needed." in markdown
    assert "digits: only custom CNN trials finished" in markdown
    assert page.count('class="leaderboard"') == 1 and 'data-rows="1"' in page
    assert _images_exist(out, page)


def test_only_failed_trials(fake_results, tmp_path, capsys):
    fake_results.run(
        "broken", "beans",
        [
            {"trial_id": "x1", "backbone": "resnet50", "status": "failed"},
            {"trial_id": "x2", "backbone": "custom_cnn", "status": "failed", "error": "InvalidArgumentError: shapes"},
        ],
        status="failed",
    )  # fmt: skip
    out, markdown, page = _build(fake_results, tmp_path, capsys)
    assert "No leaderboard: all 2 searched trials failed." in markdown
    assert "beans: no trial finished (2 failed trials), so there is no comparison." in markdown
    assert "No plot of custom CNN vs transfer learning: no trial finished." in markdown
    assert "No trial of this dataset was evaluated on the test split" in markdown
    assert "InvalidArgumentError: shapes" in markdown
    assert _images_exist(out, page) == []
    assert 'class="leaderboard"' not in page


def test_missing_database_is_a_one_line_error(tmp_path, capsys):
    assert main(["--results", str(tmp_path / "nowhere")]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "no results database at" in line and "nowhere" in line
    assert not (tmp_path / "nowhere").exists()  # reading never creates a database


def test_empty_database_is_a_one_line_error(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'leaderboard.db'}"
    ResultsStore(url).engine.dispose()  # tables, no rows
    assert main(["--db", url, "--out", str(tmp_path / "out")]) == 2
    assert "has no trials yet" in _one_line_error(capsys.readouterr().err)
    (tmp_path / "zero.db").write_bytes(b"")
    assert main(["--db", f"sqlite:///{tmp_path / 'zero.db'}"]) == 2
    assert "is empty" in _one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_dataset_without_rows_is_a_one_line_error(fake_results, tmp_path, capsys):
    fake_results.run("r", "beans", [{"trial_id": "a", "backbone": "custom_cnn", "val_accuracy": 0.5}])
    assert main(["--db", fake_results.url, "--dataset", "beans", "cifar10", "--out", str(tmp_path / "o")]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "no trials for dataset 'cifar10'" in line and "datasets with results: beans" in line


def test_usage_errors_are_one_line(capsys):
    assert main(["--db", "sqlite:///a.db", "--results", "r"]) == 2
    assert "not allowed with" in _one_line_error(capsys.readouterr().err)
    assert main(["--top", "0"]) == 2
    _one_line_error(capsys.readouterr().err)
    with pytest.raises(UserError, match="no results database"):
        load_results(f"sqlite:///{Path('/nonexistent/leaderboard.db')}")


def test_cli_module_reports_a_missing_database(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "reports.build", "--results", str(tmp_path / "missing")],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 2
    assert "no results database at" in _one_line_error(done.stderr)
    assert done.stdout == ""


def test_dataset_filter_keeps_only_those_runs(rich_report):
    data = load_results(rich_report.url, ["digits"])
    assert data.datasets == ["digits"] and set(data.trials["dataset"]) == {"digits"}
    assert data.runs["run_id"].tolist() == ["r4"]
