"""Each family at its own resolution: the custom CNN at the images' size, a pretrained backbone at the budget's."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli, save_backbone_weights
from PIL import Image

pytestmark = pytest.mark.e2e


def test_the_custom_cnn_trains_at_32px_and_the_pretrained_backbone_at_the_budgets_96px(tmp_path):
    rng = np.random.default_rng(0)
    for label, colour in (("ants", (200, 40, 40)), ("bees", (40, 40, 200))):
        (tmp_path / "insects" / label).mkdir(parents=True)
        for i in range(14):
            pixels = np.clip(np.array(colour) + rng.normal(0, 25, (32, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "insects" / label / f"{i}.png")
    weights = save_backbone_weights(tmp_path, "mobilenet_v2")
    result = run_cli("runners.search", "--dataset", str(tmp_path / "insects"), "--space", "two_families_space",
                     "--budget", "small", "--num-samples", "2", "--epochs", "1", "--repeats", "0",
                     "--max-concurrent", "1", "--scheduler", "fifo", "--weights", weights, "--name", "sizes",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "image size: custom_cnn at 32px (the images are 32px), the others at 96px" in result.stdout
    with sqlite3.connect(tmp_path / "results" / "leaderboard.db") as db:
        rows = pd.read_sql("select backbone, image_size, status from trials", db).set_index("backbone")
    assert rows.loc["custom_cnn", "image_size"] == 32 and rows.loc["mobilenet_v2", "image_size"] == 96
    assert set(rows.status) == {"completed"}
