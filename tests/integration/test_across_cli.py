"""Three tiny searches on three datasets into one results database, then the report: the cross-dataset section,
its critical-difference diagram and the sentence over the datasets, in Markdown and HTML."""

from __future__ import annotations

import pytest
from helpers import make_class_folders, run_cli

pytestmark = pytest.mark.e2e

#: Three trials (a custom CNN, a MobileNetV2, an EfficientNetB0: three_models_space) of one epoch, each repeated
#: once as a per-backbone finalist: three models ranked on every dataset.
TINY = ["--space", "three_models_space", "--num-samples", "3", "--epochs", "1", "--repeats", "1",
        "--finalists", "per-backbone", "--weights", "none", "--budget", "smoke", "--scheduler", "fifo",
        "--export", "none"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("across")
    # Two generated folders beside digits, not CIFAR-10: two backbones from scratch on its 2,048 smoke images
    # would double the test's time.
    shapes = make_class_folders(root / "shapes", {"red": 16, "green": 16, "blue": 16})
    third = ["--dataset", str(make_class_folders(root / "tints", {"a": 16, "b": 16, "c": 16}))]
    for name, dataset in [("digits", ["--dataset", "digits", "--sampler", "random"]),
                          ("shapes", ["--dataset", str(shapes)]), ("third", third)]:
        result = run_cli("runners.search", *dataset, *TINY, "--name", name, cwd=root)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    built = run_cli("reports.build", cwd=root)
    assert built.returncode == 0, built.stderr[-3000:]
    out = root / "results" / "report"
    return out, (out / "leaderboard.md").read_text(), (out / "index.html").read_text()


def test_the_report_ranks_three_datasets_with_a_diagram_and_one_sentence(report):
    out, markdown, page = report
    assert "## Across datasets" in markdown and 'id="across-datasets"' in page
    assert "Friedman test over 3 datasets and 3 models" in markdown
    assert (out / "plots" / "critical-difference.png").stat().st_size > 0
    assert "](plots/critical-difference.png)" in markdown and '<img src="plots/critical-difference.png"' in page
    for text in (markdown, page):
        assert "Across datasets: backbone from scratch is better than the custom CNN on " in text
        assert " of 3 datasets, no clear difference on " in text
        assert "two-sided sign test" in text or "no sign test" in text


def test_the_budget_section_shows_each_datasets_curves(report):
    out, markdown, page = report
    assert "## Expected best accuracy against budget" in markdown
    assert "digits: these are random-sampler trials" in markdown and "these are TPE trials" in markdown
    assert (out / "plots" / "expected-best.png").is_file() and '<img src="plots/expected-best.png"' in page
