"""One decoded copy per node: a node's host memory with 1, 2 and 4 trials on the same data, and streaming's epoch
throughput against the cached path, side by side.

    python -m perf.data_sharing [--dataset cifar10 --data-dir ../shared/data/tfds] [--image-size 96]
        [--trials 1,2,4] [--write benchmarks/RESULTS.md]

Memory: N trial processes (spawned, as Ray's workers are) each build the training split's pipeline on the node's
decoded copy (``benchmarks.decoded``) and read one whole epoch, then hold it while the parent reads every
process's PSS (proportional set size: a page shared by k processes counts 1/k in each, so their sum counts the
shared copy once). The data's part is each process's PSS after its epoch less before its pipeline (TensorFlow
imported and started), summed; the node's total is the sum of their PSS. The old path (``ds.cache()`` in each
trial) would add the decoded size again with each trial.
Throughput: images a second of one training epoch of a small CNN (after an untimed epoch that decodes or
warms), reading the node's copy, then streaming from the source (decoding every epoch, nothing cached).
With ``--write`` the table goes into its own section of that Markdown file (others are left as they are).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from perf.report import Row, Section, load_average, machine, now, render

KEY = "data-sharing"
BENCHMARK_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "RESULTS.md"
CNN = {"backbone": "custom_cnn", "depth": 3, "width": 16, "dense_units": 64, "dropout": 0.0, "learning_rate": 1e-3,
       "batch_size": 64, "optimizer": "adam", "augmentation": "none"}


def _pss() -> int:
    import psutil

    return psutil.Process().memory_full_info().pss


def _trial(data, image_size: int, ready, measured, before_after) -> None:
    """One trial's process: PSS before its pipeline, read one epoch from the node's copy, hold it until measured."""
    from benchmarks.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    tf.constant(1) + 1  # TensorFlow started: its runtime is in the baseline
    before = _pss()
    from benchmarks.pipeline import make_dataset

    ds = make_dataset(data.train.stored("node"), image_size=image_size, batch_size=64, training=True)
    seen = sum(int(x.shape[0]) for x, _ in ds)
    before_after.put((os.getpid(), before, _pss(), seen))
    ready.wait()
    measured.wait()  # the parent has read every PSS: the pipeline may go


def _memory(data, image_size: int, trials: int) -> tuple[int, int]:
    """(node total, data part) in bytes with ``trials`` processes on the same data (see the module's docstring)."""
    import psutil

    context = mp.get_context("spawn")
    ready, measured = context.Barrier(trials + 1), context.Event()
    queue = context.Queue()
    processes = [context.Process(target=_trial, args=(data, image_size, ready, measured, queue)) for _ in range(trials)]
    for process in processes:
        process.start()
    reports = [queue.get(timeout=1800) for _ in processes]
    ready.wait()
    total = sum(psutil.Process(pid).memory_full_info().pss for pid, *_ in reports)
    data_part = sum(after - before for _, before, after, _ in reports)
    measured.set()
    for process in processes:
        process.join()
    return total, data_part


def _throughput(data, image_size: int, storage: str) -> float:
    """Images a second of one training epoch of :data:`CNN` (after an untimed one) reading ``storage``."""
    import keras

    from benchmarks.models import build_model
    from benchmarks.pipeline import make_dataset

    ds = make_dataset(data.train.stored(storage), image_size=image_size, batch_size=CNN["batch_size"], training=True)
    model = build_model(CNN, num_classes=data.num_classes, image_size=image_size, weights=None)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(ds, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(ds, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    keras.backend.clear_session()
    return len(data.train) / seconds


def measure(dataset: str, data_dir: str | None, image_size: int, trials: list[int]) -> Section:
    """Run both measurements and return their section."""
    from benchmarks.datasets import load_dataset
    from benchmarks.decoded import DECODED_DIR_ENV, decoded_bytes
    from benchmarks.memory import size

    os.environ.setdefault(DECODED_DIR_ENV, tempfile.mkdtemp(prefix="decoded-"))
    data = load_dataset(dataset, data_dir=data_dir, validation_fraction=0.1)
    copy = decoded_bytes(len(data.train), image_size)
    rows, memory = [], {}
    for n in trials:
        memory[n] = _memory(data, image_size, n)
        total, part = memory[n]
        rows.append(Row(f"{n} trial{'s' if n > 1 else ''}: node memory (sum of PSS) / the data's part",
                        f"{size(total)} / {size(part)} (each-trial cache: {size(n * copy)} of data)"))
    first, last = trials[0], trials[-1]
    ratio = memory[last][1] / memory[first][1]
    rows.append(Row(f"data's memory, {last} trials / {first}", f"{ratio:.2f}", "<= 1.2", ratio <= 1.2))
    rows.append(Row(f"node memory, {last} trials / {first} (TensorFlow's own in every process included)",
                    f"{memory[last][0] / memory[first][0]:.2f}"))
    node = _throughput(data, image_size, "node")
    streamed = _throughput(data, image_size, "stream")
    rows.append(Row("epoch throughput, node copy / streamed", f"{node:.0f} / {streamed:.0f} images/s"))
    rows.append(Row("streamed / cached", f"{streamed / node:.2f}", ">= 0.8", streamed / node >= 0.8))
    return Section(
        key=KEY, title="One decoded copy per node, and streaming", command=" ".join(["python -m perf.data_sharing",
                                                                                      *sys.argv[1:]]),
        setup=(f"{data.name} training split ({len(data.train)} images) decoded at {image_size} px: {size(copy)}, one "
               "memory-mapped copy on the node. Memory: N spawned trial processes each read one epoch from it and "
               "hold it; PSS counts a shared page once across them. Throughput: one training epoch of a small CNN "
               f"(depth {CNN['depth']}, width {CNN['width']}, batch {CNN['batch_size']}) after an untimed one."),
        rows=rows,
        notes=[f"The machine was shared with other agents' work while this ran (load average {load_average()} at "
               "the end); the throughput figures carry that noise.",
               "The data's part is each trial's PSS after its epoch less before its pipeline, summed; before this "
               "change each trial cached its own decoded copy (ds.cache()), the 'each-trial cache' figure."],
        machine=machine(), date=now(),
    )


def write(section: Section, path: Path = BENCHMARK_RESULTS) -> None:
    """Replace this benchmark's section of ``path`` (between its markers), or append it."""
    text = path.read_text()
    block = render(section)
    pattern = re.compile(rf"<!-- perf:{KEY}:start -->.*?<!-- perf:{KEY}:end -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, and with ``--write`` record it."""
    parser = argparse.ArgumentParser(prog="python -m perf.data_sharing", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "tfds"))
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--trials", default="1,2,4")
    parser.add_argument("--write", type=Path, nargs="?", const=BENCHMARK_RESULTS)
    args = parser.parse_args(argv)
    section = measure(args.dataset, args.data_dir, args.image_size, [int(n) for n in args.trials.split(",")])
    print(render(section))
    if args.write:
        write(section, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
