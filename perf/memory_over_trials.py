"""Memory over a long search: does the host memory of the driver or of Ray's workers grow trial after trial?

    python -m perf.memory_over_trials [--trials 24] [--epochs 1] [--max-concurrent 1]
        [--write benchmarks/RESULTS.md]

Runs a real search (``runners.search``, digits, one fixed small CNN so every trial does the same work)
and measures for every trial: the peak RSS of its own worker process (reported by the trial), and when it
ends, the driver's RSS and the other processes under Ray's raylet (idle pooled workers, Ray's agents, and any
earlier trial's worker that had not gone away) with their total RSS. Each trial runs in a fresh process
(``reuse_actors=False``), so none of these should grow however many trials run; one trial at a time
(the default) keeps other trials out of the "other processes" figure.
With ``--write`` the table goes into the "Memory over trials" section of that Markdown file (other sections
are left as they are). Like the rest of ``perf/``, it drives the Ray runner.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from search_spaces import SearchSpace

SECTION = "## Memory over trials"


def _suggest(trial, pretrained=True):
    # One configuration for every trial; the seed-like learning rate keeps Optuna's sampler in the loop.
    trial.suggest_float("learning_rate", 1e-3, 3e-3, log=True)
    return {"backbone": "custom_cnn", "depth": 2, "width": 16, "dense_units": 32, "dropout": 0.0,
            "optimizer": "adam", "augmentation": "none", "batch_size": 32}


SPACE = SearchSpace("memory", "one small CNN, for memory measurements", _suggest, ("custom_cnn",))


def _mib(n_bytes: float) -> float:
    return n_bytes / 2**20


def ray_workers() -> list[Any]:
    """Every process under this session's raylet: trial actors, idle pooled workers and Ray's agents."""
    import psutil
    import ray

    session = ray._private.worker._global_node.get_session_dir_path()  # private, but the only handle on it
    workers = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            cmdline = process.info["cmdline"] or []
            if cmdline and cmdline[0].endswith("raylet") and any(session in part for part in cmdline):
                workers += process.children(recursive=True)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return workers


class MemoryProbe(Callback):
    """Appends one JSON line per trial start and end to ``path`` (a file: Ray pickles its callbacks)."""

    def __init__(self, path: str):
        self.path = path

    def _write(self, row: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def on_trial_start(self, iteration, trials, trial, **info):
        self._write({"event": "start", "trial_id": trial.trial_id, "time": time.time()})

    def on_trial_complete(self, iteration, trials, trial, **info):
        import psutil

        result = trial.last_result or {}
        others, total = 0, 0.0
        for process in ray_workers():
            try:
                if process.pid != result.get("pid"):  # the ending trial's own worker is measured by the trial
                    total += process.memory_info().rss
                    others += 1
            except psutil.NoSuchProcess:
                pass
        self._write({"event": "end", "trial_id": trial.trial_id, "time": time.time(),
                     "driver_rss_mb": _mib(psutil.Process().memory_info().rss), "other_ray_processes": others,
                     "other_ray_rss_mb": _mib(total), "worker_pid": result.get("pid"),
                     "worker_peak_rss_mb": result.get("peak_rss_mb")})


def measure(trials: int, epochs: int, max_concurrent: int, workdir: Path) -> list[dict[str, Any]]:
    """Run the search; return one row per trial in start order."""
    from runners.options import options_from_args
    from runners.search import build_parser, run_search

    probe_file = workdir / "memory.jsonl"
    argv = ["--weights", "none", "--budget", "smoke", "--space", "perf.memory_over_trials",
            "--scheduler", "fifo", "--num-samples", str(trials), "--epochs", str(epochs), "--image-size", "32",
            "--max-concurrent", str(max_concurrent), "--results", str(workdir / "results"), "--name", "memory"]
    run_search(options_from_args(build_parser().parse_args(argv)), callbacks=[MemoryProbe(str(probe_file))])
    events = [json.loads(line) for line in probe_file.read_text().splitlines()]
    starts = {e["trial_id"]: e for e in events if e["event"] == "start"}
    ends = {e["trial_id"]: e for e in events if e["event"] == "end"}
    order = sorted(starts, key=lambda t: starts[t]["time"])
    return [{"n": i + 1, "trial_id": t, "start": starts[t], "end": ends.get(t, {})} for i, t in enumerate(order)]


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of :func:`measure`'s rows: each trial's worker peak, and the other processes at its end."""
    lines = ["| trial | worker pid | worker peak RSS (MiB) | other Ray processes at its end | their RSS (MiB) "
             "| driver RSS (MiB) |", "|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        end = row["end"]
        lines.append(f"| {row['n']} | {end.get('worker_pid', '')} | {end.get('worker_peak_rss_mb') or 0:.0f} "
                     f"| {end.get('other_ray_processes', '')} | {end.get('other_ray_rss_mb', 0):.0f} "
                     f"| {end.get('driver_rss_mb', 0):.0f} |")
    return "\n".join(lines)


def summary(rows: list[dict[str, Any]]) -> str:
    """First five trials against the last five: the growth a leak would show."""
    def mean(key, part, sample):
        values = [r[part].get(key) for r in sample if r[part].get(key) is not None]
        return statistics.fmean(values) if values else float("nan")

    head, tail = rows[:5], rows[-5:]
    parts = []
    for label, key in (("trial worker's peak RSS", "worker_peak_rss_mb"),
                       ("other Ray processes' RSS at a trial's end", "other_ray_rss_mb"),
                       ("driver RSS", "driver_rss_mb")):
        first, last = mean(key, "end", head), mean(key, "end", tail)
        parts.append(f"{label}: {first:.0f} MiB (trials 1-5) -> {last:.0f} MiB (trials {len(rows) - 4}-{len(rows)}), "
                     f"{last - first:+.0f} MiB")
    pids = {r["end"].get("worker_pid") for r in rows if r["end"]}
    counts = [r["end"]["other_ray_processes"] for r in rows if "other_ray_processes" in r["end"]]
    if counts:
        parts.append(f"other Ray processes alive at a trial's end: {min(counts)} to {max(counts)}")
    parts.append(f"{len(pids)} distinct worker processes for {len(rows)} trials")
    return "\n".join(f"- {p}" for p in parts)


def write_section(path: Path, text: str) -> None:
    """Replace (or append) this script's section of ``path``; every other section stays as it is."""
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = f"{SECTION}\n\n{text.strip()}\n\n"
    path.write_text(pattern.sub(lambda _: new, old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + new)


def machine() -> str:
    """OS and architecture, CPU cores, RAM and whether TensorFlow sees a GPU, in one line for the record."""
    import psutil

    gpu = "a GPU" if _has_gpu() else "no GPU"
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, {gpu}")


def _has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def main(argv: list[str] | None = None) -> int:
    """Run the search, print the record (command, machine, summary, table), and write it with ``--write``."""
    parser = argparse.ArgumentParser(prog="python -m perf.memory_over_trials",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=24, help="trials to run (at least 20 for the record)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-concurrent", type=int, default=1)
    parser.add_argument("--write", type=Path, help="Markdown file whose 'Memory over trials' section gets the table")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="memory-") as workdir:
        rows = measure(args.trials, args.epochs, args.max_concurrent, Path(workdir))
    took = time.monotonic() - started
    command = "python -m perf.memory_over_trials " + " ".join(argv if argv is not None else sys.argv[1:])
    text = "\n\n".join([
        f"`{command.strip()}` on {dt.date.today():%Y-%m-%d}, {machine()}; {args.trials} trials of one small CNN "
        f"(digits, 32px, {args.epochs} epoch(s), {args.max_concurrent} at a time, `reuse_actors=False`), {took:.0f} s.",
        summary(rows),
        table(rows),
    ])
    print(text)
    if args.write:
        write_section(args.write, text)
        print(f"written to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
