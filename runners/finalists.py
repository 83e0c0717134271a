"""Finalists, repeated: each family's best configuration trained again with other seeds, and every repeat tested.

One search is one draw: the same space searched twice can crown configurations 15 points apart on a small
validation split, and the best trial's score carries the luck that made it the best. So after the search the
best configuration of each family (``--finalists per-family``: the custom CNN and the best backbone;
``per-backbone``: the best of every backbone) is trained ``--repeats N`` more times, with seeds the search
never used (weights' initialisation, shuffling and augmentation change; the splits stay fixed), and each
repeat is tested. Their spread gives each family an interval and the comparison a verdict
(:mod:`benchmarks.comparison`).

The repeats are Ray Tune trials like the search's: a second experiment, ``STORAGE/NAME/repeats``, run on the
same resources with the same trainable, checkpointed and resumable, recorded as trial rows with role
``repeat``, their ``seed`` and the trial they repeat (``repeat_of``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import Any

from benchmarks.comparison import TestSet, compare_families
from benchmarks.models import family, family_label
from benchmarks.stats import Difference, Interval
from records.contract import CHECKPOINT_SCORE, METRIC, MODE, REPEAT_OF_KEY, SEED_KEY, TRIAL_ERROR
from records.run import RunRecord

__all__ = ["FINALIST_MODES", "REPEATS_EXPERIMENT", "Candidate", "pick_finalists", "repeat_configs", "repeat_finalists",
           "effort_line", "summary_lines"]

FINALIST_MODES = ("per-family", "per-backbone")
REPEATS_EXPERIMENT = "repeats"  # the repeats' Ray experiment, inside the search's own folder


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A search trial that finished with a score: the pool finalists are picked from."""

    trial_id: str
    config: dict[str, Any]
    val_accuracy: float


def pick_finalists(candidates: Iterable[Candidate], *, pretrained: bool, mode: str = "per-family") -> list[Candidate]:
    """The best candidate (by best-epoch validation accuracy) of each family, or of each backbone.

    >>> pool = [Candidate("a", {"backbone": "custom_cnn"}, 0.8), Candidate("b", {"backbone": "resnet50"}, 0.7),
    ...         Candidate("c", {"backbone": "mobilenet_v2"}, 0.9), Candidate("d", {"backbone": "custom_cnn"}, 0.6)]
    >>> [c.trial_id for c in pick_finalists(pool, pretrained=True)]
    ['c', 'a']
    >>> [c.trial_id for c in pick_finalists(pool, pretrained=True, mode="per-backbone")]
    ['c', 'a', 'b']
    """
    if mode not in FINALIST_MODES:
        raise ValueError(f"unknown finalists mode {mode!r}; choose from {FINALIST_MODES}")
    best: dict[str, Candidate] = {}
    for candidate in sorted(candidates, key=lambda c: -c.val_accuracy):
        backbone = str(candidate.config.get("backbone"))
        key = backbone if mode == "per-backbone" else family(backbone, pretrained)
        best.setdefault(key, candidate)
    return list(best.values())


def repeat_seeds(seed: int, repeats: int) -> list[int]:
    """Seeds the search never trained with (it used ``seed``): ``seed + 1`` to ``seed + repeats``."""
    return [seed + k for k in range(1, repeats + 1)]


def repeat_configs(finalists: Iterable[Candidate], seeds: Iterable[int]) -> list[dict[str, Any]]:
    """One trial config per finalist and seed: the finalist's hyperparameters, the seed and the trial it repeats."""
    seeds = list(seeds)
    return [{**finalist.config, SEED_KEY: seed, REPEAT_OF_KEY: finalist.trial_id}
            for finalist in finalists for seed in seeds]


