"""Items 2, 4 and 5: searches through the real CLI (``python -m runners.search``), read back from their database."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from perf.report import Row, Section

HARNESS_TARGET = 1.10


@dataclasses.dataclass
class SearchRun:
    """One finished ``runners.search`` command: its wall time, its trials' rows and its ``summary.json``."""

    name: str
    command: list[str]
    wall_s: float
    trials: list[dict[str, Any]]
    summary: dict[str, Any]
    started: float = float("nan")  # the command's start, ``time.time()``: trials' finished_at are read against it

    @property
    def epochs(self) -> int:
        """Epochs trained over all trials (a trial stopped early counts the epochs it ran)."""
        return sum(t["epochs"] or 0 for t in self.trials)

    @property
    def best_val(self) -> float:
        """The best validation accuracy of any trial; NaN where no trial recorded one."""
        return max((t["val_accuracy"] for t in self.trials if t["val_accuracy"] is not None), default=float("nan"))

    @property
    def test_accuracy(self) -> float:
        """The best trial's test accuracy from the summary; NaN where the summary has none."""
        return float(self.summary.get("test", {}).get("accuracy", float("nan")))


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}


def run_search(args: list[str], name: str, results: Path, log: Path) -> SearchRun:
    """Run ``python -m runners.search ARGS`` as a user would; fail loudly if it fails."""
    command = [sys.executable, "-m", "runners.search", *args, "--results", str(results), "--name", name]
    started, start = time.time(), time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=_env())
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} exited with {done.returncode}; see {log}")
    with sqlite3.connect(results / "leaderboard.db") as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "select trial_id, status, epochs, val_accuracy, config, backbone, started_at, finished_at, image_size "
            "from trials where run_name = ?",
            (name,),
        ).fetchall()
    trials = [{**dict(r), "config": json.loads(r["config"]) if r["config"] else None} for r in rows]
    summary = json.loads((results / "models" / name / "summary.json").read_text())
    return SearchRun(name, command, wall, trials, summary, started)


def in_start_order(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The configurations of ``trials`` in the order the search started them.

    The plain loop's pool hands each configuration to the next free worker, as Ray Tune hands each new trial
    to the next free slot; in the same order both build the same schedule, so their wall times compare the
    harness and not two different packings of long and short trials onto the workers.
    """
    return [t["config"] for t in sorted(trials, key=lambda t: (str(t["started_at"]), t["trial_id"]))]


def _flags(args: dict[str, Any]) -> list[str]:
    """``{"data_dir": "d", "seed": 0}`` as ``["--data-dir", "d", "--seed", "0"]``; None values left out."""
    return [word for key, value in args.items() if value is not None for word in (f"--{key.replace('_', '-')}", str(value))]


def run_plain_loop(configs: list[dict], args: dict[str, Any], workdir: Path, log: Path) -> tuple[float, dict]:
    """Run :mod:`perf.plain_loop` on ``configs`` in a subprocess; return its wall time and JSON line.

    ``args`` become its flags (``{"data_dir": d}`` is ``--data-dir d``); its output goes to ``log``, and a
    failure raises with the command.
    """
    path = workdir / "plain-configs.json"
    path.write_text(json.dumps(configs))
    command = [sys.executable, "-m", "perf.plain_loop", "--configs", str(path), *_flags(args)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=_env())
    wall = time.perf_counter() - start
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} exited with {done.returncode}; see {log}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def _short(command: list[str]) -> str:
    """The command as a user types it (``python -m ...``), without this benchmark's --results/--name."""
    args = command[1:]
    for flag in ("--results", "--name", "--configs"):
        if flag in args:
            at = args.index(flag)
            args = args[:at] + args[at + 2 :]
    return shlex.join(["python", *args])


@dataclasses.dataclass(frozen=True)
class Scale:
    """One size of trial for the harness benchmark: a budget, possibly with a smaller image size."""

    label: str
    budget: str
    num_samples: int
    epochs: int
    image_size: int | None = None  # None: the budget's


def _search_args(dataset: str, data_dir: str | None, space: str, scale: Scale, max_concurrent: int) -> list[str]:
    return ["--dataset", dataset, *(["--data-dir", data_dir] if data_dir else []), "--space", space,
            "--budget", scale.budget, "--num-samples", str(scale.num_samples), "--epochs", str(scale.epochs),
            *(["--image-size", str(scale.image_size)] if scale.image_size else []),
            "--max-concurrent", str(max_concurrent), "--cpus-per-trial", "1", "--weights", "none", "--seed", "0"]


def _trial_seconds(run: SearchRun, results: Path) -> float:
    """Mean time a trial spent in its trainable, from Ray's own results (``time_total_s`` of its last report)."""
    totals = []
    for path in (results / "ray" / run.name).glob("*/result.json"):
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        if lines:
            totals.append(json.loads(lines[-1])["time_total_s"])
    return sum(totals) / len(totals) if totals else float("nan")


def _trial_startup(concurrent: int, log: Path) -> list[Row]:
    """The row that splits a trial's fixed cost: ``python -m perf.trial_startup``, in its own process."""
    command = [sys.executable, "-m", "perf.trial_startup", "--concurrent", str(concurrent)]
    done = subprocess.run(command, capture_output=True, text=True, env=_env())
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} exited with {done.returncode}; see {log}")
    f = json.loads(done.stdout.strip().splitlines()[-1])
    return [Row(
        f"fixed cost of a trial: Ray Tune starting and stopping its process / importing TensorFlow, Keras and this "
        f"project there (`{_short(command)}`: {f['trials']} trials that sleep {f['seconds']} s)",
        f"{f['tune_s_per_trial_reuse_false']:.1f} s / {f['import_s']:.1f} s (Ray Tune with `reuse_actors=True`: "
        f"{f['tune_s_per_trial_reuse_true']:.1f} s)",
    )]


