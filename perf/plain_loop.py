"""A plain Keras loop: given configurations trained in a process pool of a search's width, no Ray, no Optuna.

    python -m perf.plain_loop --configs CONFIGS.json --dataset NAME [--data-dir DIR] --budget B
        --epochs E --image-size PX --workers N [--cpus C] [--seed S] [--out DIR]

The baseline of the harness benchmark: it loads the data as ``runners.search`` does, trains each configuration
with the same recipe (``train_trial``) and thread count, tests the best on the test split and saves it, and
prints one JSON line: the wall time of its trials, and each configuration's best validation accuracy and
training seconds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_WORKER: dict[str, Any] = {}


def _start_worker(cpus: float, data, settings) -> None:
    from benchmarks.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from runners.trainable import configure_tensorflow

    configure_tensorflow(cpus)  # the thread pools a Ray trial with these CPUs gets
    _WORKER.update(data=data, settings=settings)


def _train(config: dict[str, Any]) -> tuple[float, int, list, float]:
    import keras

    from benchmarks.training import train_trial

    keras.backend.clear_session()  # one process trains many models: drop the previous graph
    start = time.perf_counter()
    model, history = train_trial(config, _WORKER["data"], _WORKER["settings"])
    seconds = time.perf_counter() - start  # what Ray's time_total_s covers in a trial: building and training
    return max(h["val_accuracy"] for h in history), len(history), model.get_weights(), seconds


def main(argv: list[str] | None = None) -> int:
    """Train ``--configs`` in a spawned pool of ``--workers`` processes, test the best; print the JSON line.

    ``wall_s`` covers everything from reading the configurations to saving the model; ``trials_s`` only the
    pool's training.
    """
    p = argparse.ArgumentParser(prog="python -m perf.plain_loop")
    p.add_argument("--configs", required=True, help="JSON list of trial configurations")
    p.add_argument("--dataset", required=True)
    p.add_argument("--data-dir")
    p.add_argument("--budget", required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--image-size", type=int, required=True)
    p.add_argument("--workers", type=int, required=True)
    p.add_argument("--cpus", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="folder for the best model (default: a temporary one)")
    args = p.parse_args(argv)

    from benchmarks.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from benchmarks.datasets import load_dataset
    from benchmarks.models import build_model
    from benchmarks.training import TrainSettings
    from runners.budgets import get_budget
    from runners.evaluate import evaluate_model

    start = time.perf_counter()
    configs = json.loads(Path(args.configs).read_text())
    budget = get_budget(args.budget)
    data = load_dataset(args.dataset, data_dir=args.data_dir, max_examples=budget.max_examples, seed=args.seed)
    settings = TrainSettings(epochs=args.epochs, image_size=args.image_size, weights=None, patience=budget.patience,
                             seed=args.seed)
    context = multiprocessing.get_context("spawn")
    trials_start = time.perf_counter()
    with context.Pool(args.workers, initializer=_start_worker, initargs=(args.cpus, data, settings)) as pool:
        results = pool.map(_train, configs, chunksize=1)
    trials_s = time.perf_counter() - trials_start
    best = max(range(len(configs)), key=lambda i: results[i][0])
    model = build_model(configs[best], num_classes=data.num_classes, image_size=args.image_size, weights=None)
    model.set_weights(results[best][2])
    test = evaluate_model(model, data, args.image_size)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(args.out or tmp) / "model.keras")
    print(json.dumps({
        "wall_s": time.perf_counter() - start, "trials_s": trials_s, "best_val_accuracy": results[best][0],
        "test_accuracy": test["accuracy"], "val_accuracy": [r[0] for r in results], "epochs": [r[1] for r in results],
        "train_s": [r[3] for r in results],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
