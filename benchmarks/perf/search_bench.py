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

from benchmarks.perf.report import Row, Section

HARNESS_TARGET = 1.10


@dataclasses.dataclass
class SearchRun:
    name: str
    command: list[str]
    wall_s: float
    trials: list[dict[str, Any]]
    summary: dict[str, Any]

    @property
    def epochs(self) -> int:
        return sum(t["epochs"] or 0 for t in self.trials)

    @property
    def best_val(self) -> float:
        return max((t["val_accuracy"] for t in self.trials if t["val_accuracy"] is not None), default=float("nan"))

    @property
    def test_accuracy(self) -> float:
        return float(self.summary.get("test", {}).get("accuracy", float("nan")))


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}


def run_search(args: list[str], name: str, results: Path, log: Path) -> SearchRun:
    """Run ``python -m runners.search ARGS`` as a user would; fail loudly if it fails."""
    command = [sys.executable, "-m", "runners.search", *args, "--results", str(results), "--name", name]
    start = time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=_env())
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} exited with {done.returncode}; see {log}")
    with sqlite3.connect(results / "leaderboard.db") as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "select trial_id, status, epochs, val_accuracy, config, backbone from trials where run_name = ?", (name,)
        ).fetchall()
    trials = [{**dict(r), "config": json.loads(r["config"]) if r["config"] else None} for r in rows]
    summary = json.loads((results / "models" / name / "summary.json").read_text())
    return SearchRun(name, command, wall, trials, summary)


def run_plain_loop(configs: list[dict], args: dict[str, Any], workdir: Path, log: Path) -> tuple[float, dict]:
    path = workdir / "plain-configs.json"
    path.write_text(json.dumps(configs))
    command = [sys.executable, "-m", "benchmarks.perf.plain_loop", "--configs", str(path)]
    for key, value in args.items():
        if value is not None:
            command += [f"--{key.replace('_', '-')}", str(value)]
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


def harness_and_asha(
    *, dataset: str, data_dir: str | None, space: str, budget: str, num_samples: int, epochs: int,
    max_concurrent: int, workdir: Path, command: str, asha: bool = True,
) -> tuple[list[Section], dict]:
    """FIFO search and the plain loop on its configurations (item 2); the same search with ASHA (item 4)."""
    results = workdir / "results"
    common = ["--dataset", dataset, *(["--data-dir", data_dir] if data_dir else []), "--space", space,
              "--budget", budget, "--num-samples", str(num_samples), "--epochs", str(epochs),
              "--max-concurrent", str(max_concurrent), "--cpus-per-trial", "1", "--weights", "none", "--seed", "0"]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    fifo = run_search([*common, "--scheduler", "fifo"], f"perf-fifo-{stamp}", results, workdir / "fifo.log")
    configs = [t["config"] for t in sorted(fifo.trials, key=lambda t: t["trial_id"])]
    from runners.budgets import get_budget

    plain_args = dict(dataset=dataset, data_dir=data_dir, budget=budget, epochs=epochs,
                      image_size=get_budget(budget).image_size, workers=max_concurrent, cpus=1, seed=0)
    plain_wall, plain = run_plain_loop(configs, plain_args, workdir, workdir / "plain.log")
    ratio = fifo.wall_s / plain_wall
    per_trial = (fifo.wall_s - plain_wall) / num_samples
    harness = Section(
        "harness", "2. Harness overhead", command,
        f"{num_samples} trials of the `{space}` space on {dataset} (`--budget {budget}`, {epochs} epochs, FIFO), "
        f"{max_concurrent} at a time with 1 CPU each, through the real CLI; then the same {num_samples} configurations "
        f"(read from its database) through `benchmarks/perf/plain_loop.py`: the same data loading, recipe "
        f"(`train_trial`) and thread count in a pool of {max_concurrent} processes, the best tested and saved. "
        "Both are whole programs timed from start to exit.",
        [
            Row("wall time runners.search / plain Keras loop", f"{ratio:.3f} ({fifo.wall_s:.0f} s / {plain_wall:.0f} s)",
                f"<= {HARNESS_TARGET}", ratio <= HARNESS_TARGET),
            Row("extra wall seconds per trial", f"{per_trial:.1f} s"),
            Row("epochs trained, search / plain", f"{fifo.epochs} / {sum(plain['epochs'])}"),
            Row("best validation accuracy, search / plain", f"{fifo.best_val:.4f} / {plain['best_val_accuracy']:.4f}"),
        ],
        [f"search: `{_short(fifo.command)}`",
         "plain loop: `python -m benchmarks.perf.plain_loop --configs CONFIGS.json "
         + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in plain_args.items() if v is not None) + "`"],
    )
    raw: dict[str, Any] = {"fifo": dataclasses.asdict(fifo), "plain_wall_s": plain_wall, "plain": plain}
    sections = [harness]
    if asha:
        run = run_search([*common, "--scheduler", "asha"], f"perf-asha-{stamp}", results, workdir / "asha.log")
        raw["asha"] = dataclasses.asdict(run)
        stopped = sum(t["status"] == "stopped" for t in run.trials)
        sections.append(Section(
            "asha", "4. ASHA against FIFO", command,
            f"The FIFO search of item 2 and the same command with `--scheduler asha` (grace period and reduction "
            f"factor 2 from the budget): {num_samples} trials each, same seed and sampler.",
            [
                Row("epochs trained, ASHA / FIFO", f"{run.epochs} / {fifo.epochs} ({run.epochs / max(fifo.epochs, 1):.2f})"),
                Row("best validation accuracy, ASHA / FIFO", f"{run.best_val:.4f} / {fifo.best_val:.4f}"),
                Row("test accuracy of the best trial, ASHA / FIFO", f"{run.test_accuracy:.4f} / {fifo.test_accuracy:.4f}"),
                Row("wall time, ASHA / FIFO", f"{run.wall_s:.0f} s / {fifo.wall_s:.0f} s"),
                Row("trials stopped early by ASHA", f"{stopped} of {len(run.trials)}"),
            ],
            [f"ASHA: `{_short(run.command)}`", f"FIFO: `{_short(fifo.command)}`"],
        ))
    return sections, raw


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
