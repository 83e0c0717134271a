"""The launch recipes in launch/: the KubeRay manifest parses, the SLURM script is valid bash, and the search
command inside each passes the CLI's own parser and option checks (a renamed flag breaks this test)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from runners.flags import build_parser
from runners.options import options_from_args

LAUNCH = Path(__file__).resolve().parents[2] / "launch"
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
URLS = {"RESULTS_DB_URL": "postgresql+psycopg://searcher@dbhost/results",
        "OPTUNA_STORAGE_URL": "postgresql+psycopg://searcher@dbhost/optuna"}


def _expand(command: str, values: dict[str, str]) -> list[str]:
    """``command``'s words with its shell variables replaced by ``values`` (every variable must have one)."""
    unknown = set(VARIABLE.findall(command)) - set(values)
    assert not unknown, f"the command uses variables the recipe does not set: {unknown}"
    return shlex.split(VARIABLE.sub(lambda m: values[m.group(1)], command))


def _options(words: list[str]):
    """The checked options of ``python -m runners.search ...`` as the CLI would build them."""
    assert words[:3] == ["python", "-m", "runners.search"]
    return options_from_args(build_parser().parse_args(words[3:]))


@pytest.fixture(scope="module")
def manifest():
    return list(yaml.safe_load_all((LAUNCH / "kuberay.yaml").read_text()))


def test_the_kuberay_manifest_is_a_rayjob_with_a_head_gpu_workers_and_a_shared_volume(manifest):
    kinds = {doc["kind"]: doc for doc in manifest}
    assert set(kinds) == {"PersistentVolumeClaim", "RayJob"}
    assert kinds["PersistentVolumeClaim"]["apiVersion"] == "v1"
    assert "ReadWriteMany" in kinds["PersistentVolumeClaim"]["spec"]["accessModes"]
    job = kinds["RayJob"]
    assert job["apiVersion"] == "ray.io/v1"
    cluster = job["spec"]["rayClusterSpec"]
    head = cluster["headGroupSpec"]["template"]["spec"]
    workers = [group["template"]["spec"] for group in cluster["workerGroupSpecs"]]
    assert workers and all(w["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] for w in workers)
    claim = kinds["PersistentVolumeClaim"]["metadata"]["name"]
    for pod in [head, *workers]:
        assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim
        assert pod["containers"][0]["volumeMounts"][0]["mountPath"] == "/shared"
    # The driver runs on the head: the URLs it reads come from the Secret there.
    head_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in head["containers"][0]["env"]}
    assert set(URLS) <= set(head_env)


def test_the_kuberay_entrypoint_is_a_search_the_cli_accepts(manifest, tmp_path):
    entrypoint = next(doc for doc in manifest if doc["kind"] == "RayJob")["spec"]["entrypoint"]
    words = _expand(entrypoint, URLS)
    assert "/shared/ray" in words and "/shared/results" in words
    # /shared is the volume every pod mounts; here a temporary folder stands in for it.
    options = _options([w.replace("/shared/", f"{tmp_path}/") for w in words])
    assert options.address == "auto" and options.gpus_per_trial > 0
    assert options.db == URLS["RESULTS_DB_URL"] and options.optuna_storage == URLS["OPTUNA_STORAGE_URL"]
    assert options.storage_path == f"{tmp_path}/ray" and options.data_dir == f"{tmp_path}/tfds"


def test_the_slurm_script_is_valid_bash_and_starts_head_and_workers():
    script = LAUNCH / "slurm.sbatch"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert text.startswith("#!/bin/bash\n") and "#SBATCH --nodes=" in text
    assert re.search(r"srun .*-w \"\$head_node\" \\\n\s+ray start --head", text)
    assert re.search(r"for node in \"\$\{nodes\[@\]:1\}\"; do\n\s+srun .*-w \"\$node\" \\\n\s+ray start --address", text)


def test_the_slurm_search_command_is_one_the_cli_accepts(tmp_path):
    lines = (LAUNCH / "slurm.sbatch").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("python -m runners.search"))
    command = []
    for line in lines[start:]:
        command.append(line.rstrip("\\").strip())
        if not line.endswith("\\"):
            break
    words = _expand(" ".join(command), {**URLS, "SHARED": str(tmp_path), "head_ip": "10.0.0.1", "port": "6379",
                                        "SLURM_JOB_ID": "4242"})
    options = _options(words)
    assert options.address == "10.0.0.1:6379" and options.gpus_per_trial > 0 and options.name == "cifar10-full-4242"
    assert options.db == URLS["RESULTS_DB_URL"] and options.optuna_storage == URLS["OPTUNA_STORAGE_URL"]
    assert options.storage_path == f"{tmp_path}/ray" and options.results == tmp_path / "results"