def repeat_finalists(options, scored: Iterable, *, trainable, store, run: RunRecord, max_concurrent: int, data,
                     restore: bool, search_started: float | None = None,
                     callbacks: list | None = None) -> dict[str, Any] | None:
    """Pick the finalists from the search's ``scored`` trials, train and test their repeats; None without one.

    ``scored`` are the Ray results that have a score.

    Returns the comparison (``compare_families(...).to_json()``) with the repeats' cost. A resumed run
    (``restore``) continues the repeats' own experiment where it stopped; ``search_started`` (``time.time()``)
    keeps the progress lines' clock running on from the search's; ``callbacks`` are the search's extra ones.
    """
    candidates = [Candidate(r.metrics["trial_id"], dict(r.config), float(r.metrics[METRIC]))
                  for r in scored]
    finalists = pick_finalists(candidates, pretrained=run.pretrained, mode=options.finalists)
    if not finalists:
        return None
    return _run_repeats(options, finalists, trainable=trainable, store=store, run=run, max_concurrent=max_concurrent,
                        data=data, restore=restore, search_started=search_started, callbacks=callbacks)


def _run_repeats(options, finalists: list[Candidate], *, trainable, store, run: RunRecord, max_concurrent: int,
                 data, restore: bool, search_started: float | None, callbacks: list | None = None) -> dict[str, Any]:
    """Train and test every repeat of ``finalists``, as a Ray experiment of its own; the comparison and its cost."""
    from ray.tune.search import ConcurrencyLimiter

    from runners.callbacks import ProgressPrinter, TrialRecorder
    from runners.consistency import check_complete, check_recorded, forget_unknown_trials
    from runners.resume import can_restore, experiment_path
    from runners.searcher import FixedConfigs
    from runners.schedulers import make_scheduler
    from runners.tuning import restore_tuner, run_tuner

    configs = repeat_configs(finalists, repeat_seeds(options.seed, options.repeats))
    folder = experiment_path(options.storage_path, options.name)
    path = experiment_path(folder, REPEATS_EXPERIMENT)
    names = ", ".join(f"{c.config.get('backbone')} ({c.trial_id})" for c in finalists)
    print(f"finalists: {names}; {options.repeats} repeats each with seeds "
          f"{', '.join(map(str, repeat_seeds(options.seed, options.repeats)))} ({len(configs)} trials)", flush=True)
    clock, started = time.time(), time.monotonic()
    if restore and can_restore(path):
        grid = restore_tuner(trainable, path, callbacks=callbacks)
    else:
        grid = run_tuner(
            trainable, options, name=REPEATS_EXPERIMENT, storage_path=folder,
            search_alg=ConcurrencyLimiter(FixedConfigs(configs, METRIC), max_concurrent=max_concurrent),
            scheduler=make_scheduler("fifo", options.epochs, 0),  # every repeat runs its course
            num_samples=len(configs), max_concurrent=max_concurrent,
            callbacks=[ProgressPrinter(len(configs), options.epochs, what="repeat", started=search_started or clock),
                       TrialRecorder(store, run), *(callbacks or [])],
        )
    wall = time.monotonic() - started
    check_complete(grid, len(configs))
    check_recorded(grid, store, run.run_id, options)
    if restore:
        forget_unknown_trials(grid, store, run.run_id, repeats=True)
    _test_repeats(grid, data, store, run)
    rows = store.trials(run_id=run.run_id)
    repeats = rows[rows["role"] == "repeat"].to_dict("records")
    comparison = compare_families(repeats, labels=data.test.labels)
    return {**comparison.to_json(), "repeats": options.repeats, "mode": options.finalists,
            "cost": _cost(rows, repeats_wall=wall)}


def _trained(result) -> bool:
    """Whether a repeat trained: it ended without an error and with a finite score (a NaN loss reports NaN)."""
    import math

    metrics = result.metrics or {}
    value = metrics.get(METRIC)
    return (result.error is None and TRIAL_ERROR not in metrics and isinstance(value, (int, float))
            and math.isfinite(value))


def _best_checkpoint(result):
    """The repeat's best epoch's checkpoint, or None (Ray raises for a trial that never saved one)."""
    try:
        return result.get_best_checkpoint(CHECKPOINT_SCORE, MODE)
    except (RuntimeError, ValueError, KeyError):
        return None


