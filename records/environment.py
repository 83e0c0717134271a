"""The machine and software a run ran on: what ``runs.environment`` and ``summary.json`` keep about it.

Collected once, in the driver, when a run starts: Python and the versions of the libraries that change a
result; the git commit and whether the tree was dirty (where run from a checkout); the OS, the CPU model and
cores, memory; each GPU's name, memory and driver (``nvidia-smi``), and CUDA and cuDNN as TensorFlow was built
with them. It stays cheap and never fails: TensorFlow is asked only when the process has already imported it
(importing it would start its GPU runtime), and a fact that cannot be found is ``None``.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "collect_environment", "environment_of", "machine_label", "versions_label"]

# The distributions whose versions a run records, by the name the environment shows them under.
PACKAGES = {
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "keras": ("keras",),
    "ray": ("ray",),
    "optuna": ("optuna",),
    "numpy": ("numpy",),
    "transfer-search": ("transfer-search",),
}

_TIMEOUT_S = 10  # a hung nvidia-smi or git must not hold up a search


def collect_environment(checkout: Path | None = None) -> dict[str, Any]:
    """The environment of this process: Python, package versions, git, OS, CPU, memory and GPUs as a dict.

    ``checkout`` is where to look for a git tree (default: this package's source folder); outside a checkout
    the ``git`` entry is ``None``.
    """
    cuda, cudnn = _tensorflow_build()
    return {
        "python": platform.python_version(),
        "packages": {name: _version(dists) for name, dists in PACKAGES.items()},
        "git": _git(checkout or Path(__file__).resolve().parent.parent),
        "os": platform.platform(),
        "hostname": platform.node() or None,
        "cpu": {"model": _cpu_model(), "cores": os.cpu_count()},
        "memory_bytes": _memory_bytes(),
        "gpus": _gpus(),
        "cuda": cuda,
        "cudnn": cudnn,
    }


def machine_label(environment: dict[str, Any] | None) -> str:
    """``Intel Xeon ..., 16 cores, 64 GiB; 2 x NVIDIA H100 80GB`` (or ``no GPU``); empty for no environment."""
    if not environment:
        return ""
    cpu = environment.get("cpu") or {}
    parts = [cpu.get("model") or "unknown CPU"]
    if cpu.get("cores"):
        parts[0] += f", {cpu['cores']} cores"
    if environment.get("memory_bytes"):
        parts[0] += f", {environment['memory_bytes'] / 2**30:.0f} GiB"
    gpus = [g.get("name") or "GPU" for g in environment.get("gpus") or []]
    if not gpus:
        parts.append("no GPU")
    else:
        names = sorted(set(gpus), key=gpus.index)
        parts.append(", ".join(f"{gpus.count(n)} x {n}" if gpus.count(n) > 1 else n for n in names))
    return "; ".join(parts)


def versions_label(environment: dict[str, Any] | None) -> str:
    """``Python 3.11.9, tensorflow 2.16.1, ..., CUDA 12.3, git 1a2b3c4d (dirty)``: what is known, in one line."""
    if not environment:
        return ""
    parts = [f"Python {environment['python']}"] if environment.get("python") else []
    parts += [f"{name} {v}" for name, v in (environment.get("packages") or {}).items() if v]
    parts += [f"{key.upper() if key == 'cuda' else 'cuDNN'} {environment[key]}"
              for key in ("cuda", "cudnn") if environment.get(key)]
    git = environment.get("git") or {}
    if git.get("commit"):
        parts.append(f"git {git['commit'][:8]}{' (dirty)' if git.get('dirty') else ''}")
    return ", ".join(parts)


def _version(dists: tuple[str, ...]) -> str | None:
    for name in dists:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _run(command: list[str], cwd: Path | None = None) -> str | None:
    """``command``'s standard output, or ``None`` when it is missing, fails or hangs."""
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT_S,
                              check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def _git(folder: Path) -> dict[str, Any] | None:
    """The commit checked out at ``folder`` and whether its tree has changes; ``None`` outside a checkout."""
    if not (folder / ".git").exists():  # an installed package: its folder is no checkout of this project
        return None
    commit = _run(["git", "rev-parse", "HEAD"], cwd=folder)
    if commit is None:
        return None
    status = _run(["git", "status", "--porcelain"], cwd=folder)
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or None


def _memory_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:  # noqa: BLE001  (no psutil, or a platform it cannot read: the fact is unknown)
        return None


def _gpus() -> list[dict[str, Any]]:
    """Each NVIDIA GPU's name, memory and driver, as ``nvidia-smi`` reports them; none without a driver."""
    out = _run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"])
    gpus = []
    for line in (out or "").splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 3:
            continue
        name, memory, driver = fields
        gpus.append({"name": name, "memory_mib": int(memory) if memory.isdigit() else None, "driver": driver or None})
    return gpus


def _tensorflow_build() -> tuple[str | None, str | None]:
    """CUDA and cuDNN as this process's TensorFlow was built with, if TensorFlow is already imported."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return None, None
    try:
        info = tf.sysconfig.get_build_info()
    except Exception:  # noqa: BLE001  (a TensorFlow build without the information)
        return None, None
    return info.get("cuda_version") or None, info.get("cudnn_version") or None


def environment_of(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The environment a ``runs`` row stored (JSON text, or already a dict); ``None`` where it has none."""
    import json

    value = (row or {}).get("environment")
    if value is None or isinstance(value, dict):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None
