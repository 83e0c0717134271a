"""FLOPs per image in the report (issue 21): a column of the tables of trials next to the parameters wherever a
trial counted them, nothing where none did (an older database: opening it adds the column, empty); the Pareto section
stays for searches of two objectives (or a latency measured), since every trial now counts its FLOPs, and a search
of accuracy against FLOPs gets its front against FLOPs."""

from __future__ import annotations

import sqlite3

from reports.build import build_report
from reports.data import load_results
from reports.sections.leaderboard import leaderboard
from reports.sections.pareto import two_objective

DIGITS = [
    {"trial_id": "small", "backbone": "custom_cnn", "val_accuracy": 0.80, "params": 50_000, "flops": 21_350_396},
    {"trial_id": "big", "backbone": "mobilenet_v2", "val_accuracy": 0.90, "params": 2_300_000, "flops": 12_941_436},
    {"trial_id": "gone", "backbone": "custom_cnn", "status": "failed"},
]
BEANS = [
    {"trial_id": "b1", "backbone": "custom_cnn", "val_accuracy": 0.70, "params": 60_000, "flops": 1_500_000},
    {"trial_id": "b2", "backbone": "resnet50", "val_accuracy": 0.75, "params": 23_000_000, "flops": 158_873_916},
]


def test_the_tables_of_trials_show_flops_and_the_pareto_section_needs_two_objectives(fake_results, tmp_path):
    fake_results.run("plain", "digits", DIGITS, run_name="plain-search", repeats={"big": [(0.89, 0.88, 0.87)]})
    fake_results.run("mo", "beans", BEANS, run_name="mo-search")
    fake_results.store.update_run("mo", objective="accuracy,flops", pick="accuracy")
    data = load_results(fake_results.url)
    board = leaderboard(data.trials, "digits")
    assert list(board.columns[board.columns.get_loc("params"):][:2]) == ["params", "flops"]
    assert board.set_index("trial_id")["flops"].to_dict() == {"big": 12_941_436, "small": 21_350_396}
    assert not two_objective(data.runs, "digits") and two_objective(data.runs, "beans")

    build_report(fake_results.url, tmp_path / "report")
    markdown = (tmp_path / "report" / "leaderboard.md").read_text()
    assert markdown.count("| Params | FLOPs | Time |") == 2  # the leaderboards (these fake repeats counted none)
    assert "21.35M" in markdown and "12.94M" in markdown and "158.87M" in markdown
    # Beans searched accuracy against FLOPs: its front; digits counted FLOPs in a one-objective search: none.
    assert markdown.count("Accuracy against latency and size: the Pareto front") == 1
    assert "on beans" in markdown[markdown.index("The Pareto front against"):].split("\n")[0]
    # ...plotted against FLOPs too, and its table is against the cost the run searched, not latency or size.
    assert "The Pareto front against FLOPs: 2 of 2 trials with the FLOPs measured on beans" in markdown
    assert "Pareto front of validation accuracy against FLOPs and parameters on beans" in markdown
    # The summary compares the two families' FLOPs where they were counted (beans), not where they were not (the
    # digits finalist's fake repeats); the backbones table has their median.
    assert markdown.count("|  | FLOPs per image |") == 1
    assert "|  | FLOPs per image | 1.50M | 158.87M |" in markdown
    assert "| Median parameters | Median FLOPs per image | Median training time |" in markdown


def test_a_database_from_before_the_flops_column_is_upgraded_and_reports_none(fake_results, tmp_path):
    fake_results.run("old", "digits", [{k: v for k, v in t.items() if k != "flops"} for t in DIGITS])
    fake_results.store.engine.dispose()
    with sqlite3.connect(fake_results.path) as conn:  # a version before the column and before schema versions
        conn.execute("ALTER TABLE trials DROP COLUMN flops")
        conn.execute("DROP TABLE results_version")
    data = load_results(fake_results.url)  # opening it adds the column, empty
    assert data.trials["flops"].isna().all()
    assert leaderboard(data.trials, "digits")["flops"].isna().all()
    build_report(fake_results.url, tmp_path / "report")
    markdown = (tmp_path / "report" / "leaderboard.md").read_text()
    assert "FLOPs" not in markdown and "Pareto front" not in markdown