def harness(*, dataset: str, data_dir: str | None, space: str, scales: list[Scale], max_concurrent: int,
            workdir: Path, command: str) -> tuple[Section, dict, SearchRun]:
    """Item 2 at each scale: a FIFO search through the real CLI, then the plain loop on its configurations.

    Returns the section, the raw figures and the first scale's FIFO search (item 4 compares ASHA with it).
    """
    from runners.budgets import get_budget

    results = workdir / "results"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows, raw, notes, first = _trial_startup(max_concurrent, workdir / "trial_startup.log"), {}, [], None
    for n, scale in enumerate(scales):
        args = _search_args(dataset, data_dir, space, scale, max_concurrent)
        fifo = run_search([*args, "--scheduler", "fifo"], f"perf-fifo{n}-{stamp}", results, workdir / f"fifo{n}.log")
        first = first or fifo
        configs = in_start_order(fifo.trials)
        image_size = scale.image_size or get_budget(scale.budget).image_size
        plain_args = dict(dataset=dataset, data_dir=data_dir, budget=scale.budget, epochs=scale.epochs,
                          image_size=image_size, workers=max_concurrent, cpus=1, seed=0)
        plain_wall, plain = run_plain_loop(configs, plain_args, workdir, workdir / f"plain{n}.log")
        ratio = fifo.wall_s / plain_wall
        trial_s = _trial_seconds(fifo, results)
        plain_s = sum(plain["train_s"]) / len(plain["train_s"])
        what = f"{scale.label} ({scale.num_samples} trials, `--budget {scale.budget}`, {image_size}px, {scale.epochs} epochs)"
        rows += [
            Row(f"{what}: wall time runners.search / plain Keras loop",
                f"{ratio:.3f} ({fifo.wall_s:.0f} s / {plain_wall:.0f} s)", f"<= {HARNESS_TARGET}", ratio <= HARNESS_TARGET),
            Row(f"{what}: mean seconds from a trial's start to its last epoch, search (Ray's `time_total_s`) / plain loop "
                "(`train_trial`); extra wall seconds per trial",
                f"{trial_s:.0f} s / {plain_s:.0f} s; {(fifo.wall_s - plain_wall) / scale.num_samples:.1f} s"),
            Row(f"{what}: epochs trained, search / plain", f"{fifo.epochs} / {sum(plain['epochs'])}"),
            Row(f"{what}: best validation accuracy, search / plain", f"{fifo.best_val:.4f} / {plain['best_val_accuracy']:.4f}"),
        ]
        notes += [f"{scale.label}, search: `{_short(fifo.command)}`",
                  f"{scale.label}, plain loop: `python -m perf.plain_loop --configs CONFIGS.json "
                  f"{shlex.join(_flags(plain_args))}`"]
        raw[scale.label] = {"fifo": dataclasses.asdict(fifo), "plain_wall_s": plain_wall, "plain": plain,
                            "mean_trial_s": trial_s, "plain_mean_trial_s": plain_s}
    setup = (
        f"Trials of the `{space}` space on {dataset}, FIFO, {max_concurrent} at a time with 1 CPU each, through the "
        f"real CLI; then the same configurations (read from its database), in the order the search started them, "
        f"through `perf/plain_loop.py`: the same data loading, recipe (`train_trial`) and thread count in a "
        f"pool of {max_concurrent} long-lived processes, "
        "the best tested and saved. Both are whole programs timed from start to exit. Part of the difference is a "
        "fixed cost per trial, measured in its parts in the first row: every trial runs in a fresh process "
        "(`reuse_actors=False`, so TensorFlow gives its memory back, ray#616), which Ray Tune starts and stops, and "
        "which imports TensorFlow and Keras before it trains; the plain loop's workers import them once. Ray's "
        "start-up adds a fixed cost per search. So the ratio falls as trials get longer, and the two scales show it."
    )
    return Section("harness", "2. Harness overhead", command, setup, rows, notes), raw, first


