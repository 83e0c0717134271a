"""The reports package: tables with exact numbers, formatting, rendering, importance, the CLI and its edge cases.

Every database here is written by the tests (tests/conftest.py: FakeResults), never by a real search.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest

from benchmarks.errors import UserError
from benchmarks.models import FAMILIES, family_label
from benchmarks.stats import mean_interval, welch_difference
from reports import plots, tables
from reports.build import main
from reports.data import load_results
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
from reports.importance import MIN_TRIALS, family_trials, importance_by_family, load_studies, param_importances
from reports.render import markdown_table, md_escape, render_html
from runners.store import ResultsStore

REPO = Path(__file__).resolve().parents[2]


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


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


# --------------------------------------------------------------------------- tables: exact numbers


def test_load_results_normalises_trials_and_runs(rich):
    assert rich.datasets == ["beans", "digits"]
    assert len(rich.trials) == 18 and len(rich.runs) == 4
    assert rich.trials["is_best"].dtype == bool and int(rich.trials["is_best"].sum()) == 4
    assert int(rich.trials["is_reference"].sum()) == 1
    t02 = rich.trials.set_index("label").loc["beans-search/t02"]
    assert t02["family"] == "transfer" and len(t02["history_list"]) == 6
    assert t02["config_dict"]["backbone"] == "mobilenet_v2"
    assert rich.runs.set_index("run_id").loc["r4", "class_names_list"] == [str(i) for i in range(10)]


def test_family_comparison_picks_best_by_validation_accuracy(rich):
    comparison = tables.family_comparison(rich.trials, rich.datasets)
    cnn, transfer = comparison.loc[("beans", "custom_cnn")], comparison.loc[("beans", "transfer")]
    assert cnn["label"] == "beans-cnn/c01" and transfer["label"] == "beans-search/t02"
    assert (cnn["val_accuracy"], cnn["test_accuracy"], cnn["test_f1_macro"]) == (0.78, 0.74, 0.73)
    assert (transfer["val_accuracy"], transfer["test_accuracy"], transfer["test_f1_macro"]) == (0.90, 0.88, 0.87)
    assert (cnn["params"], cnn["wall_seconds"]) == (300_000, 90.0)
    assert (cnn["finished_trials"], transfer["finished_trials"]) == (5, 4)  # reference recipe not counted
    digits_transfer = comparison.loc[("digits", "transfer")]
    assert digits_transfer["label"] == "digits-search/d03" and not digits_transfer["is_best"]
    assert math.isnan(digits_transfer["test_accuracy"])  # not evaluated: the run's best was the custom CNN

    difference = tables.family_difference(comparison)
    assert difference.loc["beans", "val_accuracy"] == pytest.approx(0.12)
    assert difference.loc["beans", "test_accuracy"] == pytest.approx(0.14)
    assert difference.loc["digits", "val_accuracy"] == pytest.approx(-0.04)
    assert math.isnan(difference.loc["digits", "test_accuracy"])


def test_a_tie_in_validation_accuracy_goes_to_the_trial_the_search_tested(fake_results):
    # The search breaks ties in its own order; the report must show the trial it tested, with its test figures.
    fake_results.run("tie", "flowers", [
        {"trial_id": "first", "backbone": "custom_cnn", "val_accuracy": 1.0},
        {"trial_id": "tested", "backbone": "custom_cnn", "val_accuracy": 1.0},
    ], test=None)
    fake_results.store.update_trial("tie", "tested", is_best=True, test_accuracy=0.97, test_f1_macro=0.96)
    trials = load_results(fake_results.url).trials
    best = tables.family_comparison(trials, ["flowers"]).loc[("flowers", "custom_cnn")]
    assert best["label"] == "tie/tested" and best["test_accuracy"] == 0.97
    assert tables.leaderboard(trials, "flowers", top=None)["label"].tolist() == ["tie/tested", "tie/first"]


def test_leaderboard_ranks_finished_searched_trials(rich):
    board = tables.leaderboard(rich.trials, "beans", top=None)
    assert board["label"].tolist() == [
        "beans-search/t02", "beans-search/t08", "beans-search/t06", "beans-cnn/c01", "beans-search/t04",
        "beans-cnn/c02", "beans-search/t01", "beans-search/t03", "beans-search/t07",
    ]  # fmt: skip
    assert board["rank"].tolist() == list(range(1, 10))
    assert board["val_accuracy"].tolist() == [0.90, 0.88, 0.85, 0.78, 0.75, 0.72, 0.70, 0.60, 0.55]
    assert board.loc[0, "test_accuracy"] == 0.88 and math.isnan(board.loc[1, "test_accuracy"])
    assert len(tables.leaderboard(rich.trials, "beans", top=3)) == 3
    assert set(board["status"]) == {"completed", "stopped"}  # failed trials and the reference recipe left out


def test_reference_comparison_puts_recipes_next_to_the_searched_best(rich):
    frame = tables.reference_comparison(rich.trials, "beans")
    assert frame["role"].tolist() == [
        "searched best (transfer learning)", "searched best (custom CNN)", "reference recipe"
    ]
    assert frame["label"].tolist() == ["beans-search/t02", "beans-cnn/c01", "beans-reference/ref-mobilenet"]
    assert frame["val_accuracy"].tolist() == [0.90, 0.78, 0.86]
    assert tables.reference_comparison(rich.trials, "digits").empty


def test_backbone_summary_and_pivot(rich):
    summary = tables.backbone_summary(rich.trials).set_index("backbone")
    assert summary.loc["custom_cnn", ["trials", "finished", "failed", "datasets"]].tolist() == [9, 8, 1, 2]
    assert (
        summary.loc["custom_cnn", "best_val_accuracy"] == 0.97 and summary.loc["custom_cnn", "best_dataset"] == "digits"
    )
    assert summary.loc["resnet50", ["trials", "finished", "failed"]].tolist() == [2, 1, 1]
    assert summary.loc["mobilenet_v2", "mean_val_accuracy"] == pytest.approx((0.90 + 0.85 + 0.93) / 3)
    pivot = tables.backbone_by_dataset(rich.trials, rich.datasets)
    assert pivot.loc["mobilenet_v2", "beans"] == 0.90  # the 0.86 reference recipe does not count
    assert math.isnan(pivot.loc["resnet50", "beans"]) and pivot.loc["resnet50", "digits"] == 0.89


def test_search_progress_best_so_far_per_run(rich):
    progress = tables.search_progress(rich.trials, "beans")
    r1 = progress[progress["run_id"] == "r1"]
    assert r1["trial_number"].tolist() == list(range(1, 9))
    assert r1["best_so_far"].tolist() == [0.70, 0.90, 0.90, 0.90, 0.90, 0.90, 0.90, 0.90]
    r2 = progress[progress["run_id"] == "r2"]
    assert r2["best_so_far"].tolist() == [0.78, 0.78, 0.78]  # the failed c03 keeps the best so far


def test_runs_overview_best_model_and_test_metrics(rich):
    runs = tables.run_summary(rich.runs, rich.trials)
    assert runs["run_name"].tolist() == ["beans-search", "beans-cnn", "beans-reference", "digits-search"]
    assert runs["stored"].tolist() == [8, 3, 1, 6] and runs["stored_failed"].tolist() == [1, 1, 0, 0]
    overview = tables.dataset_overview(rich.trials, rich.datasets)
    assert overview.loc["beans", ["runs", "trials", "completed", "stopped", "failed", "reference"]].tolist() == [
        3,
        12,
        8,
        2,
        2,
        1,
    ]

    trial, run = tables.best_model(rich.trials, rich.runs, "beans")
    assert trial["label"] == "beans-search/t02" and run["run_id"] == "r1"
    metrics = tables.test_metrics_table(run["test_metrics_dict"]).set_index("metric")["value"]
    assert metrics["Accuracy"] == 0.88 and metrics["Macro F1"] == 0.87 and "Top-5 accuracy" not in metrics
    per_class = tables.per_class_table(run["test_metrics_dict"], run["class_names_list"])
    assert per_class["class"].tolist() == ["angular_leaf_spot", "bean_rust", "healthy"]
    assert per_class["support"].tolist() == [20, 20, 20]
    digits = tables.best_model(rich.trials, rich.runs, "digits")[1]["test_metrics_dict"]
    assert tables.test_metrics_table(digits).set_index("metric").loc["Top-5 accuracy", "value"] == 1.0


def test_failed_trials_keep_their_error(rich):
    failed = tables.failed_trials(rich.trials, "beans")
    assert failed["label"].tolist() == ["beans-search/t05", "beans-cnn/c03"]
    assert failed.loc[1, "error"] == "ValueError: bad | pipe <b>x</b>"


# --------------------------------------------------------------------------- finalists: repeats, intervals, verdicts


def test_repeats_are_read_with_their_role_seed_and_finalist(finalists):
    trials = finalists.data.trials
    assert trials["role"].value_counts().to_dict() == {"repeat": 12, "search": 9}
    t9 = trials[trials["finalist"] == "flowers-new/t9"]
    assert t9["seed"].tolist() == [1, 2, 3, 4] and t9["trial_id"].tolist() == ["t9-s1", "t9-s2", "t9-s3", "t9-s4"]
    assert t9["status"].tolist() == ["completed"] * 3 + ["failed"] and (t9["family"] == "transfer").all()
    assert trials.loc[trials["role"] == "search", "finalist"].isna().all()
    cifar = trials[trials["dataset"] == "cifar"].set_index("trial_id")["family"].to_dict()
    assert cifar == {"a": "custom_cnn", "b": "scratch", "a-s1": "custom_cnn", "b-s1": "scratch"}


def test_the_headline_takes_each_side_from_the_latest_run_that_repeated_it(finalists):
    data = finalists.data
    rows = tables.headline_repeats(data.trials, data.runs, "flowers")
    # flowers-new (later) repeated only a backbone; the custom CNN's repeats come from flowers-old, whose
    # mobilenet_v2 repeats are not used; the failed fourth repeat of t9 has no test figure.
    assert rows["label"].tolist() == [
        "flowers-old/c1-s1", "flowers-old/c1-s2", "flowers-old/c1-s3",
        "flowers-new/t9-s1", "flowers-new/t9-s2", "flowers-new/t9-s3",
    ]  # fmt: skip
    comparison = tables.finalist_comparison(rows)
    assert (comparison.custom.repeat_of, comparison.other.repeat_of) == ("flowers-old/c1", "flowers-new/t9")
    expected = mean_interval([0.80, 0.82, 0.84])
    assert comparison.custom.test_accuracy.mean == pytest.approx(0.82)
    assert (comparison.custom.test_accuracy.low, comparison.custom.test_accuracy.high) == pytest.approx(
        (expected.low, expected.high)
    )
    difference = welch_difference([0.90, 0.91, 0.92], [0.80, 0.82, 0.84])
    assert comparison.difference["test_accuracy"].low == pytest.approx(difference.low)
    assert comparison.verdict == (
        "transfer learning (resnet50) is better by 9.0 pp in test accuracy (95% CI 4.8 to 13.2)"
    )
    assert tables.finalist_costs(rows).loc["flowers-new/t9", "params"] == 23_788_163
    assert tables.headline_repeats(data.trials, data.runs, "digits").empty


def test_the_headline_shows_both_families_intervals_the_difference_and_the_verdict(finalists):
    markdown, page = finalists.markdown, finalists.page
    accuracy = ("82.00% (95% CI 77.03% to 86.97%, n = 3)", "91.00% (95% CI 88.52% to 93.48%, n = 3)",
                "+9.00 pp (95% CI +4.84 pp to +13.16 pp)")  # fmt: skip
    f1 = ("81.00% (95% CI 76.03% to 85.97%, n = 3)", "90.00% (95% CI 87.52% to 92.48%, n = 3)",
          "+9.00 pp (95% CI +4.84 pp to +13.16 pp)")  # fmt: skip
    assert "| Dataset | Measure | Custom CNN | Transfer learning / Backbone from scratch | Difference |" in markdown
    finalist = "| flowers-old/c1 (custom\\_cnn) | flowers-new/t9 (resnet50) |"
    assert f"| flowers | Finalist (search trial repeated) {finalist}" in markdown
    assert "|  | Tested repeats | 3 (seeds 1, 2, 3) | 3 (seeds 1, 2, 3) |  |" in markdown
    assert f"|  | Test accuracy\\* | {' | '.join(accuracy)} |" in markdown
    assert f"|  | Test macro F1\\* | {' | '.join(f1)} |" in markdown
    cells = "".join(f'<td class="num">{cell}</td>' for cell in accuracy)
    assert f'<td class="text-cell">Test accuracy*</td>{cells}' in page
    assert "".join(f'<td class="num">{cell}</td>' for cell in f1) in page
    verdict = "flowers: transfer learning (resnet50) is better by 9.0 pp in test accuracy (95% CI 4.8 to 13.2)."
    assert verdict in markdown and f"<p>{verdict}</p>" in page
    # one repeat per side: a mean, no interval, and a verdict that says so
    assert "|  | Test accuracy\\* | 48.00% (1 repeat, no interval) | 39.00% (1 repeat, no interval) | " \
           "-9.00 pp (no interval: a side has 1 repeat) |" in markdown  # fmt: skip
    single = ("cifar: no clear difference at this budget: backbone from scratch (mobilenet_v2) minus the custom CNN "
              "is -9.0 pp in test accuracy, but one side has a single repeat, so there is no interval.")  # fmt: skip
    assert single.replace("_", "\\_") in markdown and single in page
    assert "cifar-scratch/b (mobilenet\\_v2, backbone from scratch)" in markdown
    for text in (markdown, page):  # how to read it
        assert "trained again with 1 to 3 different seeds and every repeat was tested" in text
        assert "95% Student-t interval" in text
        assert "95% interval. A difference whose interval spans 0 is no clear difference" in text


def test_without_repeats_the_headline_compares_best_trials_and_says_there_is_no_interval(finalists, rich_report):
    sentence = "digits: no finalists were repeated, so there is no interval"
    assert sentence in finalists.markdown and sentence in finalists.page
    assert "Search with --repeats N to retrain each family's finalist with N seeds" in finalists.markdown
    assert "| digits | Best trial (by validation accuracy) | digits-search/d1 (custom\\_cnn) |" in finalists.markdown
    assert "* For datasets without repeats, only the best trial of each run" in finalists.markdown
    rich = (rich_report.out / "leaderboard.md").read_text()
    assert "**Best custom CNN and best transfer learning model per dataset**" in rich
    assert "beans: no finalists were repeated, so there is no interval" in rich
    assert "digits: no finalists were repeated, so there is no interval" in rich
    assert "Student-t" not in rich and "### Finalists" not in rich


def test_the_finalists_table_lists_every_repeat(finalists):
    markdown, page = finalists.markdown, finalists.page
    section = markdown.split("**10 repeats of 3 finalists on flowers**")[1].split("\n\n")[1]
    rows = section.splitlines()[2:]
    assert len(rows) == 10
    assert rows[0] == (
        "| flowers-old/c1 | Custom CNN | custom\\_cnn | c1-s1 | 1 | completed | 79.00% | 80.00% | 79.00% | 6 | 93 s |"
    )
    assert rows[-1].startswith("| flowers-new/t9 | Transfer learning | resnet50 | t9-s4 | 4 | failed | — | — |")
    scratch = "| cifar-scratch/b | Backbone from scratch | mobilenet\\_v2 | b-s1 | 1 | completed | 41.00% | 39.00% |"
    assert scratch in markdown
    assert '<table class="finalists" data-dataset="flowers" data-rows="10">' in page
    assert "The summary at the top compares the tested repeats of flowers-old/c1, flowers-new/t9." in page


def test_repeats_are_not_search_trials(finalists):
    data, markdown, page = finalists.data, finalists.markdown, finalists.page
    board = tables.leaderboard(data.trials, "flowers", top=None)
    assert board["label"].tolist() == [
        "flowers-new/t9", "flowers-new/t8", "flowers-old/t1", "flowers-old/c1", "flowers-old/c2",
    ]  # fmt: skip
    assert "**Top 5 of 5 finished searched trials on flowers, by validation accuracy**" in markdown
    assert 'data-dataset="flowers" data-rows="5" data-finished="5"' in page
    assert len(tables.search_progress(data.trials, "flowers")) == 5
    assert tables.backbone_summary(data.trials).set_index("backbone").loc["resnet50", "trials"] == 1
    assert tables.best_model(data.trials, data.runs, "flowers")[0]["label"] == "flowers-new/t9"
    comparison = tables.family_comparison(data.trials, data.datasets)
    assert comparison.loc[("flowers", "custom_cnn"), "finished_trials"] == 2
    studies, missing = _studies(data, "flowers")
    importance = {r.group: r.trials for r in importance_by_family(studies)}
    assert importance == {"custom_cnn": 2, "transfer": 3, "all": 5} and missing == []  # the repeats are no study trials
    assert ": 9 trials (9 completed); 12 finalist repeats (11 completed, 1 failed); families:" in markdown
    assert "5 trials (5 completed) from 2 runs: flowers-old, flowers-new;" in markdown


def test_every_family_has_a_label_and_a_colour_of_its_own():
    assert list(plots.FAMILY_COLORS) == list(FAMILIES)
    labels = [family_label(f, capitalize=True) for f in FAMILIES]
    assert labels == ["Custom CNN", "Transfer learning", "Backbone from scratch"]
    palette = plots._family_palette(labels)
    assert len({palette[label] for label in labels}) == 3


def test_a_reference_run_without_weights_is_not_comparable_with_published_figures(fake_results, tmp_path, capsys):
    fake_results.run("s1", "ants", [{"trial_id": "t1", "backbone": "mobilenet_v2", "val_accuracy": 0.91}],
                     run_name="ants-search", test=(0.90, 0.89))  # fmt: skip
    fake_results.run(
        "ref", "ants",
        [{"trial_id": "r1", "backbone": "mobilenet_v2", "val_accuracy": 0.62, "is_reference": True, "weights": "none"}],
        run_name="ants-ref", space="reference_hymenoptera", test=(0.60, 0.58),
    )  # fmt: skip
    fake_results.store.update_run("ref", published={"test_accuracy": 0.925, "f1": 0.9253})
    figures = tables.published_comparison(*_trials_and_runs(fake_results.url), "ants")
    assert not figures["comparable"].any() and set(figures["family"]) == {"scratch"}
    _, markdown, page = _build(fake_results, tmp_path, capsys)
    note = (
        "ants-ref/r1 is not comparable with the published figures: this run trained mobilenet_v2 from scratch "
        "(no pretrained weights), while the published figures used pretrained weights."
    )
    assert note in page and note.replace("mobilenet_v2", "mobilenet\\_v2").split(":")[0] in markdown
    row = "| ants-ref/r1 (from scratch: not comparable) | reference\\_hymenoptera | Test accuracy | 92.50% | 60.00% |"
    assert row in markdown


def _trials_and_runs(url: str):
    data = load_results(url)
    return data.trials, data.runs


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


def _studies(report, dataset: str):
    searches = set(tables.searched(report.trials[report.trials["dataset"] == dataset])["run_id"])
    return load_studies(report.runs[report.runs["run_id"].isin(searches)].to_dict("records"))


def test_importance_per_family_from_the_runs_stored_studies(rich):
    studies, missing = _studies(rich, "beans")
    assert studies and missing == []
    results = {r.group: r for r in importance_by_family(studies)}
    assert list(results) == ["custom_cnn", "transfer", "all"]
    assert results["custom_cnn"].trials == 4 and results["transfer"].trials == 3 and results["all"].trials == 7
    for result in results.values():
        assert result.note is None and sum(result.importances.values()) == pytest.approx(1.0)
    assert {"depth", "width"} <= set(results["custom_cnn"].importances)
    assert "unfrozen_layers" in results["transfer"].importances and "backbone" in results["transfer"].importances
    assert "backbone" in results["all"].importances and "depth" not in results["all"].importances
    # The space's own distributions, not guessed from values: batch size and width are categorical, the learning
    # rate is on a log scale, the depth an integer.
    cnn = family_trials(studies)["custom_cnn"]
    assert sorted(t.value for t in cnn) == [0.70, 0.72, 0.75, 0.78]
    distributions = cnn[0].distributions
    assert isinstance(distributions["batch_size"], optuna.distributions.CategoricalDistribution)
    assert isinstance(distributions["width"], optuna.distributions.CategoricalDistribution)
    assert distributions["learning_rate"].log and isinstance(distributions["depth"], optuna.distributions.IntDistribution)


def test_importance_needs_enough_completed_trials(rich):
    cnn = {r.group: r for r in importance_by_family(_studies(rich, "digits")[0])}["custom_cnn"]
    assert cnn.importances == {} and cnn.note == f"not enough trials: 2 completed, at least {MIN_TRIALS} needed"
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


def test_published_comparison_without_published_figures_still_shows_reproduced_and_searched(rich):
    frame = tables.published_comparison(rich.trials, rich.runs, "beans")
    assert frame["metric"].tolist() == ["val_accuracy", "test_accuracy"] and frame["published"].isna().all()
    assert frame["reproduced"].tolist() == [0.86, 0.84] and frame["searched"].tolist() == [0.90, 0.88]
    assert tables.published_comparison(rich.trials, rich.runs, "digits").empty


def test_published_reproduced_and_searched_side_by_side(fake_results, tmp_path, capsys):
    fake_results.run(
        "s1", "flowers",
        [{"trial_id": "t1", "backbone": "mobilenet_v2", "val_accuracy": 0.91},
         {"trial_id": "t2", "backbone": "custom_cnn", "val_accuracy": 0.70}],
        run_name="flowers-search", test=(0.90, 0.89),
    )  # fmt: skip
    fake_results.run(
        "ref", "flowers", [{"trial_id": "r1", "backbone": "mobilenet_v2", "val_accuracy": 0.88, "is_reference": True}],
        run_name="flowers-ref", space="reference_flowers102", test=(0.87, 0.86),
    )  # fmt: skip
    published = {"test_accuracy": 0.9463, "val_accuracy": 0.9442, "precision": 0.95, "note": "as published"}
    fake_results.store.update_run("ref", published=published)
    data = load_results(fake_results.url)
    frame = tables.published_comparison(data.trials, data.runs, "flowers").set_index("metric")
    assert frame.index.tolist() == ["val_accuracy", "test_accuracy", "precision"]
    figures = ["published", "reproduced", "searched"]
    assert frame.loc["val_accuracy", figures].tolist() == [0.9442, 0.88, 0.91]
    assert frame.loc["test_accuracy", figures].tolist() == [0.9463, 0.87, 0.90]
    assert frame.loc["precision", figures].tolist() == [0.95, 0.87, 0.90]
    _, markdown, page = _build(fake_results, tmp_path, capsys)
    assert "Published, reproduced and searched figures on flowers" in markdown
    assert "Searched best is the dataset's best searched trial" in markdown  # a footnote's quote stays a quote
    assert "| flowers-ref/r1 | reference\\_flowers102 | Test accuracy | 94.63% | 87.00% | 90.00% |" in markdown
    assert "reference_flowers102: as published." in page
    assert "not comparable" not in markdown and frame["comparable"].all()  # pretrained, as the recipe published


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
    assert len(images) == 13  # 1 summary + 6 per dataset
    for text in ("Custom CNN vs transfer learning", "Backbones across datasets", "Runs covered", "Reference recipes"):
        assert text in markdown and text in page
    # the numbers come from the database: the side-by-side summary of beans
    assert "| beans | Best trial (by validation accuracy) | beans-cnn/c01 (custom\\_cnn) |" in markdown
    assert "| 78.00% | 90.00% | +12.00 pp |" in markdown and "| 74.00% | 88.00% | +14.00 pp |" in markdown
    assert "not evaluated" in markdown  # the test-metrics footnote
    assert "beans: transfer learning (mobilenet\\_v2) beats the custom CNN by 12.00 pp" in markdown
    assert "digits: the custom CNN beats transfer learning" in markdown
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
    assert "Custom CNN: not enough trials: 2 completed, at least 3 needed." in page


# --------------------------------------------------------------------------- edge cases through main()


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
    assert "Transfer learning: not enough trials: 2 completed, at least 3 needed." in markdown
    assert len(_images_exist(out, page)) == 6  # summary, confusion matrix, progress, curves, hyperparameters, cost


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
    assert "the custom CNN beats backbone from scratch (mobilenet\\_v2) by 12.00 pp" in markdown
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
    assert "Custom CNN: not enough trials: 1 completed, at least 3 needed." in markdown
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
