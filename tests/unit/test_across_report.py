"""The report's "Across datasets" and "Expected best accuracy against budget" sections on hand-made results with
1, 2, 3 and 5 datasets: the tables, win/tie/loss, ranks, the Friedman test and its diagram from 3 datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_results import FakeResults

from reports.data import load_results
from reports.document import Document
from reports.render import render_html, render_markdown
from reports.sections import across, budget, summary
from reports.sections.base import Context

#: Per dataset: (custom CNN, mobilenet_v2, resnet50) mean test accuracy, the compared other finalist and whether
#: the difference's interval spans 0. Ranks by hand: d1 3,1,2; d2 3,1.5,1.5; d3 3,2,1; d4 1,2,3; d5 3,1,2.
DATASETS = {
    "d1": ((0.80, 0.90, 0.85), "mobilenet_v2", False),  # transfer better
    "d2": ((0.70, 0.75, 0.75), "mobilenet_v2", False),  # transfer better
    "d3": ((0.60, 0.65, 0.70), "resnet50", False),  # transfer better
    "d4": ((0.90, 0.85, 0.80), "mobilenet_v2", False),  # custom CNN better
    "d5": ((0.50, 0.60, 0.55), "mobilenet_v2", True),  # a tie
}
BACKBONES = ("custom_cnn", "mobilenet_v2", "resnet50")


def _interval(mean: float) -> dict:
    return {"mean": mean, "std": 0.01, "low": mean - 0.02, "high": mean + 0.02, "n": 3, "confidence": 0.95}


def finalists_json(means, other: str, spans_zero: bool) -> dict:
    """``runs.finalists`` as a search stores it: one finalist per backbone, the difference and the verdict."""
    entries = [{"repeat_of": b, "family": "custom_cnn" if b == "custom_cnn" else "transfer", "backbone": b,
                "label": "custom CNN" if b == "custom_cnn" else f"transfer learning ({b})",
                "val_accuracy": mean + (0.01 if b == other else 0), "test_accuracy": _interval(mean)}
               for b, mean in zip(BACKBONES, means, strict=True)]
    difference = means[BACKBONES.index(other)] - means[0]
    low, high = (difference - 0.5, difference + 0.5) if spans_zero else (difference - 0.01, difference + 0.01)
    return {"finalists": entries, "custom": "custom_cnn", "other": other,
            "difference": {"test_accuracy": {"mean": difference, "low": low, "high": high, "n_a": 3, "n_b": 3}},
            "verdict": "as stored"}


def results(tmp_path, count: int) -> FakeResults:
    fake = FakeResults(tmp_path / "leaderboard.db")
    for name in list(DATASETS)[:count]:
        means, other, spans_zero = DATASETS[name]
        trials = [{"trial_id": b, "backbone": b, "val_accuracy": m} for b, m in zip(BACKBONES, means, strict=True)]
        trials.append({"trial_id": "late", "backbone": "resnet50", "val_accuracy": 0.3, "status": "stopped"})
        fake.run(name, name, trials, study=False)
        fake.store.update_run(name, finalists=finalists_json(means, other, spans_zero))
    return fake


def _build(fake: FakeResults, tmp_path: Path, capsys=None) -> tuple[Path, str, str]:
    """The summary, "Across datasets" and budget sections as the report renders them (Markdown, HTML): the rest
    of the report is left out, to keep these tests fast."""
    out = tmp_path / "report"
    context = Context(load_results(fake.url), out)
    document = Document("report", sections=[module.build(context) for module in (summary, across, budget)])
    return out, render_markdown(document), render_html(document)


def section(markdown: str, title: str) -> str:
    start = markdown.index(f"## {title}")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:end if end > 0 else None]


@pytest.mark.parametrize("count, more", [(1, "there is 1, so 2 more datasets"), (2, "there are 2, so 1 more dataset")])
def test_fewer_than_three_datasets_give_tables_and_say_how_many_more_the_friedman_test_needs(tmp_path, capsys, count,
                                                                                               more):
    out, markdown, page = _build(results(tmp_path, count), tmp_path, capsys)
    across = section(markdown, "Across datasets")
    assert more in across and "plots/critical-difference.png" not in across
    assert not (out / "plots" / "critical-difference.png").exists()
    assert "| d1 | custom CNN vs transfer learning (mobilenet\\_v2) |" in across
    assert f"transfer learning is better than the custom CNN on {count} of {count} datasets" in across


def test_three_datasets_get_the_friedman_test_and_the_diagram_in_both_formats(tmp_path, capsys):
    out, markdown, page = _build(results(tmp_path, 3), tmp_path, capsys)
    across = section(markdown, "Across datasets")
    assert "Friedman test over 3 datasets and 3 models" in across
    assert "![Critical-difference diagram of the average ranks](plots/critical-difference.png)" in across
    assert '<img src="plots/critical-difference.png"' in page and (out / "plots" / "critical-difference.png").is_file()
    sentence = ("transfer learning is better than the custom CNN on 3 of 3 datasets, no clear difference on 0, "
                "worse on 0 (two-sided sign test over the 3 datasets with a difference, ties excluded: p = 0.25)")
    assert markdown.index(f"Across datasets: {sentence}") < markdown.index("## Across datasets")  # at the top
    assert sentence in page


def test_five_datasets_ranks_and_win_tie_loss_match_a_hand_count(tmp_path, capsys):
    out, markdown, page = _build(results(tmp_path, 5), tmp_path, capsys)
    across = section(markdown, "Across datasets")
    assert ("transfer learning is better than the custom CNN on 3 of 5 datasets, no clear difference on 1, worse on 1 "
            f"(two-sided sign test over the 4 datasets with a difference, ties excluded: p = {0.625:.2g})") in across
    assert "| mobilenet\\_v2 | 1.50 |" in across and "| resnet50 | 1.90 |" in across
    assert "| custom\\_cnn | 2.60 |" in across
    assert "| d4 | custom CNN vs transfer learning (mobilenet\\_v2) | -5.00 pp" in across and "custom CNN better" in across
    assert "| d5 | custom CNN vs transfer learning (mobilenet\\_v2) | +10.00 pp" in across
    assert "no clear difference (a tie)" in across
    assert "| d1 | 80.00% (95% CI 78.00% to 82.00%, n = 3) |" in across  # the family table: custom CNN's finalist
    assert "Friedman test over 5 datasets and 3 models" in across and (out / "plots" / "critical-difference.png").is_file()


def test_the_budget_section_draws_completed_trials_and_says_which_sampler(tmp_path, capsys):
    fake = results(tmp_path, 2)
    fake.store.update_run("d2", sampler="random")
    out, markdown, page = _build(fake, tmp_path, capsys)
    budget = section(markdown, "Expected best accuracy against budget")
    assert "d1: these are TPE trials, which are not independent draws" in budget and "1 stopped trial left out" in budget
    assert "d2: these are random-sampler trials" in budget
    assert "| d1 | Transfer learning | 2 | adaptive (TPE) |" in budget  # mobilenet_v2 and resnet50 completed
    assert "d1, custom CNN vs transfer learning: against trials," in budget
    assert (out / "plots" / "expected-best.png").is_file() and '<img src="plots/expected-best.png"' in page


def test_without_finalists_the_section_says_what_a_comparison_needs(tmp_path, capsys):
    fake = FakeResults(tmp_path / "leaderboard.db")
    fake.run("r", "d1", [{"trial_id": "a", "backbone": "custom_cnn", "val_accuracy": 0.5}], study=False)
    out, markdown, page = _build(fake, tmp_path, capsys)
    assert "No dataset has a comparison yet" in section(markdown, "Across datasets")
    assert "Across datasets: " not in section(markdown, "Custom CNN vs transfer learning")
