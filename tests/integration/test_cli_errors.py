"""Every bad input: one line on stderr, a non-zero exit, and the stored results untouched."""

from __future__ import annotations

import hashlib
import importlib.util
import re

import pytest
from helpers import make_class_folders, run_cli, write_images

from records.store import ResultsStore


@pytest.fixture
def workdir(tmp_path):
    """A working folder whose results/leaderboard.db already holds a run."""
    store = ResultsStore(f"sqlite:///{tmp_path}/results/leaderboard.db")
    store.start_run(run_id="earlier", run_name="earlier", dataset="digits")
    store.record_trial({"run_id": "earlier", "run_name": "earlier", "trial_id": "t1", "dataset": "digits", "status": "completed"})
    store.engine.dispose()
    return tmp_path


def digest(workdir) -> str:
    return hashlib.sha256((workdir / "results" / "leaderboard.db").read_bytes()).hexdigest()


def folder_with(tmp_path, kind: str) -> str:
    root = tmp_path / kind
    if kind == "single":
        make_class_folders(root, {"ants": 6})
    elif kind == "empty_class":
        make_class_folders(root, {"ants": 6, "bees": 6})
        (root / "wasps").mkdir()
    elif kind == "split_missing_class":
        make_class_folders(root / "train", {"ants": 6, "bees": 6})
        write_images(root / "val" / "ants", 3, (200, 40, 40))
    return str(root)


CASES = {
    "missing-path": (lambda t: ["--dataset", str(t / "nowhere" / "data.zip")], "does not exist"),
    "unknown-tfds": (lambda t: ["--dataset", "cifar11"], "unknown dataset 'cifar11'"),
    "single-class": (lambda t: ["--dataset", folder_with(t, "single")], "at least 2 classes"),
    "empty-class": (lambda t: ["--dataset", folder_with(t, "empty_class")], "wasps has no readable images"),
    "split-missing-class": (lambda t: ["--dataset", folder_with(t, "split_missing_class")], "validation split of 'split_missing_class' has no images"),
    "bad-budget": (lambda t: ["--budget", "huge"], "invalid choice: 'huge'"),
    "bad-space": (lambda t: ["--space", "nope"], "unknown search space 'nope'"),
    "no-recipe": (lambda t: ["--space", "reference"], "no reference recipe for dataset 'digits'"),
    "zero-samples": (lambda t: ["--num-samples", "0"], "--num-samples must be at least 1"),
    "missing-weights": (lambda t: ["--weights", str(t / "w.h5")], "is not 'imagenet', 'none'"),
    "bad-db": (lambda t: ["--weights", "none", "--db", "nosuchdb://x"], "cannot open results database"),
    "bad-name": (lambda t: ["--name", "no spaces please"], "may only use letters"),
    "offline-imagenet": (lambda t: ["--space", "transfer"], "imagenet weights for .*--weights none"),
    "bad-precision": (lambda t: ["--precision", "half"], "invalid choice: 'half'"),
    "unwritable-storage": (lambda t: ["--storage-path", file_in(t) + "/ray"], "--storage-path .* is not writable"),
    "bad-storage-uri": (lambda t: ["--storage-path", "nosuchscheme://bucket/ray"], "--storage-path nosuchscheme://"),
    "gpus-above-one-fractional": (lambda t: ["--gpus-per-trial", "1.5"], "whole number of GPUs"),
    "negative-max-failures": (lambda t: ["--max-failures", "-1"], "--max-failures must be at least 0"),
    "zero-steps-per-execution": (lambda t: ["--steps-per-execution", "0"], "--steps-per-execution must be at least 1"),
    "resume-unknown": (lambda t: ["--resume", "nope"], "no run named 'nope' to resume"),
    "more-cpus-than-the-cluster": (lambda t: ["--weights", "none", "--cpus-per-trial", "64"],
                                   "--cpus-per-trial 64 but the Ray cluster has [0-9]+ CPUs"),
}


def file_in(tmp_path) -> str:
    """A plain file, so that a folder below it cannot be created."""
    (tmp_path / "plain-file").write_text("not a folder")
    return str(tmp_path / "plain-file")


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_stores_nothing(case, workdir):
    args, message = CASES[case]
    before = digest(workdir)
    # No network for the ImageNet download, whatever the machine: an unreachable proxy and an empty Keras cache.
    env = {"KERAS_HOME": str(workdir / "keras")}
    if case == "offline-imagenet":
        env.update(HTTPS_PROXY="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9")
    result = run_cli("runners.search", "--budget", "smoke", *args(workdir), cwd=workdir, timeout=300, env=env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert digest(workdir) == before
    assert not (workdir / "results" / "ray").exists() or not any((workdir / "results" / "ray").iterdir())


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="PyTorch is installed, so gp works")
def test_gp_sampler_without_pytorch_says_how_to_fix(workdir):
    result = run_cli("runners.search", "--sampler", "gp", "--budget", "smoke", cwd=workdir)
    assert result.returncode == 2 and result.stderr.strip() == "error: --sampler gp needs PyTorch: pip install torch (or use --sampler tpe)"


def test_help_documents_every_flag(tmp_path):
    result = run_cli("runners.search", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for flag in ("--dataset", "--space", "--budget", "--num-samples", "--max-concurrent", "--cpus-per-trial",
                 "--gpus-per-trial", "--sampler", "--scheduler", "--weights", "--data-dir", "--results", "--db",
                 "--seed", "--name", "--address", "--storage-path", "--precision", "--steps-per-execution", "--max-failures", "--resume",
                 "--repeats", "--finalists"):
        assert flag in result.stdout
