"""A two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``): the real CLI joins it with
--address and --storage-path, trials run on both nodes, and a search survives losing its second node. And a head
started as a user starts one (``ray start --head``, token authentication on): --address joins it and says so,
and a run resumed once it is gone continues on a local Ray.

Slow (a minute or two each on a 2-core machine): marked ``e2e`` and ``cluster``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from helpers import interrupt_when, kill_processes_mentioning, run_cli, short_ray_tmpdir, start_cli, trial_results

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

STEADY = ["--weights", "none", "--budget", "smoke", "--space", "steady_space", "--scheduler", "fifo", "--repeats", "0",
          "--max-concurrent", "2"]


@pytest.fixture(scope="module")
def cluster():
    """A head node and a second node, one CPU each; everything Ray starts lives under a RAY_TMPDIR of its own."""
    from ray.cluster_utils import Cluster

    tmp = short_ray_tmpdir()
    previous = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = str(tmp)
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        try:
            if cluster is not None:
                cluster.shutdown()
        finally:
            kill_processes_mentioning(str(tmp))  # drivers or workers a failed test left behind
            if previous is None:
                os.environ.pop("RAY_TMPDIR", None)
            else:
                os.environ["RAY_TMPDIR"] = previous
            shutil.rmtree(tmp, ignore_errors=True)


def rows(db, run_name: str) -> pd.DataFrame:
    with sqlite3.connect(db) as conn:
        return pd.read_sql("select * from trials where run_name = ? order by id", conn, params=(run_name,))


def test_a_search_joins_the_cluster_and_places_trials_on_both_nodes(cluster, tmp_path):
    head = cluster.head_node.node_id
    (second,) = [node.node_id for node in cluster.worker_nodes]
    storage = tmp_path / "shared" / "ray"
    result = run_cli("runners.search", *STEADY, "--num-samples", "4", "--epochs", "2", "--image-size", "24",
                     "--address", cluster.address, "--storage-path", str(storage), "--name", "two-nodes",
                     cwd=tmp_path, timeout=420, env={"RAY_TMPDIR": os.environ["RAY_TMPDIR"]})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "up to 2 trials at a time" in result.stdout  # the cluster's two CPUs, not this driver's
    assert f"({cluster.address}): 2 nodes, 2 CPUs, 0 GPUs" in result.stdout  # it says which cluster it joined
    trials = rows(tmp_path / "results" / "leaderboard.db", "two-nodes")
    assert len(trials) == 4 and set(trials.status) == {"completed"}
    assert set(trials.node_id) == {head, second}, trials[["trial_id", "node_id"]]
    # Checkpoints and experiment state went to --storage-path; the run remembers where.
    assert (storage / "two-nodes" / "search_options.json").is_file()
    assert len(list((storage / "two-nodes").glob("run_trial_*/checkpoint_*"))) >= 4
    with sqlite3.connect(tmp_path / "results" / "leaderboard.db") as conn:
        assert conn.execute("select storage_path from runs").fetchone()[0] == str(storage / "two-nodes")


def test_losing_the_second_node_mid_search_still_completes_every_trial(cluster, tmp_path):
    if not cluster.worker_nodes:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
    (node,) = cluster.worker_nodes
    head, second = cluster.head_node.node_id, node.node_id
    storage = tmp_path / "ray"
    epochs = 4
    driver = start_cli("runners.search", *STEADY, "--num-samples", "3", "--epochs", str(epochs), "--image-size", "40",
                       "--address", cluster.address, "--storage-path", str(storage), "--name", "lose-a-node",
                       cwd=tmp_path, env={"RAY_TMPDIR": os.environ["RAY_TMPDIR"]}, log=tmp_path / "driver.log")
    try:
        # Wait until a trial on the second node has checkpointed its first epoch, then take the node away.
        victim, deadline = None, time.monotonic() + 300
        while victim is None and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.25)
            for trial_id, results in trial_results(storage / "lose-a-node").items():
                if results[-1]["node_id"] == second and results[-1]["epoch"] < epochs:
                    victim = trial_id
        assert victim is not None, (tmp_path / "driver.log").read_text()[-3000:]
        cluster.remove_node(node, allow_graceful=False)
        driver.wait(timeout=420)
    finally:
        if driver.poll() is None:
            driver.kill()
    log = (tmp_path / "driver.log").read_text()
    assert driver.returncode == 0, log[-4000:]
    assert f"trial {victim} lost its worker" in log

    trials = rows(tmp_path / "results" / "leaderboard.db", "lose-a-node").set_index("trial_id")
    assert len(trials) == 3 and set(trials.status) == {"completed"} and (trials.epochs == epochs).all()
    lost = trials.loc[victim]
    assert lost.worker_failures >= 1 and lost.node_id == head  # retried, and finished on the node that was left
    history = json.loads(lost.history)
    assert [h["epoch"] for h in history] == list(range(1, epochs + 1))
    assert {h["node_id"] for h in history} == {second, head}  # began on the lost node, went on from its checkpoint
    summary = json.loads((tmp_path / "results" / "models" / "lose-a-node" / "summary.json").read_text())
    assert summary["trials_total"] == 3 and summary["trials_failed"] == 0


def recorded(db, run_name: str) -> int:
    try:
        return len(rows(db, run_name)) if db.exists() else 0
    except Exception:  # the tables do not exist yet
        return 0


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.fixture
def ray_head(tmp_path):
    """``ray start --head`` with two CPUs and token authentication (the token in a file of the test's own, never
    ~/.ray), in a process group of its own that ``stop()`` kills: nothing else's Ray is touched."""
    tmp = short_ray_tmpdir()
    token = tmp_path / "auth_token"
    token.write_text(uuid.uuid4().hex)
    env = {**os.environ, "RAY_TMPDIR": str(tmp), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    port, client_port, agent_port = free_ports(3)
    ray = Path(sys.executable).parent / "ray"
    start = subprocess.Popen(
        [str(ray), "start", "--head", "--port", str(port), "--num-cpus", "2", "--num-gpus", "0",
         "--include-dashboard=false", "--ray-client-server-port", str(client_port),
         "--dashboard-agent-listen-port", str(agent_port), "--disable-usage-stats"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def stop() -> None:
        try:
            os.killpg(start.pid, signal.SIGKILL)  # the group `ray start` led: its GCS, raylet and workers
        except ProcessLookupError:
            pass

    try:
        output, _ = start.communicate(timeout=120)
        assert start.returncode == 0, output[-3000:]
        yield SimpleNamespace(address=f"127.0.0.1:{port}", port=port, env=env, stop=stop)
    finally:
        stop()
        kill_processes_mentioning(str(tmp))
        shutil.rmtree(tmp, ignore_errors=True)


def test_address_joins_a_ray_start_head_says_so_and_a_resume_without_it_goes_local(ray_head, tmp_path):
    env = {k: ray_head.env[k] for k in ("RAY_TMPDIR", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH")}
    # Without the token the head refuses the driver: one line that says how to fix it, after Ray's own retries.
    refused = run_cli("runners.search", *STEADY, "--address", ray_head.address, cwd=tmp_path, timeout=180,
                      env={**env, "RAY_AUTH_MODE": "disabled"})
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr[-3000:]
    assert refused.stderr.startswith(f"error: cannot connect to Ray at '{ray_head.address}' (")
    assert "run with RAY_AUTH_MODE=token" in refused.stderr

    name = "head-gone"
    driver = start_cli("runners.search", *STEADY, "--num-samples", "2", "--epochs", "2", "--max-concurrent", "1",
                       "--address", ray_head.address, "--name", name, cwd=tmp_path, env=env, log=tmp_path / "first.log")
    # Ctrl-C once the first trial is recorded.
    interrupt_when(lambda: recorded(tmp_path / "results" / "leaderboard.db", name), driver, log=tmp_path / "first.log")
    log = (tmp_path / "first.log").read_text()
    assert driver.returncode == 130, log[-3000:]
    port = ray_head.port
    assert re.search(rf"^ray: joined the cluster at \S+:{port} \(127\.0\.0\.1:{port}\): 1 node, 2 CPUs, 0 GPUs$", log,
                     re.MULTILINE), log[-3000:]

    ray_head.stop()  # the run's cluster is gone
    resumed = run_cli("runners.search", "--resume", name, cwd=tmp_path, timeout=600, env=env)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    gone = f"ray: the run's cluster {ray_head.address} does not answer; continuing on a local Ray"
    assert resumed.stdout.count(gone) == 1 and "joined the cluster" not in resumed.stdout, resumed.stdout[-3000:]
    trials = rows(tmp_path / "results" / "leaderboard.db", name)
    assert len(trials) == 2 and trials.trial_id.is_unique and set(trials.status) == {"completed"}
