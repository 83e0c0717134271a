"""The time-to-accuracy item: its definition and table on hand-made results, and the item's quick run."""

from __future__ import annotations

import math

import pytest

from perf.report import update_results
from perf.time_to_accuracy import Arm, TrialOutcome, accuracy_by, section


def _trial(n: int, minutes: float, val: float, test: float) -> TrialOutcome:
    return TrialOutcome(f"t{n}", minutes * 60, val, test, epochs=10)


# The native search: quick trials; the 96 px one: slow trials, the first ending after 5 minutes.
NATIVE = [_trial(1, 2, 0.60, 0.59), _trial(2, 4, 0.70, 0.68), _trial(3, 9, 0.65, 0.71), _trial(4, 12, 0.74, 0.73)]
FORCED = [_trial(5, 6, 0.62, 0.61), _trial(6, 18, 0.75, 0.735), _trial(7, 40, 0.76, 0.745)]


def _arm(label: str, size: int, wall_min: float, trials: list[TrialOutcome], test: float) -> Arm:
    return Arm(label, size, wall_min * 60, epochs=sum(t.epochs for t in trials),
               best_val=max(t.val_accuracy for t in trials), test_accuracy=test, trials=trials, command="cmd")


def test_the_accuracy_by_a_time_is_the_test_accuracy_of_the_best_validated_trial_that_had_ended():
    assert accuracy_by(NATIVE, 60) is None  # none had ended
    assert accuracy_by(NATIVE, 5 * 60).test_accuracy == 0.68  # t2 (val 0.70), not t1
    # t3 has the best test accuracy by 10 min, but t2 the best validation accuracy: the choice is by validation.
    assert accuracy_by(NATIVE, 10 * 60).trial_id == "t2"
    assert accuracy_by(NATIVE, 12 * 60).trial_id == "t4"  # a trial that ended at the mark counts
    assert accuracy_by(FORCED, math.inf).trial_id == "t7"


def test_the_table_gives_both_searches_their_ratios_and_the_targets(tmp_path):
    native = _arm("native (32 px)", 32, 15, NATIVE, 0.73)
    forced = _arm("96 px", 96, 72, FORCED, 0.745)
    result = section(native, forced, scale="full: 16 trials per search", setup="setup", command="cmd")
    rows = {row.measure: row for row in result.rows}
    assert result.key == "time-to-accuracy"
    assert rows["scale"].value == "full: 16 trials per search"
    wall = rows["wall time, native (32 px) / 96 px"]
    assert wall.value == "0.208 (15.0 min / 72.0 min)" and wall.target == "<= 0.25" and wall.met
    assert rows["epochs trained, native (32 px) / 96 px"].value == "40 / 30 (1.33)"
    assert rows["best validation accuracy, native (32 px) / 96 px"].value == "0.7400 / 0.7600 (0.974)"
    test = rows["test accuracy of the best trial, native (32 px) / 96 px"]
    assert test.value == "0.7300 / 0.7450 (0.980; -1.5 pp)" and test.target == ">= 96 px's - 1 pp"
    assert test.met is False  # 1.5 pp below
    assert rows["best test accuracy by 5 min, native (32 px) / 96 px"].value == \
        "0.6800 (2 of 4 trials ended) / none ended"
    assert rows["best test accuracy by 10 min, native (32 px) / 96 px"].value == \
        "0.6800 (3 of 4 trials ended) / 0.6100 (1 of 3 trials ended); 1.115"
    assert rows["best test accuracy by 20 min, native (32 px) / 96 px"].value == \
        "0.7300 (4 of 4 trials ended) / 0.7350 (2 of 3 trials ended); 0.993"
    assert any(note.startswith("Best test accuracy by T min: the test accuracy of the trial with the best "
                               "validation accuracy among the trials that had ended") for note in result.notes)
    assert any(note.startswith("Targets on this machine") for note in result.notes)

    # Exactly 1 pp below meets the accuracy target; a slower native search misses the time one.
    close = section(_arm("native (32 px)", 32, 20, NATIVE, 0.735), forced, scale="s", setup="s", command="c")
    rows = {row.measure: row for row in close.rows}
    assert rows["test accuracy of the best trial, native (32 px) / 96 px"].met is True
    assert rows["wall time, native (32 px) / 96 px"].met is False

    # Its own section of the results file, after the other perf sections, everything else kept.
    result.machine, result.date = "cpu", "today"
    path = tmp_path / "RESULTS.md"
    path.write_text("# Performance results\n\nintro\n\n<!-- perf:gpu:start -->\n## 6. GPU\n<!-- perf:gpu:end -->\n")
    update_results([result], path)
    text = path.read_text()
    assert text.index("perf:gpu:end") < text.index("<!-- perf:time-to-accuracy:start -->")
    assert "| wall time, native (32 px) / 96 px | 0.208 (15.0 min / 72.0 min) | <= 0.25 | met |" in text
    assert "| test accuracy of the best trial, native (32 px) / 96 px | 0.7300 / 0.7450 (0.980; -1.5 pp) " \
           "| >= 96 px's - 1 pp | NOT met |" in text
    update_results([result], path)
    assert path.read_text() == text  # rewritten in place


def test_a_bad_tta_samples_is_a_one_line_error(tmp_path):
    from helpers import run_cli

    result = run_cli("perf", "--only", "time-to-accuracy", "--tta-samples", "0",
                     "--workdir", str(tmp_path / "work"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --tta-samples must be at least 1, not 0"


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_the_quick_time_to_accuracy_item_runs_both_searches_and_tests_every_trial(tmp_path):
    # Not a timing test: two tiny digits searches (16 px against 32 px); only that the item runs and reports.
    from helpers import run_cli

    out = tmp_path / "RESULTS.md"
    result = run_cli("perf", "--quick", "--only", "time-to-accuracy", "--workdir", str(tmp_path / "work"),
                     "--out", str(out), cwd=tmp_path, timeout=850)
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    assert "## 7. Time to accuracy: the custom CNN at native (16 px) against 32 px" in text
    assert "| scale | quick: 2 trials of 1 epoch per search" in text
    for measure in ("wall time", "epochs trained", "best validation accuracy", "test accuracy of the best trial",
                    "best test accuracy by 5 min", "best test accuracy by 20 min"):
        assert f"| {measure}, native (16 px) / 32 px |" in text, measure
    assert "epochs trained, native (16 px) / 32 px | 2 / 2 (1.00) |" in text
    assert "(2 + 2 trials)" in text and "agrees with each search's own test" in text
