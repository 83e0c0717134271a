"""runners.suite runs the embedded digits too (a search: it has no reference recipe) and ends with the sentence over
the datasets it ran, read from the results database."""

from __future__ import annotations

import datetime as dt

from fake_results import FakeResults

from runners import suite


def test_digits_is_run_first_without_a_reference_recipe(monkeypatch, tmp_path, capsys):
    runs = []
    monkeypatch.setattr(suite, "_run", runs.append)
    monkeypatch.setattr(suite, "_report", lambda url, out_dir: 0)
    assert suite.default_datasets()[0] == "digits" and "cifar10" in suite.default_datasets()
    assert suite.main(["--datasets", "digits", "--results", str(tmp_path / "results"), "--budget", "smoke"]) == 0
    out = capsys.readouterr().out
    (search,) = runs
    assert search[:4] == ["--dataset", "digits", "--space", "default"] and "digits: no reference recipe" in out
    assert "across datasets: no dataset has a comparison yet" in out  # nothing was recorded by the stand-in run
    assert not (tmp_path / "results" / "leaderboard.db").exists()  # reading it did not create it


def test_the_sentence_counts_the_runs_of_this_suite_only(tmp_path):
    fake = FakeResults(tmp_path / "leaderboard.db")
    for run_id, dataset, result in [("old", "a", "custom_better"), ("new-a", "a", "other_better"),
                                    ("new-b", "b", "no_clear_difference")]:
        fake.run(run_id, dataset, [{"trial_id": "t", "backbone": "resnet50", "val_accuracy": 0.5}], study=False)
        fake.store.update_run(run_id, finalists={"outcome": result, "other": "t",
                                                 "finalists": [{"repeat_of": "t", "family": "transfer"}]})
    since = fake.store.runs().set_index("run_id").at["new-a", "started_at"]
    since = since.to_pydatetime().replace(tzinfo=dt.UTC)
    assert suite.across_sentence(fake.url, since=since) == (
        "transfer learning is better than the custom CNN on 1 of 2 datasets, no clear difference on 1, worse on 0 "
        "(two-sided sign test over the 1 dataset with a difference, ties excluded: p = 1)")
    assert "on 1 of 2 datasets" in suite.across_sentence(fake.url)  # all runs: the latest per dataset still speaks
