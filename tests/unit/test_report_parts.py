"""Report parts on their own: number formats, Markdown and HTML rendering, hyperparameter importance."""

from __future__ import annotations


import optuna
import pytest
from report_helpers import _build, _studies

from benchmarks.stats import mean_interval, welch_difference
from reports.document import Document, Paragraph, Section, Table
from reports.formatting import (
    fmt_difference,
    fmt_interval,
    fmt_params,
    fmt_score,
    fmt_score_diff,
    fmt_seconds,
    fmt_seconds_diff,
)
from reports.importance import MIN_TRIALS, family_trials, importance_by_family, param_importances
from reports.render import markdown_table, md_escape, render_html


# --------------------------------------------------------------------------- formatting and rendering


def test_number_formats_are_consistent():
    assert fmt_score(0.91234) == "91.23%" and fmt_score(None) == "—" and fmt_score(float("nan")) == "—"
    assert fmt_score_diff(0.031) == "+3.10 pp" and fmt_score_diff(-0.04) == "-4.00 pp"
    assert fmt_params(2_257_984) == "2.26M" and fmt_params(120_000) == "120.0k" and fmt_params(512) == "512"
    assert fmt_seconds(75) == "75 s" and fmt_seconds(750) == "12.5 min" and fmt_seconds(9000) == "2.5 h"
    assert fmt_seconds_diff(-30) == "-30 s"
    assert fmt_interval(mean_interval([0.80, 0.82, 0.84])) == "82.00% (95% CI 77.03% to 86.97%, n = 3)"
    assert fmt_interval(mean_interval([0.5])) == "50.00% (1 repeat, no interval)" and fmt_interval(None) == "—"
    assert fmt_difference(welch_difference([0.9, 0.91, 0.92], [0.8, 0.82, 0.84])) == (
        "+9.00 pp (95% CI +4.84 pp to +13.16 pp)"
    )
    assert fmt_difference(welch_difference([0.4], [0.5, 0.6])) == "-15.00 pp (no interval: a side has 1 repeat)"


def test_markdown_table_escapes_and_aligns():
    text = markdown_table(["Name", "Acc"], [["a|b_c", "91.00%"]], [False, True])
    assert text.splitlines() == ["| Name | Acc |", "|:---|---:|", r"| a\|b\_c | 91.00% |"]
    assert md_escape("x\ny *z*") == r"x y \*z\*"


def test_html_escapes_every_string():
    document = Document(
        title="<T>",
        sections=[
            Section("S&P", "s").add(Paragraph("<script>x</script>"), Table(["<h>"], [['"q" <b>']], caption="c<"))
        ],
    )
    page = render_html(document)
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "&lt;T&gt;" in page and "S&amp;P" in page and "&quot;q&quot; &lt;b&gt;" in page and "c&lt;" in page


# --------------------------------------------------------------------------- importance


def test_importance_per_family_from_the_runs_stored_studies(rich):
    studies, missing = _studies(rich, "beans")
    assert studies and missing == []
    results = {r.group: r for r in importance_by_family(studies, min_trials=3)}  # the report asks for 8
    assert list(results) == ["custom_cnn", "transfer", "all"]
    assert results["custom_cnn"].trials == 4 and results["transfer"].trials == 3 and results["all"].trials == 7
    for result in results.values():
        assert result.note is None and sum(result.importances.values()) == pytest.approx(1.0)
    assert {"depth", "width"} <= set(results["custom_cnn"].importances)
    assert "unfrozen_layers" in results["transfer"].importances and "backbone" in results["transfer"].importances
    assert "depth" not in results["all"].importances  # each family picks its model by a parameter of its own
    # The space's own distributions, not guessed from values: batch size and width are categorical, the learning
    # rate is on a log scale, the depth an integer.
    cnn = family_trials(studies)["custom_cnn"]
    assert sorted(t.value for t in cnn) == [0.70, 0.72, 0.75, 0.78]
    distributions = cnn[0].distributions
    assert isinstance(distributions["batch_size"], optuna.distributions.CategoricalDistribution)
    assert isinstance(distributions["width"], optuna.distributions.CategoricalDistribution)
    assert distributions["learning_rate"].log and isinstance(distributions["depth"], optuna.distributions.IntDistribution)


def test_importance_needs_enough_completed_trials(rich):
    assert MIN_TRIALS == 8
    cnn = {r.group: r for r in importance_by_family(_studies(rich, "beans")[0])}["custom_cnn"]
    assert cnn.importances == {} and cnn.note == "not enough trials: 4 completed, at least 8 needed"
    values, note = param_importances([])
    assert values == {} and note.startswith("not enough trials")


def test_a_run_without_a_stored_study_gets_a_report_without_its_importance(fake_results, tmp_path, capsys):
    fake_results.run(
        "old", "beans",
        [{"trial_id": f"t{i}", "backbone": "custom_cnn", "val_accuracy": 0.5 + i / 20} for i in range(4)],
        study=False,
    )  # fmt: skip
    out, markdown, page = _build(fake_results, tmp_path, capsys)
    assert "1 run (old) recorded no Optuna study" in markdown and "left out of the importance" in page
    assert "fANOVA importance" not in markdown
