"""A tiny search logged to a real ``mlflow server`` on localhost, read back through ``MlflowClient``: the parent
run, a child run per trial and per repeat with every epoch's metrics, the finalists and verdict, the best model
in the registry and its files as artifacts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.e2e

NAME, MODEL = "digits-mlflow", "digits-best"
SEARCH = ["--weights", "none", "--budget", "smoke", "--space", "custom_cnn", "--num-samples", "2", "--epochs", "1",
          "--repeats", "2", "--image-size", "16", "--scheduler", "fifo", "--max-concurrent", "2", "--name", NAME]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(root / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{root}/mlflow.db", "--artifacts-destination", str(root / "artifacts")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        assert process.poll() is None, (root / "server.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "mlflow server did not answer /health within 120 s"
        time.sleep(0.5)
    yield url
    os.killpg(process.pid, signal.SIGTERM)  # the server and its uvicorn worker, which this fixture started
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


@pytest.fixture(scope="module")
def searched(server, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("search")
    result = run_cli("runners.search", *SEARCH, "--mlflow", server, "--register-model", MODEL, cwd=workdir,
                     env={"MLFLOW_TRACKING_URI": ""})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "warning: mlflow" not in result.stdout + result.stderr, result.stderr[-3000:]
    return workdir, mlflow.tracking.MlflowClient(tracking_uri=server), server


def _runs(client):
    experiment = client.get_experiment_by_name("transfer-search/digits")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parent = [r for r in runs if r.info.run_name == NAME]
    assert len(parent) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent[0].info.run_id]
    return parent[0], children


def test_one_parent_run_with_the_settings_the_best_figures_the_finalists_and_the_verdict(searched):
    workdir, client, _ = searched
    parent, _ = _runs(client)
    assert parent.info.status == "FINISHED"
    assert parent.data.params["dataset"] == "digits" and parent.data.params["num_samples"] == "2"
    metrics = parent.data.metrics
    assert 0 <= metrics["best_val_accuracy"] <= 1 and 0 <= metrics["test_accuracy"] <= 1
    finalist = {k: v for k, v in metrics.items() if k.startswith("finalist.") and k.endswith("test_accuracy.mean")}
    assert len(finalist) == 1 and 0 <= next(iter(finalist.values())) <= 1
    assert parent.data.tags["verdict"] and parent.data.tags["best_trial_id"]
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"summary.json", "environment.json", "exports"} <= artifacts
    exported = {a.path for a in client.list_artifacts(parent.info.run_id, "exports")}
    assert {"exports/model.keras", "exports/summary.json"} <= exported


def test_a_child_run_per_trial_and_per_repeat_with_every_epochs_metrics(searched):
    workdir, client, _ = searched
    _, children = _runs(client)
    roles = sorted(r.data.tags.get("role") for r in children)
    assert roles == ["repeat", "repeat", "search", "search"]
    for child in children:
        assert child.info.status == "FINISHED" and child.data.tags["status"] == "completed"
        assert child.data.params["backbone"] == "custom_cnn"
        history = client.get_metric_history(child.info.run_id, "val_accuracy")
        assert len(history) == 1 and 0 <= history[0].value <= 1  # one epoch, one report
    repeats = [r for r in children if r.data.tags["role"] == "repeat"]
    assert all("test_accuracy" in r.data.metrics for r in repeats)
    best = [r for r in children if r.data.tags.get("is_best") == "true"]
    assert len(best) == 1 and best[0].data.tags["role"] == "search"


def test_the_best_model_is_registered_and_takes_raw_pixels(searched):
    import keras

    workdir, client, server = searched
    parent, _ = _runs(client)
    versions = client.search_model_versions(f"name = '{MODEL}'")
    assert len(versions) == 1 and versions[0].run_id == parent.info.run_id
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(server)  # models:/ URIs resolve through the registry of the tracking server
    try:
        logged = mlflow.keras.load_model(f"models:/{MODEL}/{versions[0].version}")
    finally:
        mlflow.set_tracking_uri(previous)
    saved = keras.models.load_model(Path(workdir) / "results" / "models" / NAME / "model.keras")
    size = int(saved.input_shape[1])
    pixels = np.random.default_rng(0).uniform(0, 255, size=(3, size, size, 3)).astype("float32")
    np.testing.assert_allclose(logged.predict(pixels, verbose=0), saved.predict(pixels, verbose=0), rtol=1e-5)
