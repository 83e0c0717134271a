"""Item ``time-to-accuracy``: the custom CNN at the images' own size against the budget's, in one run.

The same search twice, back to back, through the real CLI (``perf.search_bench.run_search``): once
as the CLI runs it by default, where the custom CNN trains at the dataset's own image size when that is smaller
than the budget's (``benchmarks.resolution``; CIFAR-10: 32 px under ``--budget small``), and once with
``--image-size`` set to the budget's size (96 px). After both, every trial's best checkpoint (Ray keeps one per
trial, its best epoch's by validation accuracy) is tested on the test split, so that the table can say which test
accuracy each search had reached 5, 10 and 20 minutes in (:func:`accuracy_by`).

:func:`section` builds the table from two :class:`Arm` objects alone, so that it can be checked without a search.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from pathlib import Path
from typing import Any

from perf.report import Row, Section

__all__ = ["ACCURACY_MARGIN", "MARKS_MIN", "WALL_TARGET", "Arm", "TrialOutcome", "accuracy_by", "run", "section"]

#: The native search's wall time, at most this share of the forced-size search's.
WALL_TARGET = 0.25
#: ... with a test accuracy no lower than the forced-size search's less this (1 percentage point).
ACCURACY_MARGIN = 0.01
#: Minutes into a search at which the best test accuracy so far is read.
MARKS_MIN = (5, 10, 20)


@dataclasses.dataclass
class TrialOutcome:
    """One trial of a search arm: when it ended, counted from the command's start, and its best epoch's scores."""

    trial_id: str
    ended_s: float  # seconds from the search command's start to the trial's end (its database row's finished_at)
    val_accuracy: float  # its best epoch's
    test_accuracy: float  # its best epoch's checkpoint, tested after the search
    epochs: int


@dataclasses.dataclass
class Arm:
    """One of the two searches, as the table needs it."""

    label: str  # "native (32 px)", "96 px"
    image_size: int  # the size its best trial trained at
    wall_s: float  # the command, from start to exit
    epochs: int  # epochs trained, all trials
    best_val: float
    test_accuracy: float  # the search's own test of its best trial (summary.json)
    trials: list[TrialOutcome]
    command: str = ""


def accuracy_by(trials: list[TrialOutcome], seconds: float) -> TrialOutcome | None:
    """The best trial by validation accuracy among those ended ``seconds`` into the search; None where none had.

    Its test accuracy is the search's best test accuracy by then.
    """
    ended = [t for t in trials if t.ended_s <= seconds]
    return max(ended, key=lambda t: t.val_accuracy, default=None)


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else float("nan")


def _mark_value(trials: list[TrialOutcome], seconds: float) -> str:
    best = accuracy_by(trials, seconds)
    ended = sum(t.ended_s <= seconds for t in trials)
    if best is None:
        return "none ended"
    return f"{best.test_accuracy:.4f} ({ended} of {len(trials)} trials ended)"


def section(native: Arm, forced: Arm, *, scale: str, setup: str, command: str,
            marks_min: tuple[float, ...] = MARKS_MIN, notes: list[str] | None = None) -> Section:
    """The table: both searches side by side, their ratios (native / forced), and the targets."""
    pair = f"{native.label} / {forced.label}"
    wall = _ratio(native.wall_s, forced.wall_s)
    gap_pp = (native.test_accuracy - forced.test_accuracy) * 100
    accuracy_met = native.test_accuracy >= forced.test_accuracy - ACCURACY_MARGIN - 1e-12
    rows = [
        Row("scale", scale),
        Row(f"wall time, {pair}",
            f"{wall:.3f} ({native.wall_s / 60:.1f} min / {forced.wall_s / 60:.1f} min)",
            f"<= {WALL_TARGET:g}", wall <= WALL_TARGET),
        Row(f"epochs trained, {pair}",
            f"{native.epochs} / {forced.epochs} ({_ratio(native.epochs, forced.epochs):.2f})"),
        Row(f"best validation accuracy, {pair}",
            f"{native.best_val:.4f} / {forced.best_val:.4f} ({_ratio(native.best_val, forced.best_val):.3f})"),
        Row(f"test accuracy of the best trial, {pair}",
            f"{native.test_accuracy:.4f} / {forced.test_accuracy:.4f} "
            f"({_ratio(native.test_accuracy, forced.test_accuracy):.3f}; {gap_pp:+.1f} pp)",
            f">= {forced.label}'s - {ACCURACY_MARGIN * 100:g} pp", accuracy_met),
    ]
    for minutes in marks_min:
        seconds = minutes * 60
        a, b = accuracy_by(native.trials, seconds), accuracy_by(forced.trials, seconds)
        ratio = f"; {_ratio(a.test_accuracy, b.test_accuracy):.3f}" if a and b else ""
        rows.append(Row(f"best test accuracy by {minutes:g} min, {pair}",
                        f"{_mark_value(native.trials, seconds)} / {_mark_value(forced.trials, seconds)}{ratio}"))
    definition = (
        "Best test accuracy by T min: the test accuracy of the trial with the best validation accuracy among the "
        "trials that had ended T minutes after the search command started (a trial ends when it completes or ASHA "
        "stops it: its database row's `finished_at`); 'none ended' where no trial had. Every trial's best checkpoint "
        "(Ray keeps its best epoch's, by validation accuracy) was tested on the test split after both searches, "
        "outside their wall times."
    )
    targets = (
        f"Targets on this machine: the {native.label} search takes at most {WALL_TARGET:g} of the {forced.label} "
        f"search's wall time, with a test accuracy of its best trial no lower than {ACCURACY_MARGIN * 100:g} pp "
        f"below the {forced.label} search's."
    )
    return Section("time-to-accuracy", f"7. Time to accuracy: the custom CNN at {native.label} against {forced.label}",
                   command, setup, rows, [definition, targets, *(notes or [])])


def _utc_seconds(value: Any) -> float:
    """A database timestamp (a naive UTC string from SQLite, or a datetime) as ``time.time()`` seconds."""
    if value is None:
        return float("nan")
    stamp = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)  # records.store writes UTC
    return stamp.timestamp()


def evaluate_trials(search, results: Path, data) -> list[TrialOutcome]:
    """Every trial of ``search`` that ended with a score, its best checkpoint tested on ``data``'s test split.

    The checkpoints come from the search's Ray experiment (its ``ResultGrid``); when each trial ended, from its
    database row.
    """
    import keras
    from ray.tune import ExperimentAnalysis, ResultGrid

    from runners.evaluate import evaluate_model, load_checkpoint_model
    from runners.outcome import ok_results
    from records.contract import CHECKPOINT_SCORE, METRIC, MODE

    rows = {t["trial_id"]: t for t in search.trials}
    grid = ResultGrid(ExperimentAnalysis(str(results / "ray" / search.name)))
    outcomes = []
    for result in ok_results(grid):
        trial_id = result.metrics["trial_id"]
        row = rows.get(trial_id, {})
        model = load_checkpoint_model(result.get_best_checkpoint(CHECKPOINT_SCORE, MODE))
        test = evaluate_model(model, data)
        del model
        keras.backend.clear_session()
        outcomes.append(TrialOutcome(
            trial_id=trial_id, ended_s=_utc_seconds(row.get("finished_at")) - search.started,
            val_accuracy=float(result.metrics[METRIC]), test_accuracy=float(test["accuracy"]),
            epochs=int(row.get("epochs") or result.metrics.get("training_iteration") or 0)))
    return sorted(outcomes, key=lambda t: t.ended_s)


def run(*, dataset: str, data_dir: str | None, budget: str, samples: int, extra: list[str], scale: str,
        workdir: Path, command: str) -> tuple[Section, dict]:
    """Both searches through the real CLI, then every trial tested; the section and the raw figures."""
    from benchmarks.datasets import load_dataset
    from perf.search_bench import _short, run_search
    from runners.budgets import get_budget

    size = get_budget(budget).image_size
    results = workdir / "results"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    common = ["--dataset", dataset, *(["--data-dir", data_dir] if data_dir else []), "--space", "custom_cnn",
              "--budget", budget, "--weights", "none", "--repeats", "0", "--export", "none", "--seed", "0",
              "--num-samples", str(samples), *extra]
    searches = [
        ("native", run_search(common, f"perf-tta-native-{stamp}", results, workdir / "tta-native.log")),
        (f"{size}px", run_search([*common, "--image-size", str(size)], f"perf-tta-{size}px-{stamp}", results,
                                 workdir / f"tta-{size}px.log")),
    ]
    # The same splits as the searches: the budget's examples per split, seed 0, the default fractions.
    data = load_dataset(dataset, data_dir=data_dir, max_examples=get_budget(budget).max_examples, seed=0)
    tested_at = time.perf_counter()
    arms, raw, agree = [], {}, []
    for key, search in searches:
        trials = evaluate_trials(search, results, data)
        trained_at = int(search.summary.get("image_size") or size)
        label = f"native ({trained_at} px)" if key == "native" else f"{size} px"
        arms.append(Arm(label, trained_at, search.wall_s, search.epochs, search.best_val, search.test_accuracy,
                        trials, _short(search.command)))
        best = accuracy_by(trials, math.inf)
        agree.append(best is not None and abs(best.test_accuracy - search.test_accuracy) < 1e-3)
        raw[key] = {"search": dataclasses.asdict(search), "trials": [dataclasses.asdict(t) for t in trials]}
    testing_s = time.perf_counter() - tested_at
    native, forced = arms
    setup = (
        f"The same `custom_cnn` search on {dataset} twice, back to back, through the real CLI: as it runs by default, "
        f"where the custom CNN trains at the images' own size when they are smaller than the budget's "
        f"({native.image_size} px here), and with `--image-size {size}` (the `--budget {budget}` size); "
        f"{samples} trials each, the same seed, sampler (TPE) and scheduler (ASHA), as many trials at a time as the "
        "CPUs allow, `--weights none --repeats 0`, and `--export none` so that exporting the best model is not "
        f"timed. Wall time: each command from start to exit (Ray's start, loading the data, the trials, testing "
        f"and saving the best trial). Scale: {scale}."
    )
    notes = [
        f"{native.label}: `{native.command}`",
        f"{forced.label}: `{forced.command}`",
        f"Testing every trial's best checkpoint afterwards ({len(native.trials)} + {len(forced.trials)} trials): "
        f"{testing_s:.0f} s; the best trial's test accuracy from it "
        + ("agrees with each search's own test." if all(agree) else "differs from a search's own test (see the raw JSON)."),
    ]
    raw["testing_s"] = testing_s
    return section(native, forced, scale=scale, setup=setup, command=command, notes=notes), raw