def _test_repeats(grid, data, store, run: RunRecord) -> None:
    """Evaluate each repeat that trained on the test split, at its best epoch, and store its figures and predictions.

    A repeat that failed (raised, diverged, died before its first checkpoint) is never tested: its row stays
    ``failed`` with no test figure, so nothing counts it. A resumed run tests again.
    """
    from runners.evaluate import evaluate_with_predictions, load_checkpoint_model

    trained = {r.metrics["trial_id"]: _best_checkpoint(r) for r in grid if _trained(r)}
    done = {trial_id: checkpoint for trial_id, checkpoint in trained.items() if checkpoint is not None}
    failed = len(list(grid)) - len(done)
    print(f"testing the {len(done)} repeats that trained on the test split"
          + (f" ({failed} failed: not tested, not counted)" if failed else "") + " ...", flush=True)
    for trial_id, checkpoint in done.items():
        test, predictions = evaluate_with_predictions(load_checkpoint_model(checkpoint), data)
        store.update_trial(run.run_id, trial_id, test_accuracy=test["accuracy"], test_f1_macro=test["f1_macro"],
                           test_predictions=predictions)


def _effort(part) -> dict[str, float]:
    return {"trials": int(len(part)), "epochs": int(part["epochs"].fillna(0).sum()),
            "trial_seconds": float(part["wall_seconds"].fillna(0).sum())}


def _cost(rows, repeats_wall: float) -> dict[str, Any]:
    """Trials, epochs and trial seconds of the search (also per family) and of the repeats (and their wall time)."""
    cost: dict[str, Any] = {}
    for role in ("search", "repeat"):
        cost[role] = _effort(rows[rows["role"].fillna("search") == role])
    search = rows[rows["role"].fillna("search") == "search"]
    cost["search_by_family"] = {str(key): _effort(part) for key, part in search.groupby("family", sort=True)}
    cost["repeat"]["wall_seconds"] = float(repeats_wall)
    return cost


def effort_line(by_family: dict[str, dict[str, float]] | None) -> str | None:
    """``search effort: custom CNN 2 trials, 6 epochs, 41 trial-s; transfer learning 2 trials, ...``; None without it."""
    if not by_family:
        return None
    parts = [f"{family_label(key)} {e['trials']} trials, {e['epochs']} epochs, {e['trial_seconds']:.0f} trial-s"
             for key, e in by_family.items()]
    return "search effort: " + "; ".join(parts)


def summary_lines(finalists: dict[str, Any] | None) -> list[str]:
    """The closing summary's lines about the finalists: each one's interval, the difference, the verdict, the cost."""
    if not finalists:
        return ["finalists: none repeated (--repeats 0), so the comparison has no interval"]
    lines = [f"finalists, each trained {finalists['repeats']} more times with new seeds and tested:"]
    for entry in finalists["finalists"]:
        acc, f1 = entry["test_accuracy"], entry["test_f1_macro"]
        lines.append(f"  {entry['label']} (repeats trial {entry['repeat_of']}): test accuracy "
                     f"{Interval(**acc).describe()}; macro F1 {Interval(**f1).describe()}")
    difference = finalists.get("difference") or {}
    if difference:
        acc, f1 = difference["test_accuracy"], difference["test_f1_macro"]
        lines.append(f"  difference, {_label(finalists, 'other')} minus custom CNN: test accuracy "
                     f"{Difference(**acc).describe()}; macro F1 {Difference(**f1).describe()}")
    lines.append(f"verdict: {finalists['verdict']}")
    if finalists.get("note"):
        lines.append(f"  note: {finalists['note']}")
    if finalists.get("test_set"):
        lines.append(f"  {TestSet(**finalists['test_set']).describe()}")
    effort = effort_line(finalists["cost"].get("search_by_family"))
    if effort:
        lines.append(f"  {effort}")
    cost = finalists["cost"]
    search, repeat = cost["search"], cost["repeat"]
    lines.append(f"cost: search {search['trials']} trials, {search['epochs']} epochs, {search['trial_seconds']:.0f} "
                 f"trial-seconds; repeats {repeat['trials']} trials, {repeat['epochs']} epochs, "
                 f"{repeat['trial_seconds']:.0f} trial-seconds, {repeat['wall_seconds']:.0f} s wall")
    return lines


def _label(finalists: dict[str, Any], side: str) -> str:
    key = finalists.get(side)
    return next((f["label"] for f in finalists["finalists"] if f["repeat_of"] == key), side)

