"""The reports package: tables with exact numbers, formatting, rendering, importance, the CLI and its edge cases.

Every database here is written by the tests (tests/conftest.py: FakeResults), never by a real search.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from report_helpers import _build, _studies

from benchmarks.models import FAMILIES, family_label
from benchmarks.stats import mean_interval, welch_difference
from reports import plots, tables
from reports.data import load_results
from reports.importance import importance_by_family

REPO = Path(__file__).resolve().parents[2]


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
    # ranked by best completed trial: beans mobilenet_v2 1, efficientnet_b0 2, custom CNN 3; digits 2, 3, 1
    assert summary.loc[["mobilenet_v2", "custom_cnn", "efficientnet_b0"], "average_rank"].tolist() == [1.5, 2.0, 2.5]
    assert math.isnan(summary.loc["resnet50", "average_rank"])  # not completed on beans: not ranked
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


def test_the_headline_pools_two_comparable_runs_that_each_repeated_one_side(finalists):
    data = finalists.data
    rows = tables.headline_repeats(data.trials, data.runs, "flowers")
    # flowers-new (later) repeated only a backbone; the custom CNN's repeats come from flowers-old, which tested on
    # the same images after the same protocol; its mobilenet_v2 repeats are not used; the failed fourth repeat of t9
    # is shown but never counted.
    assert rows["label"].tolist() == [
        "flowers-old/c1-s1", "flowers-old/c1-s2", "flowers-old/c1-s3",
        "flowers-new/t9-s1", "flowers-new/t9-s2", "flowers-new/t9-s3", "flowers-new/t9-s4",
    ]  # fmt: skip
    comparison = tables.finalist_comparison(rows)
    assert (comparison.custom.repeat_of, comparison.other.repeat_of) == ("flowers-old/c1", "flowers-new/t9")
    assert comparison.other.test_accuracy.n == 3 and comparison.other.failed == 1
    expected = mean_interval([0.80, 0.82, 0.84])
    assert comparison.custom.test_accuracy.mean == pytest.approx(0.82)
    assert (comparison.custom.test_accuracy.low, comparison.custom.test_accuracy.high) == pytest.approx(
        (expected.low, expected.high)
    )
    difference = welch_difference([0.90, 0.91, 0.92], [0.80, 0.82, 0.84])
    assert comparison.difference["test_accuracy"].low == pytest.approx(difference.low)
    assert comparison.verdict == (
        "transfer learning (resnet50) is better by 9.0 pp in test accuracy (95% CI 4.8 to 13.2); "
        "1 of 7 repeats failed and are not counted"
    )
    assert tables.finalist_costs(rows).loc["flowers-new/t9", "params"] == 23_788_163
    assert tables.headline_repeats(data.trials, data.runs, "digits").empty
    assert "the finalists come from two comparable runs (flowers-new, flowers-old)" in finalists.markdown


def test_two_runs_with_different_seeds_give_no_pooled_verdict_and_say_why(fake_results, tmp_path, capsys):
    from fake_results import FLOWERS_IDENTITY

    from reports.build import main

    other_seed = {**FLOWERS_IDENTITY, "test_fingerprint": "0therseed0000000"}
    fake_results.run("p-a", "pets", [{"trial_id": "c1", "backbone": "custom_cnn", "val_accuracy": 0.8}],
                     run_name="pets-seed0", identity=FLOWERS_IDENTITY,
                     repeats={"c1": [(0.8, 0.80, 0.79), (0.8, 0.82, 0.81)]})
    protocol = {**FLOWERS_IDENTITY["protocol"], "epochs": 10}
    fake_results.run("p-b", "pets", [{"trial_id": "t1", "backbone": "resnet50", "val_accuracy": 0.9}],
                     run_name="pets-seed1", space="transfer", identity={**other_seed, "protocol": protocol},
                     repeats={"t1": [(0.9, 0.90, 0.89), (0.9, 0.92, 0.91)]})
    assert main(["--results", str(fake_results.path.parent), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "leaderboard.md").read_text()
    page = (tmp_path / "report" / "index.html").read_text()
    reason = ("pets: no verdict: the latest run with repeats (pets-seed1) repeated one side only, and the latest run "
              "that repeated the other (pets-seed0) is not comparable with it: different test images (another seed, "
              "cap or split fraction); epochs 10 against 6.")
    assert reason in markdown and reason in page
    assert "better by" not in markdown.split("pets: no verdict")[0].split("\n")[-1]
    assert "is better by" not in "".join(line for line in markdown.splitlines() if line.startswith("pets:"))
    # each side's figures are still shown, side by side, with no difference
    assert "|  | Test accuracy\\* | 81.00% (95% CI" in markdown and "| 91.00% (95% CI" in markdown


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
    verdict = ("flowers: transfer learning (resnet50) is better by 9.0 pp in test accuracy (95% CI 4.8 to 13.2); "
               "1 of 7 repeats failed and are not counted.")
    assert verdict in markdown and f"<p>{verdict}</p>" in page
    # one repeat per side: a mean, no interval, and a verdict that says so
    assert "|  | Test accuracy\\* | 48.00% (1 repeat, no interval) | 39.00% (1 repeat, no interval) | " \
           "-9.00 pp (no interval: a side has 1 repeat) |" in markdown  # fmt: skip
    single = ("cifar: no clear difference at this budget: backbone from scratch (mobilenet_v2) minus the custom CNN "
              "is -9.0 pp in test accuracy, but there is no interval (a side has 1 repeat).")  # fmt: skip
    assert single.replace("_", "\\_") in markdown and single in page
    assert "cifar-scratch/b (mobilenet\\_v2, backbone from scratch)" in markdown
    for text in (markdown, page):  # how to read it
        assert "trained again with 1 to 3 different seeds and every repeat was tested" in text
        assert "95% Student-t interval" in text
        assert "A difference whose interval spans 0 is no clear difference" in text


def test_without_repeats_the_headline_compares_best_trials_and_says_there_is_no_verdict(finalists, rich_report):
    sentence = "digits: no finalists were repeated, so there is no verdict"
    assert sentence in finalists.markdown and sentence in finalists.page
    assert "search with --repeats N to retrain each family's finalist with N seeds" in finalists.markdown
    assert "| digits | Best trial (by validation accuracy) | digits-search/d1 (custom\\_cnn) |" in finalists.markdown
    assert "* For datasets without repeats, only the best trial of each run" in finalists.markdown
    rich = (rich_report.out / "leaderboard.md").read_text()
    assert "**Best custom CNN and best transfer learning model per dataset**" in rich
    assert "beans: no finalists were repeated, so there is no verdict" in rich
    assert "digits: no finalists were repeated, so there is no verdict" in rich
    assert "(best of the search, optimistic)" in rich and " beats " not in rich
    assert "repeats give the real answer" in rich
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
