"""After the trials: the best trial tested, reference recipes' figures, ``summary.json``, the closing summary.

The best trial is the most accurate one, or, in a two-objective search, the point of the Pareto front that
``--pick`` chooses (``runners.objectives``); the summary then lists the front and says why that point.

``runners.search`` runs the trials (and ``runners.finalists`` the repeats); this module turns their results
into what a person reads at the end and what the database keeps about the run.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from benchmarks.errors import UserError
from runners.finalists import summary_lines
from runners.objectives import choose_best, pareto_lines
from records.run import RunRecord
from records.contract import CHECKPOINT_SCORE, METRIC, MODE

__all__ = ["finish", "ok_results", "report_command"]


def ok_results(grid) -> list:
    """The trials of ``grid`` that ended with a score (completed, or stopped early by the scheduler)."""
    return [r for r in grid if _failure(r) is None and r.metrics and METRIC in r.metrics]


def finish(options, grid, data, store, run: RunRecord, finalists: dict[str, Any] | None) -> dict[str, Any]:
    """Test the best trial, write ``summary.json`` and the model, mark the run finished, print the summary."""
    from runners.evaluate import evaluate_model, load_checkpoint_model, save_best
    from records.environment import environment_of
    from records.store import now

    run_id = run.run_id
    results = list(grid)
    failed = [r for r in results if _failure(r) is not None]
    ok = ok_results(grid)
    if not ok:
        first = _failure(failed[0])[:300] if failed else "no trial reported a result"
        store.update_run(run_id, status="failed", finished_at=now(), trials_total=len(results), trials_failed=len(failed))
        raise UserError(f"all {len(results)} trials failed; first error: {first}")
    # Accuracy alone: the most accurate trial; two objectives: the --pick rule's point of the Pareto front.
    best, pareto = choose_best(ok, options.objective, options.pick)
    trial_id = best.metrics["trial_id"]
    print(f"best trial {trial_id}: {best.config} (val_accuracy {best.metrics[METRIC]:.4f})", flush=True)
    print("evaluating it on the test split ...", flush=True)
    model = load_checkpoint_model(best.get_best_checkpoint(CHECKPOINT_SCORE, MODE))
    test = evaluate_model(model, data)
    store.update_trial(run_id, trial_id, is_best=True, test_accuracy=test["accuracy"], test_f1_macro=test["f1_macro"])
    references = _test_references(ok, best, test, data, store, run, options) if run.is_reference else []
    stopped = sum(1 for r in ok if not r.metrics.get("final"))

    summary = {
        "run_id": run_id, "run_name": options.name, "dataset": data.name, "data": data.describe(),
        "space": run.space, "budget": options.budget, "command": options.command,
        "best_trial_id": trial_id, "best_config": best.config, "val_accuracy": best.metrics[METRIC],
        "trials_total": len(results), "trials_failed": len(failed), "trials_stopped": stopped,
        "trials_completed": len(ok) - stopped, "failures": _count_failures(failed),
        "image_size": int(model.input_shape[1]), "class_names": list(data.class_names), "test": test,
        "finalists": finalists, "environment": environment_of(store.run_row(run_id)),
    }
    if pareto is not None:
        summary["pareto"] = pareto
    if run.is_reference:
        summary.update(published=run.published, reference_trials=references)
    model_path = save_best(model, options.results / "models" / options.name, summary)
    summary["exports"] = _export(options, ok, best, model, test, data, store, run, finalists, model_path.parent)
    store.update_run(
        run_id, status="finished", finished_at=now(), trials_total=len(results), trials_failed=len(failed),
        best_trial_id=trial_id, test_metrics=test, model_path=str(model_path), finalists=finalists,
    )
    _print_summary(summary, model_path, options)
    return summary


def _export(options, ok, best, model, test, data, store, run, finalists, out_dir: Path) -> list[dict[str, Any]]:
    """Export the best model (and each finalist's) as ``--export`` says (runners.export); add them to summary.json.

    An export that fails is a warning, never a failed run.
    """
    from runners.export import add_to_summary, export_run

    try:
        exports = export_run(options, ok, best, model, test, data, store, run, finalists, out_dir)
    except Exception as error:  # noqa: BLE001  (export_run warns per format; this is the last resort)
        print(f"warning: export failed: {type(error).__name__}: {str(error)[:200]}", flush=True)
        exports = []
    if exports:
        add_to_summary(out_dir, exports)
    return exports


def _failure(result) -> str | None:
    """Why a trial failed: the error it reported itself, or the one Ray kept (its worker died for good)."""
    from records.contract import TRIAL_ERROR

    if result.metrics and result.metrics.get(TRIAL_ERROR):
        return result.metrics[TRIAL_ERROR]
    if result.error is not None:
        lines = str(result.error).strip().splitlines()
        return lines[-1][:200] if lines else type(result.error).__name__
    return None


def _count_failures(failed) -> list[str]:
    """One line per distinct reason, most frequent first: ``3 x NonFiniteLossError: ...``."""
    import collections

    counts = collections.Counter(_failure(r)[:200] for r in failed)
    return [f"{n} x {reason}" for reason, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _test_references(ok, best, best_test, data, store, run, options) -> list[dict[str, Any]]:
    """Test every trial of a reference recipe, each with its figures under the published keys.

    Its configurations are fixed: nothing was selected by validation, so every variant is tested.
    """
    from runners.evaluate import evaluate_model, load_checkpoint_model
    from search_spaces import reproduced_figures, train_accuracy_at_best

    others = [r for r in ok if r is not best]
    if others:
        print(f"evaluating the other {len(others)} recipe variant(s) on the test split ...", flush=True)
    references = []
    for result in [best, *others]:
        trial_id = result.metrics["trial_id"]
        if result is best:
            test = best_test
        else:
            test = evaluate_model(load_checkpoint_model(result.get_best_checkpoint(CHECKPOINT_SCORE, MODE)),
                                  data)
            store.update_trial(run.run_id, trial_id, test_accuracy=test["accuracy"], test_f1_macro=test["f1_macro"])
        history = result.metrics_dataframe.to_dict("records") if result.metrics_dataframe is not None else []
        figures = reproduced_figures(test, result.metrics[METRIC], train_accuracy_at_best(history))
        references.append({"trial_id": trial_id, "variant": result.config.get("variant"), "figures": figures})
    return references


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _published_lines(summary: dict[str, Any]) -> list[str]:
    """One line per reference trial: each published figure next to the reproduced one."""
    from search_spaces import PUBLISHED_METRICS

    published = summary.get("published") or {}
    numeric = {k: v for k, v in published.items() if k in PUBLISHED_METRICS and v is not None}
    lines = []
    for ref in summary.get("reference_trials", []):
        figures = ref["figures"]
        keys = list(numeric) or ["test_accuracy"]
        pairs = ", ".join(
            f"{_lower_first(PUBLISHED_METRICS[k])} {numeric[k]:.4f} vs {figures[k]:.4f}" if k in numeric
            else f"{_lower_first(PUBLISHED_METRICS[k])} (not published) vs {figures[k]:.4f}"
            for k in keys if figures.get(k) is not None
        )
        variant = f", {ref['variant']}" if ref.get("variant") else ""
        lines.append(f"published vs reproduced ({summary['space']} {ref['trial_id']}{variant}): {pairs}")
    if published.get("note"):
        lines.append(f"published note: {published['note']}")
    return lines


def _print_summary(summary: dict[str, Any], model_path: Path, options) -> None:
    from records.schedulers import get_scheduler
    from records.store import display_url
    from runners.export import export_lines

    test = summary["test"]
    lines = [
        "",
        f"== {summary['run_name']} ==",
        f"best configuration ({summary['best_trial_id']}): "
        + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(summary["best_config"].items())),
        f"validation accuracy {summary['val_accuracy']:.4f} (trained at {summary['image_size']}px)",
        f"test ({test['examples']} images): accuracy {test['accuracy']:.4f}, macro F1 {test['f1_macro']:.4f}, "
        f"macro precision {test['precision_macro']:.4f}, macro recall {test['recall_macro']:.4f}, weighted F1 {test['f1_weighted']:.4f}"
        + (f", top-5 accuracy {test['top5_accuracy']:.4f}" if "top5_accuracy" in test else ""),
        *_published_lines(summary),
        *pareto_lines(summary.get("pareto")),
        f"trials: {summary['trials_total']} ({summary['trials_completed']} completed, {summary['trials_stopped']} "
        f"{get_scheduler(options.scheduler).stopped}, {summary['trials_failed']} failed)"
        + ("".join(f"\n  failed: {f}" for f in summary["failures"])),
        *([] if summary.get("reference_trials") else summary_lines(summary.get("finalists"))),
        f"model: {model_path} (summary.json beside it)",
        *export_lines(summary.get("exports")),
        f"results: {display_url(options.db)} (run_name = '{summary['run_name']}')",
        f"report: {report_command(options)}",
    ]
    print("\n".join(lines), flush=True)


def report_command(options) -> str:
    """The command that builds the report of this run's results database."""
    from records.store import default_db_url, display_url

    words = ["python", "-m", "reports.build"]
    if options.db != default_db_url(options.results):
        words += ["--db", display_url(options.db)]
    elif options.results != Path("results").absolute():
        words += ["--results", str(options.results)]
    return shlex.join(words)
