"""Helpers shared by the tests: small image folders and zips, local backbone weights, running the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED_TFDS = REPO.parent / "shared" / "data" / "tfds"
TEST_SPACES = Path(__file__).resolve().parent / "integration"


def write_images(folder: Path, count: int, color: tuple[int, int, int], *, seed: int = 0, ext: str = ".png") -> None:
    """``count`` noisy images of a class colour: easy to learn, different from each other."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        pixels = np.clip(np.array(color) + rng.normal(0, 25, (24, 24, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"img{i:03d}{ext}")


COLORS = {"ants": (200, 40, 40), "bees": (40, 40, 200), "wasps": (40, 200, 40)}


def make_class_folders(root: Path, counts: dict[str, int], *, ext: str = ".png") -> Path:
    for index, (name, count) in enumerate(counts.items()):
        write_images(root / name, count, COLORS.get(name, (index * 60 % 255, 100, 150)), seed=index, ext=ext)
    return root


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, Path(folder.name) / path.relative_to(folder))
    return target


def write_zip(target: Path, members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip of ``members`` (name: content) named exactly as given, ``../`` and absolute names included."""
    with zipfile.ZipFile(target, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=compression)
    return target


def write_png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` pixels and holds none: Pillow refuses a size past its bomb limit."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def have_shared_cifar10() -> bool:
    return (SHARED_TFDS / "cifar10").is_dir()


def save_backbone_weights(tmp_path: Path, name: str = "mobilenet_v2") -> str:
    """Random (but not initial) weights of a backbone saved to a local file, as a stand-in for ImageNet's."""
    from benchmarks.models import get_model

    base = get_model(name).constructor()(include_top=False, weights=None, input_shape=(32, 32, 3))
    rng = np.random.default_rng(0)
    base.set_weights([(w * rng.uniform(0.9, 1.1, size=w.shape)).astype("float32") for w in base.get_weights()])
    path = tmp_path / f"{name}.weights.h5"
    base.save_weights(path)
    return str(path)


def run_cli(module: str, *args: str, cwd: Path, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m module args`` as a user would, from ``cwd`` (test-only spaces importable)."""
    path = os.pathsep.join(p for p in (str(TEST_SPACES), os.environ.get("PYTHONPATH", "")) if p)
    environment = {**os.environ, "PYTHONPATH": path, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=environment
    )


# --------------------------------------------------------------------------- Ray processes the tests start

def short_ray_tmpdir() -> Path:
    """A fresh, short RAY_TMPDIR: Ray's socket paths must stay under 107 characters, and the tests' Ray
    sessions (and ``ray_current_cluster``) stay out of the shared /tmp/ray that other Ray users see."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))


def kill_processes_mentioning(text: str) -> int:
    """SIGKILL this user's processes whose command line mentions ``text`` (a test's own RAY_TMPDIR); return how many."""
    import psutil

    killed = 0
    for process in psutil.process_iter(["pid", "cmdline", "username"]):
        try:
            if process.pid != os.getpid() and any(text in part for part in process.info["cmdline"] or []):
                process.kill()
                killed += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return killed


def start_cli(module: str, *args: str, cwd: Path, env: dict | None = None, log: Path) -> subprocess.Popen:
    """``python -m module args`` in the background, stdout and stderr into ``log``."""
    path = os.pathsep.join(p for p in (str(TEST_SPACES), os.environ.get("PYTHONPATH", "")) if p)
    environment = {**os.environ, "PYTHONPATH": path, **(env or {})}
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", module, *args], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                env=environment)


def wait_for(condition, driver: subprocess.Popen, *, timeout: float = 300, log: Path | None = None) -> None:
    """Poll ``condition()`` until it holds, failing should ``driver`` end first or ``timeout`` seconds pass; the
    failure quotes the end of ``log``."""
    deadline = time.monotonic() + timeout
    while not condition():
        ended, late = driver.poll() is not None, time.monotonic() >= deadline
        if ended or late:  # the log is read only to explain a failure
            tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
            assert not ended, f"the search ended before the interruption (exit {driver.returncode})\n{tail}"
            raise AssertionError(f"timed out waiting for the search to get there\n{tail}")
        time.sleep(0.25)


def interrupt_when(condition, driver: subprocess.Popen, *, sig: int = signal.SIGINT, settle: float = 0.0,
                   timeout: float = 300, wait: float = 120, log: Path | None = None) -> None:
    """Once ``condition()`` holds (:func:`wait_for`), wait ``settle`` seconds, send ``driver`` the signal ``sig``
    and wait up to ``wait`` seconds for it to end; a driver still running then, or after a failed wait, is killed."""
    try:
        wait_for(condition, driver, timeout=timeout, log=log)
        time.sleep(settle)
        driver.send_signal(sig)
        driver.wait(timeout=wait)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(timeout=30)


def trial_results(experiment: Path) -> dict[str, list[dict]]:
    """Every result line Ray logged so far, per trial id (read while a search runs)."""
    import json

    results: dict[str, list[dict]] = {}
    for path in experiment.glob("*/result.json"):
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:  # a line being written
                continue
            results.setdefault(row["trial_id"], []).append(row)
    return results


def saved_statuses(experiment: Path) -> dict[str, str]:
    """Each trial's status in the experiment state Ray saved last, what ``--resume`` restores (read while it runs)."""
    import json

    states = sorted(experiment.glob("experiment_state-*.json"))
    try:
        trials = json.loads(states[-1].read_text())["trial_data"] if states else []
    except (OSError, ValueError, KeyError):  # being written
        return {}
    return {state["trial_id"]: state["status"] for state in (json.loads(data) for data, _ in trials)}


def search_options(**overrides):
    """A small search's ``SearchOptions`` (digits, default space, smoke budget), with ``overrides``."""
    from runners.options import SearchOptions

    base = dict(dataset="digits", space="default", budget="smoke", num_samples=8, epochs=2, image_size=32,
                sampler="tpe", scheduler="asha", weights=None, seed=0, address=None, max_concurrent=None,
                cpus_per_trial=1.0, gpus_per_trial=0.0, results="results", db="sqlite://", name="x",
                data_dir=None, val_fraction=0.15, test_fraction=0.15)
    return SearchOptions(**{**base, **overrides})


def run_at_once(target, args: tuple, processes: int) -> None:
    """Start ``processes`` spawned processes of ``target(*args, barrier, failures)`` that wait at one barrier, so that
    they race; assert every one exited 0 and reported no failure on the queue."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier, failures = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=target, args=(*args, barrier, failures)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0] * processes
    assert failures.empty(), failures.get()