def asha_against_fifo(fifo: SearchRun, *, dataset: str, data_dir: str | None, space: str, scale: Scale,
                      max_concurrent: int, workdir: Path, command: str) -> tuple[Section, dict]:
    """Item 4: the FIFO search of item 2 again with ``--scheduler asha``."""
    args = _search_args(dataset, data_dir, space, scale, max_concurrent)
    run = run_search([*args, "--scheduler", "asha"], f"perf-asha-{time.strftime('%Y%m%d-%H%M%S')}",
                     workdir / "results", workdir / "asha.log")
    stopped = sum(t["status"] == "stopped" for t in run.trials)
    section = Section(
        "asha", "4. ASHA against FIFO", command,
        f"The first FIFO search of item 2 and the same command with `--scheduler asha` (grace period and reduction "
        f"factor 2 from the budget): {scale.num_samples} trials each, same seed and sampler.",
        [
            Row("epochs trained, ASHA / FIFO", f"{run.epochs} / {fifo.epochs} ({run.epochs / max(fifo.epochs, 1):.2f})"),
            Row("best validation accuracy, ASHA / FIFO", f"{run.best_val:.4f} / {fifo.best_val:.4f}"),
            Row("test accuracy of the best trial, ASHA / FIFO", f"{run.test_accuracy:.4f} / {fifo.test_accuracy:.4f}"),
            Row("wall time, ASHA / FIFO", f"{run.wall_s:.0f} s / {fifo.wall_s:.0f} s"),
            Row("trials stopped early by ASHA", f"{stopped} of {len(run.trials)}"),
        ],
        [f"ASHA: `{_short(run.command)}`", f"FIFO: `{_short(fifo.command)}`"],
    )
    return section, dataclasses.asdict(run)


def end_to_end(*, searches: list[tuple[str, list[str]]], dataset: str, workdir: Path, command: str, setup: str,
               notes: list[str]) -> tuple[Section, dict]:
    """One search per (label, CLI args): wall time, best validation and test accuracy, side by side."""
    results = workdir / "results"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows, raw, commands = [], {}, []
    for label, args in searches:
        run = run_search(args, f"perf-e2e-{label.split()[0].lower()}-{stamp}", results, workdir / f"e2e-{label.split()[0]}.log")
        raw[label] = dataclasses.asdict(run)
        commands.append(f"{label}: `{_short(run.command)}`")
        best = run.summary.get("best_config", {})
        rows.append(Row(f"{label}: wall time", f"{run.wall_s / 60:.1f} min"))
        rows.append(Row(f"{label}: best validation / test accuracy",
                        f"{run.best_val:.4f} / {run.test_accuracy:.4f} ({best.get('backbone')})"))
        rows.append(Row(f"{label}: trials (failed), epochs trained",
                        f"{len(run.trials)} ({run.summary.get('trials_failed', 0)}), {run.epochs}"))
    return Section("e2e", f"5. End to end: {dataset}", command, setup, rows, [*commands, *notes]), raw
