"""The fixed cost of one trial, in its two parts: Ray Tune starting and stopping its actor, and the imports.

    python -m perf.trial_startup [--trials 6] [--concurrent 2] [--seconds 3]

Prints one JSON line. ``tune_s_per_trial``: how much longer than their sleeping ``--trials`` trials of a
trainable that only sleeps take through ``tune.Tuner``, ``--concurrent`` at a time, divided by the trials
in a lane; with ``reuse_actors=False`` (every trial a fresh process, as ``runners.search`` runs them) and,
for comparison, ``True``. ``import_s``: a fresh Python importing ``runners.trainable`` (TensorFlow, Keras and
this project, what each trial's process loads before it trains), the median of three.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def _sleeper(config: dict) -> None:
    from ray import tune

    for step in range(config["steps"]):
        time.sleep(1.0)
        tune.report({"step": step})


def tune_seconds_per_trial(*, trials: int, concurrent: int, seconds: int, reuse_actors: bool) -> float:
    """Wall time of ``trials`` sleeping trials beyond their sleep, per trial of a lane."""
    from ray import tune

    with tempfile.TemporaryDirectory() as storage:
        tuner = tune.Tuner(
            tune.with_resources(_sleeper, {"cpu": 1}),
            param_space={"steps": seconds, "n": tune.grid_search(list(range(trials)))},
            tune_config=tune.TuneConfig(max_concurrent_trials=concurrent, reuse_actors=reuse_actors),
            run_config=tune.RunConfig(storage_path=storage, verbose=0),
        )
        start = time.perf_counter()
        tuner.fit()
        wall = time.perf_counter() - start
    per_lane = trials / concurrent
    return (wall - per_lane * seconds) / per_lane


def import_seconds(module: str = "runners.trainable", repeats: int = 3) -> float:
    """The median wall time of a fresh Python process that only imports ``module`` (interpreter start included)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True, env=env, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _positive(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def main(argv: list[str] | None = None) -> int:
    """Time Ray Tune's per-trial cost (actors reused and not) on a local Ray, then the imports; print the JSON line."""
    p = argparse.ArgumentParser(prog="python -m perf.trial_startup")
    p.add_argument("--trials", type=_positive, default=6)
    p.add_argument("--concurrent", type=_positive, default=2)
    p.add_argument("--seconds", type=_positive, default=3, help="each trial sleeps this long, reporting every second")
    args = p.parse_args(argv)

    import ray

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    ray.init(address="local", num_cpus=args.concurrent, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
    try:
        figures = {
            f"tune_s_per_trial_reuse_{reuse}".lower(): tune_seconds_per_trial(
                trials=args.trials, concurrent=args.concurrent, seconds=args.seconds, reuse_actors=reuse)
            for reuse in (False, True)
        }
    finally:
        ray.shutdown()
    print(json.dumps({**vars(args), **figures, "import_s": import_seconds()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
