"""Export a trained model for deployment, check each exported file against the Keras model, and measure its cost.

After the search (``runners.outcome``), the best model of the run, and each family's finalist, is exported next
to ``model.keras`` in ``results/models/<run>/``:

- ``savedmodel``: a TensorFlow SavedModel (``model.export``), whose ``serve`` function takes raw pixels;
- ``tflite``: TensorFlow Lite in float32, float16 and dynamic-range int8 (``TFLiteConverter.from_saved_model``),
  run with the LiteRT interpreter (``ai_edge_litert``);
- ``onnx``: ONNX by ``tf2onnx``, run with ``onnxruntime``.

Every exported file is evaluated on the test split through the same pipeline (``make_dataset(training=False)``)
and the same metrics (``classification_metrics``) as the Keras model; the accuracy difference is stored, and the
float32 formats (SavedModel, float32 TFLite, ONNX) must stay within :data:`PARITY_PP` percentage points. float16
and int8 show their measured change. Each file's size and single-image CPU latency (median and 90th percentile
after a warm-up, with one thread and with all threads) are measured; latency is shown, never judged.

An export that fails (a converter or runtime not installed, a conversion error) is a warning line naming the
format and the reason, never a failed run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


from benchmarks.deploy import (
    LATENCY_RUNS,
    ExportUnavailable,
    LATENCY_WARMUP,
    all_threads,
    evaluate_file,
    measure_flops,
    measure_latency,
    random_ops,
    training_only_layers,
    write_onnx,
    write_savedmodel,
    write_tflite,
)
from benchmarks.errors import UserError
from records.contract import CHECKPOINT_SCORE, MODE

__all__ = ["EXPORT_CHOICES", "FORMATS", "PARITY_PP", "ExportTarget", "default_export", "export_lines",
           "export_model", "export_run", "measure_flops", "parse_export", "training_only_layers"]

#: What ``--export`` accepts (comma-separated), and the files each choice writes.
EXPORT_CHOICES = ("savedmodel", "tflite", "onnx")
FORMATS = {
    "savedmodel": ("savedmodel",),
    "tflite": ("tflite_float32", "tflite_float16", "tflite_int8"),
    "onnx": ("onnx",),
}
#: Formats that compute in float32 like the Keras model: their test accuracy must match it within PARITY_PP.
PARITY_FORMATS = ("savedmodel", "tflite_float32", "onnx")
PARITY_PP = 0.1

_SUFFIX = {"savedmodel": "_savedmodel", "tflite_float32": "_float32.tflite", "tflite_float16": "_float16.tflite",
           "tflite_int8": "_int8.tflite", "onnx": ".onnx"}


# --------------------------------------------------------------------------- the --export flag

def default_export(budget: str) -> str:
    """No exports on the smoke budget (it is for trying things out); SavedModel and TFLite otherwise."""
    return "none" if budget == "smoke" else "savedmodel,tflite"


def parse_export(value: str | None, budget: str) -> str:
    """``--export`` checked and normalised: ``none``, or the chosen formats in a fixed order, comma-separated."""
    if value is None:
        return default_export(budget)
    words = [w.strip().lower() for w in value.split(",")]
    choices = "none, savedmodel, tflite, onnx or all (or a comma-separated list, e.g. savedmodel,tflite)"
    if not value.strip() or any(not w for w in words):
        raise UserError(f"--export {value!r} is empty or has an empty item; choose {choices}")
    unknown = [w for w in words if w not in (*EXPORT_CHOICES, "all", "none")]
    if unknown:
        raise UserError(f"--export {value!r}: unknown format {unknown[0]!r}; choose {choices}")
    if len(words) > 1 and ("none" in words or "all" in words):
        raise UserError(f"--export {value!r}: 'none' and 'all' stand alone; choose {choices}")
    if words == ["none"]:
        return "none"
    if words == ["all"]:
        return ",".join(EXPORT_CHOICES)
    return ",".join(c for c in EXPORT_CHOICES if c in words)


def formats_of(export: str) -> list[str]:
    """The files an ``--export`` value asks for, e.g. ``savedmodel,tflite`` -> savedmodel and three TFLite files."""
    if not export or export == "none":
        return []
    return [fmt for choice in export.split(",") for fmt in FORMATS[choice]]


# --------------------------------------------------------------------------- what is exported

@dataclasses.dataclass(frozen=True)
class ExportTarget:
    """One model to export: the run's best, or a family's finalist (its search trial's best checkpoint)."""

    trial_id: str
    role: str  # best | finalist
    model: Any  # a keras.Model
    keras_test: dict[str, Any]  # the Keras model's test metrics: the reference for parity
    stem: Path  # files are STEM + suffix: results/models/<run>/model, .../finalist-<trial>


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _reason(error: BaseException) -> str:
    text = (str(error).strip().splitlines() or [""])[0].strip()
    if isinstance(error, ExportUnavailable):
        return text
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__


def export_model(target: ExportTarget, formats: Iterable[str], data, image_size: int, *,
                 runs: int = LATENCY_RUNS, warmup: int = LATENCY_WARMUP,
                 say: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Export ``target`` in ``formats``, evaluate and time each file; return one entry per format.

    An entry whose export failed holds the reason in ``error``, after a warning line through ``say``.
    """
    formats = list(formats)
    if not formats:
        return []
    stem = target.stem
    stem.parent.mkdir(parents=True, exist_ok=True)
    keras_accuracy = float(target.keras_test["accuracy"])
    base = {"trial_id": target.trial_id, "role": target.role, "image_size": image_size,
            "params": int(target.model.count_params()), "flops": measure_flops(target.model, image_size),
            "keras_test_accuracy": keras_accuracy, "keras_test_f1_macro": target.keras_test.get("f1_macro")}
    layers = training_only_layers(target.model)
    if layers:
        say(f"warning: model of trial {target.trial_id} holds training-only layers, exported with them: "
            f"{', '.join(layers)}")
    entries: list[dict[str, Any]] = []
    saved_model = Path(f"{stem}{_SUFFIX['savedmodel']}")
    temporary = None
    try:
        saved_error = None
        if "savedmodel" not in formats:  # every converter starts from a SavedModel: a scratch one
            temporary = Path(tempfile.mkdtemp(prefix="export-"))
            saved_model = temporary / "savedmodel"
        try:
            write_savedmodel(target.model, saved_model)
            ops = random_ops(saved_model)
            if ops:
                say(f"warning: the SavedModel of trial {target.trial_id} holds random ops: {', '.join(ops)}")
        except Exception as error:  # noqa: BLE001
            saved_error = error
        for fmt in formats:
            entry = {**base, "format": fmt, "path": None, "bytes": None, "error": None}
            try:
                if saved_error is not None:
                    raise saved_error
                path = saved_model if fmt == "savedmodel" else Path(f"{stem}{_SUFFIX[fmt]}")
                if fmt.startswith("tflite"):
                    write_tflite(saved_model, path, fmt.split("_", 1)[1])
                elif fmt == "onnx":
                    write_onnx(saved_model, path, image_size)
                entry.update(path=str(path), bytes=_size(path))
                test = evaluate_file(fmt, path, data, image_size)
                diff = (test["accuracy"] - keras_accuracy) * 100.0
                entry.update(test_accuracy=test["accuracy"], test_f1_macro=test["f1_macro"], accuracy_diff_pp=diff,
                             parity_required=fmt in PARITY_FORMATS,
                             parity_ok=(abs(diff) <= PARITY_PP + 1e-9) if fmt in PARITY_FORMATS else None)
                if entry["parity_ok"] is False:
                    say(f"warning: export {fmt} of trial {target.trial_id} misses parity: test accuracy "
                        f"{test['accuracy']:.4f} vs {keras_accuracy:.4f} for the Keras model ({diff:+.2f} pp)")
                cores = all_threads()
                entry["threads_all"] = cores
                for label, threads in (("1t", 1), ("all", cores)):
                    p50, p90 = measure_latency(fmt, path, image_size, threads, runs, warmup)
                    entry[f"latency_p50_ms_{label}"], entry[f"latency_p90_ms_{label}"] = p50, p90
            except Exception as error:  # noqa: BLE001  (an export never fails the run)
                entry["error"] = _reason(error)
                say(f"warning: export {fmt} of trial {target.trial_id} failed: {entry['error']}")
            entries.append(entry)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    return entries


# --------------------------------------------------------------------------- a run: the best model and the finalists

def export_run(options, ok, best, best_model, best_test: dict[str, Any], data, store, run,
               finalists: dict[str, Any] | None, out_dir: Path) -> list[dict[str, Any]]:
    """Export the run's best model and each finalist's in the formats ``options.export`` names.

    A finalist is exported from its search trial's best checkpoint. One ``exports`` row is stored per file,
    and the entries are returned for ``summary.json``.
    """
    from runners.evaluate import evaluate_model, load_checkpoint_model

    formats = formats_of(getattr(options, "export", "none"))
    if not formats:
        return []
    best_id = best.metrics["trial_id"]
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"exporting the best model ({', '.join(formats)}) ...", flush=True)
    targets = [ExportTarget(best_id, "best", best_model, best_test, out_dir / "model")]
    by_id = {r.metrics["trial_id"]: r for r in ok}
    for finalist in (finalists or {}).get("finalists", []):
        trial_id = finalist.get("repeat_of")
        exported = any(t.trial_id == trial_id for t in targets)
        if not trial_id or trial_id == best_id or trial_id not in by_id or exported:
            continue
        try:
            model = load_checkpoint_model(by_id[trial_id].get_best_checkpoint(CHECKPOINT_SCORE, MODE))
            test = evaluate_model(model, data)  # at the model's own size: the custom CNN may train smaller
            stem = out_dir / f"finalist-{trial_id}"
            model.save(f"{stem}.keras")
            targets.append(ExportTarget(trial_id, "finalist", model, test, stem))
        except Exception as error:  # noqa: BLE001
            print(f"warning: export of finalist trial {trial_id} failed: {_reason(error)}", flush=True)
    entries = []
    for target in targets:
        if target.role == "finalist":
            print(f"exporting finalist trial {target.trial_id} ({finalist_label(finalists, target.trial_id)}) ...",
                  flush=True)
        # Each model at the size it trained at (benchmarks.resolution): its input layer says which.
        entries.extend(export_model(target, formats, data, int(target.model.input_shape[1]),
                                    say=lambda line: print(line, flush=True)))
    for entry in entries:
        store.record_export({**entry, "run_id": run.run_id, "run_name": run.run_name})
    return entries


def finalist_label(finalists: dict[str, Any] | None, trial_id: str) -> str:
    """The label of the finalist that repeats ``trial_id`` (``transfer learning (resnet50)``), else the trial id.

    ``finalists`` is the run's stored finalists JSON (``FamilyComparison.to_json``), or None.
    """
    for entry in (finalists or {}).get("finalists", []):
        if entry.get("repeat_of") == trial_id:
            return str(entry.get("label", trial_id))
    return trial_id


def add_to_summary(out_dir: Path, exports: list[dict[str, Any]]) -> None:
    """Add the ``exports`` list to the ``summary.json`` that ``save_best`` wrote."""
    path = out_dir / "summary.json"
    summary = json.loads(path.read_text())
    summary["exports"] = exports
    path.write_text(json.dumps(summary, indent=2, default=str))


# --------------------------------------------------------------------------- the closing summary

def _bytes(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _ms(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    return f"{value:.3g}"


def export_lines(exports: list[dict[str, Any]] | None) -> list[str]:
    """One line per exported file: format, size, latency, test accuracy, parity; a failed export says why."""
    lines = []
    for e in exports or []:
        who = "" if e.get("role") == "best" else f" (finalist {e['trial_id']})"
        if e.get("error"):
            lines.append(f"export {e['format']}{who}: failed: {e['error']}")
            continue
        flops = f", {e['flops'] / 1e6:.3g} MFLOPs/image" if e.get("flops") else ""
        latency = (f"latency p50/p90 {_ms(e.get('latency_p50_ms_1t'))}/{_ms(e.get('latency_p90_ms_1t'))} ms "
                   f"(1 thread), {_ms(e.get('latency_p50_ms_all'))}/{_ms(e.get('latency_p90_ms_all'))} ms "
                   f"({e.get('threads_all', '?')} threads)")
        diff = e.get("accuracy_diff_pp")
        if e.get("parity_ok") is None:
            parity = f"{diff:+.2f} pp vs Keras (measured)"
        else:
            parity = f"{diff:+.2f} pp vs Keras: parity {'ok' if e['parity_ok'] else 'FAILED'} (within {PARITY_PP} pp)"
        lines.append(f"export {e['format']}{who}: {_bytes(e.get('bytes'))}{flops}, {latency}, "
                     f"test accuracy {e['test_accuracy']:.4f}, macro F1 {e['test_f1_macro']:.4f}, {parity}")
    return lines
