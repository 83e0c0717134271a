"""``--plan`` through the real CLI: it prints the estimate (trials, memory per trial and per node, where the data
lives, trial-hours from a few timed batches) and exits 0 having trained nothing: no database, no trial state."""

from __future__ import annotations

import re

import pytest
from helpers import run_cli, short_ray_tmpdir

pytestmark = pytest.mark.e2e


def test_plan_prints_the_estimate_and_trains_nothing(tmp_path):
    result = run_cli("runners.search", "--space", "steady_space", "--budget", "smoke", "--num-samples", "2",
                     "--epochs", "1", "--repeats", "0", "--weights", "none", "--data-share", "0", "--plan", "--name", "planned",
                     cwd=tmp_path, env={"RAY_TMPDIR": str(short_ray_tmpdir())})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "plan: 2 trials x up to 1 epochs, up to " in out
    assert re.search(r"plan: memory per trial ~[\d.]+ (MiB|GiB) \(largest: custom_cnn at \d+px, batch 32\), per node", out)
    assert "data: streamed from the encoded images sent with the dataset to each trial" in out  # --data-share 0
    assert re.search(r"plan: timed 5 batches of each family's largest configuration: custom_cnn \d+ ms a batch of 32", out)
    assert re.search(r"plan: at most [\d.]+ trial-hours \(2 trials, .*\), about [\d.]+ (s|min|h) of wall time", out)
    assert not (tmp_path / "results").exists()  # no database, no study, no trial state: nothing trained
