"""Exports (runners.export): every format tested against the Keras model, the int8 accuracy measured, rows in the
database, a missing converter or runtime a warning, --export parsed into one-line errors. Latency is measured and
shown, never asserted."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks.deploy import random_ops, training_only_layers
from benchmarks.errors import UserError
from runners.export import (
    PARITY_PP,
    ExportTarget,
    export_lines,
    export_model,
    export_run,
    formats_of,
    parse_export,
)

pytest.importorskip("ai_edge_litert")
IMAGE = 24
ALL = formats_of(parse_export("all", "small"))


@pytest.fixture(scope="module")
def data():
    from benchmarks.datasets import load_dataset

    return load_dataset("digits", max_examples=(400, 100, 200))


def _train(data, seed: int = 0):
    import keras

    from benchmarks.models import build_model
    from benchmarks.pipeline import make_dataset

    keras.utils.set_random_seed(seed)
    model = build_model({"backbone": "custom_cnn", "depth": 2, "width": 8, "dropout": 0.1, "dense_units": 32},
                        num_classes=data.num_classes, image_size=IMAGE)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(make_dataset(data.train, image_size=IMAGE, batch_size=32, training=True), epochs=2, verbose=0)
    return model


@pytest.fixture(scope="module")
def trained(data):
    from runners.evaluate import evaluate_model

    model = _train(data)
    return model, evaluate_model(model, data, IMAGE)


@pytest.fixture(scope="module")
def exported(trained, data, tmp_path_factory):
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    model, test = trained
    lines: list[str] = []
    stem = tmp_path_factory.mktemp("export") / "model"
    entries = export_model(ExportTarget("t0", "best", model, test, stem), ALL, data, IMAGE, runs=3, warmup=1,
                           say=lines.append)
    return {e["format"]: e for e in entries}, lines, stem


def _tflite_accuracy(path, data) -> float:
    """The file's test accuracy, measured here with LiteRT one image at a time (not the code under test's loop)."""
    from ai_edge_litert.interpreter import Interpreter

    from benchmarks.pipeline import make_dataset

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    correct = total = 0
    for images, labels in make_dataset(data.test, image_size=IMAGE, batch_size=64, training=False):
        for image, label in zip(images.numpy(), labels.numpy()):
            interpreter.set_tensor(source["index"], image[None].astype(np.float32))
            interpreter.invoke()
            correct += int(interpreter.get_tensor(target["index"])[0].argmax() == label)
            total += 1
    return correct / total


def test_every_format_is_written_evaluated_and_timed(exported, trained):
    entries, lines, stem = exported
    assert list(entries) == ["savedmodel", "tflite_float32", "tflite_float16", "tflite_int8", "onnx"]
    assert not [line for line in lines if "failed" in line], lines
    for fmt, entry in entries.items():
        assert entry["error"] is None, (fmt, entry["error"])
        assert entry["bytes"] > 0 and entry["path"].startswith(str(stem))
        assert entry["params"] == trained[0].count_params() and entry["flops"] > 0
        for key in ("latency_p50_ms_1t", "latency_p90_ms_1t", "latency_p50_ms_all", "latency_p90_ms_all"):
            assert entry[key] > 0  # measured, never judged
        assert 0 <= entry["test_accuracy"] <= 1 and 0 <= entry["test_f1_macro"] <= 1
    # int8 weights are about a quarter of float32's, float16 about half.
    assert entries["tflite_int8"]["bytes"] < entries["tflite_float16"]["bytes"] < entries["tflite_float32"]["bytes"]


def test_float32_formats_match_the_keras_model_within_a_tenth_of_a_point(exported, trained):
    entries, _, _ = exported
    keras_accuracy = trained[1]["accuracy"]
    for fmt in ("savedmodel", "tflite_float32", "onnx"):
        entry = entries[fmt]
        assert entry["keras_test_accuracy"] == keras_accuracy
        assert entry["accuracy_diff_pp"] == pytest.approx((entry["test_accuracy"] - keras_accuracy) * 100)
        assert abs(entry["accuracy_diff_pp"]) <= PARITY_PP and entry["parity_ok"] is True
    for fmt in ("tflite_float16", "tflite_int8"):  # the change is measured, not judged
        assert entries[fmt]["parity_ok"] is None and entries[fmt]["accuracy_diff_pp"] is not None


def test_the_int8_accuracy_is_measured_on_the_file(exported, data):
    entries, _, _ = exported
    for fmt in ("tflite_int8", "tflite_float16"):
        assert entries[fmt]["test_accuracy"] == pytest.approx(_tflite_accuracy(entries[fmt]["path"], data), abs=1e-9)


def test_the_exported_graph_has_no_training_only_layers(exported, trained):
    import keras

    entries, _, _ = exported
    assert training_only_layers(trained[0]) == []
    assert random_ops(entries["savedmodel"]["path"]) == []
    # The check does find augmentation where a model holds it.
    inputs = keras.Input((IMAGE, IMAGE, 3))
    augmented = keras.Model(inputs, keras.layers.RandomFlip("horizontal", name="flip")(inputs))
    assert training_only_layers(augmented) == ["flip (RandomFlip)"]


def test_rows_land_in_the_exports_table_and_one_line_each_in_the_summary(exported, tmp_path):
    from records.store import ResultsStore

    entries, _, _ = exported
    store = ResultsStore(f"sqlite:///{tmp_path}/r.db")
    for entry in entries.values():
        store.record_export({**entry, "run_id": "r1", "run_name": "run"})
    store.record_export({**entries["onnx"], "run_id": "r1", "run_name": "run"})  # again: replaced, not added
    rows = store.exports(run_id="r1").set_index("format")
    assert sorted(rows.index) == sorted(entries)
    for fmt, entry in entries.items():
        row = rows.loc[fmt]
        assert row.bytes == entry["bytes"] and row.test_accuracy == entry["test_accuracy"]
        assert row.latency_p50_ms_1t == entry["latency_p50_ms_1t"] and row.flops == entry["flops"]
        assert row.accuracy_diff_pp == pytest.approx(entry["accuracy_diff_pp"])
    assert rows.loc["tflite_float32"].parity_ok == 1 and rows.loc["tflite_int8"].parity_ok is None
    lines = export_lines(list(entries.values()))
    assert len(lines) == 5 and lines[0].startswith("export savedmodel: ")
    assert "parity ok" in lines[1] and "(measured)" in lines[3] and "test accuracy 0." in lines[3]
    assert "ms (1 thread)" in lines[4] and "KB" in lines[4]


def test_a_missing_converter_or_runtime_is_a_warning_naming_the_format(trained, data, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # import tf2onnx raises ImportError
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    lines: list[str] = []
    model, test = trained
    entries = export_model(ExportTarget("t0", "best", model, test, tmp_path / "model"), ["tflite_int8", "onnx"],
                           data, IMAGE, runs=2, warmup=1, say=lines.append)
    assert [e["format"] for e in entries] == ["tflite_int8", "onnx"]
    assert "ai-edge-litert is not installed" in entries[0]["error"] and entries[0]["bytes"] > 0
    assert entries[1]["error"].startswith("tf2onnx is not installed")
    assert lines == [f"warning: export tflite_int8 of trial t0 failed: {entries[0]['error']}",
                     f"warning: export onnx of trial t0 failed: {entries[1]['error']}"]
    assert export_lines(entries)[1] == f"export onnx: failed: {entries[1]['error']}"


class _Result:
    """What export_run reads of a Ray Tune result: metrics, and the best checkpoint."""

    def __init__(self, trial_id, model, tmp_path):
        from ray.tune import Checkpoint

        from runners.trainable import CHECKPOINT_METRICS, CHECKPOINT_MODEL

        folder = tmp_path / f"ckpt-{trial_id}"
        folder.mkdir()
        model.save(folder / CHECKPOINT_MODEL)  # a trial's checkpoint: its model and the metrics of its epoch
        self.metrics = {"trial_id": trial_id}
        (folder / CHECKPOINT_METRICS).write_text(json.dumps(self.metrics))
        self._checkpoint = Checkpoint.from_directory(str(folder))

    def get_best_checkpoint(self, metric, mode):
        return self._checkpoint


def test_the_best_model_and_the_other_familys_finalist_are_exported(trained, data, tmp_path, capsys):
    from records.run import RunRecord
    from records.store import ResultsStore

    model, test = trained
    other = _train(data, seed=1)
    ok = [_Result("best1", model, tmp_path), _Result("other2", other, tmp_path)]
    store = ResultsStore(f"sqlite:///{tmp_path}/r.db")
    run = RunRecord(run_id="r2", run_name="run2", dataset="digits", space="s", budget="smoke", image_size=IMAGE,
                    weights="none", seed=0)
    finalists = {"finalists": [{"repeat_of": "best1", "label": "custom CNN"},
                               {"repeat_of": "other2", "label": "mobilenet_v2"}]}
    # The budget's size is 96 px while these custom CNNs trained at 24 px (their own size, benchmarks.resolution):
    # each model is exported, tested and timed at the size it trained at.
    options = SimpleNamespace(export="tflite", image_size=96)
    out = tmp_path / "models" / "run2"
    entries = export_run(options, ok, ok[0], model, test, data, store, run, finalists, out)
    assert [(e["trial_id"], e["role"]) for e in entries] == [("best1", "best")] * 3 + [("other2", "finalist")] * 3
    assert (out / "model_int8.tflite").is_file() and (out / "finalist-other2_int8.tflite").is_file()
    assert (out / "finalist-other2.keras").is_file()
    assert not (out / "model_savedmodel").exists()  # the converters' SavedModel was a scratch one
    assert all(e["error"] is None for e in entries) and {e["image_size"] for e in entries} == {IMAGE}
    assert "exporting finalist trial other2 (mobilenet_v2)" in capsys.readouterr().out
    rows = store.exports(run_id="r2")
    assert len(rows) == 6 and set(rows.role) == {"best", "finalist"}
    json.dumps(entries)  # summary.json takes them as they are


@pytest.mark.parametrize(("value", "budget", "expected"), [
    (None, "smoke", "none"), (None, "small", "savedmodel,tflite"), (None, "full", "savedmodel,tflite"),
    ("all", "smoke", "savedmodel,tflite,onnx"), ("NONE", "small", "none"), ("onnx, savedmodel", "smoke", "savedmodel,onnx"),
    ("tflite", "small", "tflite"),
])
def test_export_values(value, budget, expected):
    assert parse_export(value, budget) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("pdf", "--export 'pdf': unknown format 'pdf'; choose none, savedmodel, tflite, onnx or all"),
    ("tflite,", "--export 'tflite,' is empty or has an empty item"),
    ("", "--export '' is empty"),
    ("all,onnx", "--export 'all,onnx': 'none' and 'all' stand alone"),
])
def test_bad_export_values_are_one_line_errors(value, message, tmp_path, monkeypatch, capsys):
    from runners.search import main

    with pytest.raises(UserError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_export(value, "small")
    monkeypatch.chdir(tmp_path)
    assert main(["--budget", "smoke", "--weights", "none", "--space", "custom_cnn", "--export", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {message}")
    assert not list(tmp_path.rglob("*.db"))


def test_the_export_flag_reaches_the_options(tmp_path, monkeypatch):
    from runners.options import options_from_args
    from runners.search import build_parser

    monkeypatch.chdir(tmp_path)
    small = options_from_args(build_parser().parse_args(["--weights", "none", "--space", "custom_cnn"]))
    chosen = options_from_args(build_parser().parse_args(["--budget", "smoke", "--weights", "none", "--space",
                                                          "custom_cnn", "--export", "tflite,savedmodel"]))
    assert small.export == "savedmodel,tflite" and chosen.export == "savedmodel,tflite"
    assert formats_of(chosen.export) == ["savedmodel", "tflite_float32", "tflite_float16", "tflite_int8"]
