"""``python -m perf [--only ITEMS] [--quick] [--data-dir DIR]``: measure, print a table, update RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from perf import gpu_bench
from perf.report import RESULTS, Section, load_average, machine, now, table, update_results

ITEMS = ("pipeline", "harness", "cache", "asha", "e2e", "gpu", "time-to-accuracy")
# The default: "gpu" needs a GPU, and runs on a GPU node by name; "time-to-accuracy" runs two whole searches.
CPU_ITEMS = ITEMS[:-2]
SCALES = ("short", "small")  # the harness item's trial lengths


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's flags: which items run (default :data:`CPU_ITEMS`), their sizes, and where results go."""
    p = argparse.ArgumentParser(prog="python -m perf", description=__doc__)
    p.add_argument("--only", default=",".join(CPU_ITEMS),
                   help=f"comma-separated items out of {', '.join(ITEMS)} (default: all but gpu and time-to-accuracy)")
    p.add_argument("--quick", action="store_true", help="tiny sizes on digits: checks that the benchmark runs, "
                   "numbers not representative (and not written to RESULTS.md unless --out is given)")
    p.add_argument("--dataset", default="cifar10", help="dataset of every item (default cifar10)")
    p.add_argument("--data-dir", help="tensorflow-datasets data_dir, e.g. ../shared/data/tfds")
    p.add_argument("--workdir", default="results/perf", help="searches, logs, cached features and raw JSON")
    p.add_argument("--out", help=f"results file (default {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS})")
    p.add_argument("--harness-scales", default="short,small",
                   help="scales of the harness item: short (8 trials of 6 epochs at 32px: minutes) and small "
                        "(4 of the small budget's trials: about an hour on 2 cores); default both")
    p.add_argument("--e2e-budget", default="smoke", help="budget of the end-to-end searches (small takes hours on 2 cores)")
    p.add_argument("--e2e-args", default="", help="extra runners.search flags for the end-to-end searches")
    p.add_argument("--gpu-models", default=",".join(gpu_bench.MODELS),
                   help="models of the gpu item (default: all four)")
    p.add_argument("--tta-samples", type=int, metavar="N",
                   help="trials per search of the time-to-accuracy item (default: the small budget's 16, about 90 "
                        "minutes for both searches on 2 cores; fewer runs shorter, and the table says which ran)")
    p.add_argument("--gpu-raw", help="the gpu item's figures as JSON: read first (what it holds is not measured again), "
                   "written after every measurement (default WORKDIR/gpu.json)")
    return p


def _load(dataset: str, data_dir: str | None, max_examples):
    from benchmarks.datasets import load_dataset

    return load_dataset(dataset, data_dir=data_dir, max_examples=max_examples, seed=0)


