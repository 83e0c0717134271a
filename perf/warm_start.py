"""Warm start against a cold start: the best validation accuracy after each trial of two searches with one seed.

    python -m perf.warm_start [--results /tmp/warm-start] [--run] [--write benchmarks/RESULTS.md]

Three searches on the embedded default (digits, the default space, ``--budget smoke --num-samples 8``, no pretrained
weights) into one results folder: ``prev`` with seed 1, then ``cold`` with seed 2, and ``warm`` with seed 2
warm-started from ``prev`` (``--warm-start prev``: its completed trials start the study, :mod:`runners.warm_start`).
``--run`` runs them (:data:`COMMANDS`, in that order); without it the table is read from a folder where they ran.
The curve of a search is the best validation accuracy (best epoch, :data:`records.contract.METRIC`) among its own
trials once each has ended, in the order they ended (the database's ``finished_at``); a warm search's borrowed
trials are not among them, they are in its study only. With ``--write`` the table goes into its own section of
that Markdown file, with the commands, the machine the searches ran on (their ``runs.environment``) and the date.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

__all__ = ["COMMANDS", "KEY", "best_so_far", "command", "curves", "render", "run", "write"]

KEY = "warm-start"
BENCHMARK_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "RESULTS.md"
SEARCH = ["python", "-m", "runners.search", "--weights", "none", "--budget", "smoke", "--num-samples", "8"]
#: The three searches, by run name, in the order they run (``--results DIR`` is added to each).
COMMANDS = {
    "prev": [*SEARCH, "--seed", "1", "--name", "prev"],
    "cold": [*SEARCH, "--seed", "2", "--name", "cold"],
    "warm": [*SEARCH, "--seed", "2", "--name", "warm", "--warm-start", "prev"],
}


def best_so_far(values: list[float]) -> list[float]:
    """The running maximum of ``values``: the best after each trial.

    >>> best_so_far([0.2, 0.5, 0.4, 0.7])
    [0.2, 0.5, 0.5, 0.7]
    """
    best, out = float("-inf"), []
    for value in values:
        best = max(best, value)
        out.append(best)
    return out


def command(name: str, results: Path) -> list[str]:
    """Run ``name``'s command with ``--results results``."""
    return [*COMMANDS[name], "--results", str(results)]


def run(results: Path) -> None:
    """Run the three searches, one after another, into ``results``; stop at the first that fails."""
    for name in COMMANDS:
        words = command(name, results)
        print(f"$ {shlex.join(words)}", flush=True)
        subprocess.run([sys.executable, *words[1:]], check=True)


def curves(results: Path) -> dict[str, dict]:
    """For ``cold`` and ``warm``: the best validation accuracy after each of its trials, its trial count, and its
    environment; for ``warm`` also how many borrowed trials its study began with."""
    import optuna

    from records.environment import environment_of
    from records.store import ResultsStore, default_db_url
    from records.study import default_optuna_url
    from records.warm_start import WARM_START_ATTR

    store = ResultsStore(default_db_url(results), create=False)
    out = {}
    for name in ("cold", "warm"):
        row = store.run_row(run_name=name)
        if row is None:
            raise SystemExit(f"error: no run {name!r} in {results}; run the searches first (--run)")
        rows = store.trials(run_id=row["run_id"])
        rows = rows[rows["role"].fillna("search") == "search"].sort_values("finished_at")
        study = optuna.load_study(study_name=name, storage=default_optuna_url(results))
        borrowed = sum(WARM_START_ATTR in t.user_attrs for t in study.get_trials(deepcopy=False))
        out[name] = {"best": best_so_far([float(v) for v in rows["val_accuracy"].fillna(0.0)]),
                     "borrowed": borrowed, "environment": environment_of(row), "status": row["status"]}
    return out


def render(data: dict[str, dict], results: Path, date: str) -> str:
    """The section's Markdown, between its markers: the commands, the machine and date, the table."""
    from records.environment import machine_label, versions_label

    cold, warm = data["cold"]["best"], data["warm"]["best"]
    environment = data["warm"]["environment"]
    lines = [f"<!-- perf:{KEY}:start -->", "## Warm start: best validation accuracy after each trial", "",
             "Commands (one results folder, in this order; `python -m perf.warm_start --run` runs them):", "",
             *[f"    {shlex.join(command(name, results))}" for name in COMMANDS], "",
             f"Machine: {machine_label(environment)}; {versions_label(environment)}  ",
             f"Date: {date}", "",
             f"`warm` began with the {data['warm']['borrowed']} completed trials of `prev` (seed 1) in its study; "
             "each curve counts only the run's own trials, in the order they ended. One search of each is one draw: "
             "the curves show what the sampler did with the borrowed trials here, not an average gain.", "",
             "| trials | cold (seed 2) | warm (seed 2, from prev) |", "|---|---|---|"]
    for k in range(max(len(cold), len(warm))):
        show = [f"{curve[k]:.4f}" if k < len(curve) else "" for curve in (cold, warm)]
        lines.append(f"| {k + 1} | {show[0]} | {show[1]} |")
    lines.append(f"<!-- perf:{KEY}:end -->")
    return "\n".join(lines)


def write(block: str, path: Path = BENCHMARK_RESULTS) -> None:
    """Replace this benchmark's section of ``path`` (between its markers), or append it."""
    text = path.read_text()
    pattern = re.compile(rf"<!-- perf:{KEY}:start -->.*?<!-- perf:{KEY}:end -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Run the searches (with ``--run``), print the table, and with ``--write`` record it."""
    from perf.report import now

    parser = argparse.ArgumentParser(prog="python -m perf.warm_start", description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("/tmp/warm-start"), help="the searches' results folder")
    parser.add_argument("--run", action="store_true", help="run the three searches first")
    parser.add_argument("--write", type=Path, nargs="?", const=BENCHMARK_RESULTS)
    args = parser.parse_args(argv)
    results = args.results.absolute()
    if args.run:
        run(results)
    block = render(curves(results), results, now())
    print(block)
    if args.write:
        write(block, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
