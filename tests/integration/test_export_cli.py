"""The real CLI with --export all: every file next to model.keras, one summary line each, rows in the database and
an ``exports`` list in summary.json. Latency is shown, never asserted."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
from helpers import run_cli

pytestmark = pytest.mark.e2e
pytest.importorskip("ai_edge_litert")
pytest.importorskip("tf2onnx")
pytest.importorskip("onnxruntime")

FORMATS = ["savedmodel", "tflite_float32", "tflite_float16", "tflite_int8", "onnx"]


@pytest.fixture(scope="module")
def export_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("export")
    result = run_cli("runners.search", "--weights", "none", "--budget", "smoke", "--space", "custom_cnn",
                     "--num-samples", "2", "--epochs", "1", "--repeats", "0", "--image-size", "24",
                     "--export", "all", "--name", "export-e2e", cwd=workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir, result


def test_every_format_lands_next_to_the_model_with_one_summary_line(export_run):
    workdir, result = export_run
    folder = workdir / "results" / "models" / "export-e2e"
    assert (folder / "model.keras").is_file() and (folder / "model_savedmodel" / "saved_model.pb").is_file()
    for name in ("model_float32.tflite", "model_float16.tflite", "model_int8.tflite", "model.onnx"):
        assert (folder / name).is_file(), name
    lines = [line for line in result.stdout.splitlines() if line.startswith("export ")]
    assert [line.split(":")[0] for line in lines] == [f"export {fmt}" for fmt in FORMATS]
    for line in lines:
        assert "ms (1 thread)" in line and "test accuracy 0." in line and "pp vs Keras" in line
    assert "warning" not in result.stdout
    assert sum("parity ok" in line for line in lines) == 3 and sum("(measured)" in line for line in lines) == 2


def test_exports_are_rows_and_in_the_summary(export_run):
    workdir, _ = export_run
    summary = json.loads((workdir / "results" / "models" / "export-e2e" / "summary.json").read_text())
    with sqlite3.connect(workdir / "results" / "leaderboard.db") as db:
        rows = pd.read_sql("select * from exports order by id", db)
        best = pd.read_sql("select * from trials where is_best = 1", db).iloc[0]
    assert list(rows.format) == FORMATS and (rows.trial_id == best.trial_id).all()
    assert (rows.bytes > 0).all() and rows.error.isna().all() and (rows.flops > 0).all()
    assert (rows.latency_p50_ms_1t > 0).all() and (rows.latency_p90_ms_all > 0).all()
    assert (rows.keras_test_accuracy == best.test_accuracy).all()
    assert rows.parity_ok.isna().tolist() == [False, False, True, True, False] and (rows.parity_ok.dropna() == 1).all()
    assert [e["format"] for e in summary["exports"]] == FORMATS
    assert [e["test_accuracy"] for e in summary["exports"]] == pytest.approx(list(rows.test_accuracy))