def _names(text: str, allowed: list[str] | tuple[str, ...], *, required: bool) -> tuple[list[str], list[str]]:
    """A comma-separated flag's names, and those not ``allowed`` (``(none)`` when ``required`` and it names none)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names, sorted(set(names) - set(allowed)) or ([] if names or not required else ["(none)"])


def main(argv: list[str] | None = None) -> int:
    """Run the chosen items in a fixed order, print each one's table and rewrite its RESULTS.md section.

    Every item's raw figures go to ``WORKDIR/perf-<time>.json``; a ``--quick`` run writes RESULTS.md only with
    ``--out``. Returns 0, or 2 after a one-line error (an unknown item or model, no GPU for the gpu item).
    """
    args = build_parser().parse_args(argv)
    items, unknown = _names(args.only, ITEMS, required=False)
    if unknown:
        print(f"error: unknown item(s) {', '.join(unknown)}; choose from {', '.join(ITEMS)}", file=sys.stderr)
        return 2
    from benchmarks.models import list_models

    gpu_models, unknown = _names(args.gpu_models, list_models(), required=True)
    if unknown:
        print(f"error: unknown --gpu-models {', '.join(unknown)}; choose from {', '.join(list_models())}", file=sys.stderr)
        return 2
    scale_names, unknown = _names(args.harness_scales, SCALES, required=True)
    if unknown:
        print(f"error: unknown --harness-scales {', '.join(unknown)}; choose from {', '.join(SCALES)}", file=sys.stderr)
        return 2
    if args.tta_samples is not None and args.tta_samples < 1:
        print(f"error: --tta-samples must be at least 1, not {args.tta_samples}", file=sys.stderr)
        return 2
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if set(items) - {"gpu"} or backend == "tensorflow":
        from benchmarks.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
    if "gpu" in items and not gpu_bench.gpu_names():
        print("error: the gpu item needs a GPU that Keras can use, and this machine has none; "
              "run it on a GPU node (KERAS_BACKEND=jax where TensorFlow is not installed)", file=sys.stderr)
        return 2
    import logging
    import warnings

    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")  # Keras warns on every fit with a tf.data input; the tables are the output

    command = shlex.join(["python", "-m", "perf", *sys.argv[1:]] if argv is None else
                         ["python", "-m", "perf", *argv])
    if backend != "tensorflow":
        command = f"KERAS_BACKEND={shlex.quote(backend)} {command}"
    quick = args.quick
    dataset = "digits" if quick else args.dataset
    data_dir = None if quick else args.data_dir
    workdir = Path(args.workdir).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    where = machine()
    sections: list[Section] = []
    raw: dict = {"command": command, "machine": where, "started": now()}

    def done(section: Section, started_load: str) -> None:
        section.machine = f"{where}; load average (1/5/15 min) {started_load} before, {load_average()} after"
        section.date = now()
        sections.append(section)
        print("\n".join([f"\n== {section.title} ==", *table(section.rows)]), flush=True)

    if "pipeline" in items:
        from perf import pipeline_bench

        load = load_average()
        data = _load(dataset, data_dir, (256 if quick else 1024, 64, 64))
        section, raw["pipeline"] = pipeline_bench.run(
            data, image_size=32 if quick else 96, batch_size=32, rounds=1 if quick else 7, command=command)
        done(section, load)
    if "cache" in items:
        from perf import cache_bench

        load = load_average()
        data = _load(dataset, data_dir, (128, 64, 64) if quick else (1024, 256, 256))
        section, raw["cache"] = cache_bench.run(data, image_size=32 if quick else 96, epochs=3, workdir=workdir,
                                                command=command)
        done(section, load)
    if "harness" in items or "asha" in items:
        from perf import search_bench
        from perf.search_bench import Scale
        from runners.budgets import get_budget

        load = load_average()
        short = Scale("short trials", "smoke", 2 if quick else 8, 2 if quick else 6)
        # The small budget's own trials (its data at 96px, its 10 epochs and early stopping). The short scale shows
        # the per-trial cost undiluted; this one, what it weighs next to real trials.
        longer = Scale("the small budget's trials", "smoke" if quick else "small", 2 if quick else 4,
                       1 if quick else get_budget("small").epochs)
        # asha compares with the short scale's FIFO search, so that one runs whenever asha does.
        wanted = {"short", *scale_names} if "asha" in items else set(scale_names)
        scales = [scale for name, scale in zip(SCALES, (short, longer)) if name in wanted] \
            if "harness" in items else [short]
        section, raw["harness"], fifo = search_bench.harness(
            dataset=dataset, data_dir=data_dir, space="custom_cnn", scales=scales, max_concurrent=2,
            workdir=workdir, command=command)
        if "harness" in items:
            done(section, load)
        if "asha" in items:
            load = load_average()
            section, raw["asha"] = search_bench.asha_against_fifo(
                fifo, dataset=dataset, data_dir=data_dir, space="custom_cnn", scale=short, max_concurrent=2,
                workdir=workdir, command=command)
            done(section, load)
    if "e2e" in items:
        from perf import search_bench
        from runners.budgets import get_budget

        load = load_average()
        extra = shlex.split(args.e2e_args) + (["--num-samples", "2", "--epochs", "1"] if quick else [])
        common = ["--dataset", dataset, *(["--data-dir", data_dir] if data_dir else []), "--weights", "none",
                  "--budget", args.e2e_budget, *extra]
        budget = get_budget(args.e2e_budget)
        setup = (
            f"`--budget {args.e2e_budget}` ({budget.num_samples} trials x {budget.epochs} epochs at {budget.image_size}px, "
            f"{'/'.join(str(n) for n in budget.max_examples)} train/validation/test images){' with ' + ' '.join(extra) if extra else ''}, "
            f"ASHA, {min(os.cpu_count() or 1, budget.num_samples)} trials at a time (one per CPU), `--weights none`: ImageNet weights cannot be downloaded on this machine, so the "
            "backbones train from scratch (and feature caching, which needs pretrained weights, does not apply). "
            "The custom CNN space and the transfer space (MobileNetV2, EfficientNetB0, ResNet50) searched side by side."
        )
        section, raw["e2e"] = search_bench.end_to_end(
            searches=[("custom CNN", [*common, "--space", "custom_cnn"]), ("backbones", [*common, "--space", "transfer"])],
            dataset=dataset, workdir=workdir, command=command, setup=setup, notes=[])
        done(section, load)

    if "time-to-accuracy" in items:
        from perf import time_to_accuracy
        from runners.budgets import get_budget

        load = load_average()
        # Quick: digits (8 px images, so the custom CNN's 16 px) against the smoke budget's 32 px, 1 epoch a trial.
        budget = get_budget("smoke" if quick else "small")
        samples = args.tta_samples or (2 if quick else budget.num_samples)
        if quick:
            scale = f"quick: {samples} trials of 1 epoch per search on digits, `--budget smoke`; not representative"
        elif samples == budget.num_samples:
            scale = f"full: {samples} trials per search (the `{budget.name}` budget's)"
        else:
            scale = f"reduced: {samples} trials per search (`--tta-samples {samples}`; the full item runs {budget.num_samples})"
        section, raw["time-to-accuracy"] = time_to_accuracy.run(
            dataset=dataset, data_dir=data_dir, budget=budget.name, samples=samples,
            extra=["--epochs", "1"] if quick else [], scale=scale, workdir=workdir, command=command)
        done(section, load)

    if "gpu" in items:
        load = load_average()
        section, raw["gpu"] = gpu_bench.run(
            models=gpu_models, raw=Path(args.gpu_raw) if args.gpu_raw else workdir / "gpu.json", command=command,
            **(dict(image_size=64, steps=4, epochs=2) if quick else {}))
        done(section, load)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    (workdir / f"perf-{stamp}.json").write_text(json.dumps(raw, indent=1, default=str))
    if sections and (args.out or not quick):
        path = update_results(sections, Path(args.out) if args.out else RESULTS)
        print(f"\nwrote {', '.join(s.key for s in sections)} to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
