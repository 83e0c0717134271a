"""A two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``): the real CLI joins it with
--address and --storage-path, trials run on both nodes, and a search survives losing its second node.

Slow (a minute or two each on a 2-core machine): marked ``e2e`` and ``cluster``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time

import pandas as pd
import pytest
from helpers import kill_processes_mentioning, run_cli, short_ray_tmpdir, start_cli, trial_results

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
