"""Search hyperparameters on one dataset with Ray Tune and Optuna, then test the best trial.

    python -m runners.search [--dataset NAME|PATH] [--space NAME] [--budget smoke|small|full] ...
    python -m runners.search --resume NAME        # continue an interrupted search

Flow: dataset -> pre-flight checks -> Ray Tune (Optuna sampler, ASHA; FIFO with two objectives) -> one row per
trial in the results database -> each family's finalist trained again with new seeds and tested
(runners.finalists) -> best trial evaluated on the test split -> saved model and summary.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import time
import uuid
from typing import Any

from benchmarks.errors import UserError
from runners.budgets import BUDGETS
from runners.cli import Formatter, OneLineParser, quiet
from runners.consistency import (
    Interrupted,
    check_complete,
    check_recorded,
    forget_unknown_trials,
    mark_ended,
)
from runners.finalists import FINALIST_MODES
from runners.gpu import PRECISIONS
from runners.objectives import PICK_RULES
from runners.options import (
    SavedRun,
    SearchOptions,
    options_from_args,
    recipe_setting,
    resume_command,
    resume_from_args,
)
from runners.tuning import SAMPLERS, SCHEDULERS

log = logging.getLogger("runners.search")


def build_parser() -> argparse.ArgumentParser:
    from benchmarks.datasets import DEFAULT_DATASET

    budgets = "; ".join(
        f"{b.name}: {b.num_samples} trials x {b.epochs} epochs at {b.image_size}px, {b.repeats} repeats of each finalist, "
        f"{b.description}" for b in BUDGETS.values()
    )
    p = OneLineParser(
        prog="python -m runners.search",
        description="Hyperparameter search over custom-CNN and transfer-learning image classifiers "
        "(Ray Tune + Optuna), then a held-out test of the best trial.",
        formatter_class=Formatter,
    )
    data = p.add_argument_group("data")
    data.add_argument("--dataset", default=DEFAULT_DATASET,
                      help="digits (embedded), hymenoptera, fruits360, a tensorflow-datasets name (cifar10, "
                      "oxford_flowers102, ...), or a folder/.zip of class subfolders (optionally in train/val/test folders)")
    data.add_argument("--data-dir", help="tensorflow-datasets data_dir (share one prepared copy across a cluster)")
    data.add_argument("--val-fraction", type=float,
                      help="validation share carved where a dataset has no validation split (default 0.15, or a reference recipe's)")
    data.add_argument("--test-fraction", type=float,
                      help="test share carved from class-per-folder datasets (default 0.15, or a reference recipe's)")

    search = p.add_argument_group("search")
    search.add_argument("--space", default="default",
                        help="search space module in search_spaces/ (see --list-spaces), or reference: the dataset's published recipe")
    search.add_argument("--budget", default="small", choices=list(BUDGETS), help=budgets)
    search.add_argument("--num-samples", type=int, help="number of trials (default: the budget's)")
    search.add_argument("--epochs", type=int, help="maximum epochs per trial (default: the budget's)")
    search.add_argument("--image-size", type=int, help="image side in pixels (default: the budget's)")
    search.add_argument("--sampler", default="tpe", choices=SAMPLERS,
                        help="Optuna sampler (tpe uses constant_liar for parallel trials; gp needs PyTorch)")
    search.add_argument("--scheduler", default="asha", choices=SCHEDULERS, help="ASHA early stopping, or run every trial to the end")
    search.add_argument("--objective", default="accuracy", metavar="accuracy[,COST]",
                        help="accuracy (the best epoch's validation accuracy), or a pair: accuracy,latency, accuracy,params "
                        "or accuracy,flops: a multi-objective search (multi-objective TPE, every trial to its end) "
                        "whose best model is picked from the Pareto front")
    search.add_argument("--pick", default="accuracy", choices=PICK_RULES,
                        help="two objectives: the best model is the most accurate on the Pareto front, or its knee "
                        "(the point farthest from the line joining the front's extremes, both normalised to [0, 1])")
    search.add_argument("--weights",
                        help="backbone weights: imagenet (default), none, a weights file (one-backbone spaces) or a folder "
                        "of <backbone>.weights.h5")
    search.add_argument("--seed", type=int, default=0, help="seed of data splits, sampler and training")
    search.add_argument("--repeats", type=int, metavar="N",
                        help="after the search, train each finalist N more times with new seeds and test every "
                        "repeat, for intervals and a verdict (default: the budget's; 0 turns it off)")
    search.add_argument("--finalists", default="per-family", choices=FINALIST_MODES,
                        help="what is repeated: the best configuration of each family (custom CNN, backbones), "
                        "or of each backbone")

    compute = p.add_argument_group("compute")
    compute.add_argument("--address", help="Ray cluster to join (auto, host:port, or ray://host:port); default starts a local Ray")
    compute.add_argument("--storage-path",
                         help="where trial checkpoints and Ray's experiment state live: a folder every node sees, or a URI "
                         "Ray Tune accepts (s3://..., gs://...) (default: RESULTS/ray)")
    compute.add_argument("--max-concurrent", type=int, help="trials at a time (default: as many as the CPUs/GPUs allow)")
    compute.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs reserved per trial")
    compute.add_argument("--gpus-per-trial", type=float, default=0.0,
                         help="GPUs per trial; a fraction shares a GPU (0.25: four trials per card, each growing its memory as needed)")
    compute.add_argument("--precision", default="mixed", choices=PRECISIONS,
                         help="GPU trials: mixed (mixed_float16 and XLA) or float32 (both off); CPU trials always use float32")
    compute.add_argument("--steps-per-execution", type=int, default=1, metavar="N",
                         help="training steps per compiled call (Keras steps_per_execution); more saves host round trips "
                         "on a GPU when steps are short (default: 1)")
    compute.add_argument("--max-failures", type=int, default=2,
                         help="retries of a trial whose worker or node died, each from its last checkpoint on any node")

    out = p.add_argument_group("results")
    out.add_argument("--results", default="results", help="folder for the database, Ray's trial state and saved models")
    out.add_argument("--db", help="SQLAlchemy URL of the results database (default: sqlite:///RESULTS/leaderboard.db)")
    out.add_argument("--optuna-storage", metavar="URL",
                     help="SQLAlchemy URL of the Optuna storage holding the run's study, for optuna-dashboard and "
                     "optuna.load_study (default: sqlite:///RESULTS/optuna.db; not the --db file)")
    out.add_argument("--name", help="run name (default: DATASET-SPACE-TIMESTAMP)")
    out.add_argument("--resume", nargs="?", const=True, metavar="NAME",
                     help="continue the interrupted run NAME (or --name) with its saved settings: finished trials are kept, "
                     "unfinished ones continue from their checkpoints, the sampler keeps what it learned")
    out.add_argument("--export", metavar="FORMATS",
                     help="export the best model (and each finalist's) next to model.keras, each file tested against "
                     "the Keras model and timed: none, savedmodel, tflite (float32, float16, int8), onnx or all, or a "
                     "comma-separated list (default: savedmodel,tflite; none on the smoke budget)")
    out.add_argument("--verbose", action="store_true", help="show the trials' own logs and Ray's")

    p.add_argument("--list-datasets", action="store_true", help="list the built-in dataset names and exit")
    p.add_argument("--list-spaces", action="store_true", help="list the search spaces and exit")
    return p


def run_search(options: SearchOptions, resume: SavedRun | None = None, callbacks: list | None = None) -> dict[str, Any]:
    """Run the whole search (or continue ``resume``) and return the summary that is also written as ``summary.json``.

    ``callbacks`` are extra Ray Tune callbacks (measurements, say) run next to the progress printer and recorder.
    """
    from benchmarks.datasets import load_dataset
    from benchmarks.models import check_weights
    from benchmarks.resolution import trial_image_size
    from benchmarks.training import TrainSettings
    from runners.budgets import get_budget
    from runners.objectives import objective_line
    from runners.outcome import finish
    from runners.resume import claim_experiment, experiment_exists, experiment_path, write_options
    from runners.run import RunRecord
    from runners.store import ResultsStore
    from runners.study import open_storage
    from runners.tuning import arm_sigterm_fallback, fit_concurrency, make_sampler, make_trainable, start_ray
    from search_spaces import get_space

    budget = get_budget(options.budget)
    space = get_space(options.space)
    path = experiment_path(options.storage_path, options.name)
    if resume is None:
        sampler = make_sampler(options.sampler, options.seed, options.num_samples, options.objective)
        if experiment_exists(options.storage_path, options.name):
            raise _name_taken(options)
        store = None  # opened once the input is checked: a rejected command creates no database
    else:
        sampler = None  # the restored searcher keeps its own, with everything it learned
        store = ResultsStore(options.db)
        _check_resumable(store, resume, path)

    verb = "resuming" if resume else "search"
    repeats = f", then {options.repeats} repeats of each finalist" if options.repeats else ""
    print(f"{verb} {options.name}: dataset {options.dataset}, space {space.name}, budget {budget.name} "
          f"({_plural(options.num_samples, 'trial')} x {_plural(options.epochs, 'epoch')} at {options.image_size}px"
          f"{repeats}), sampler {options.sampler}, scheduler {options.scheduler}", flush=True)
    if objective_line(options.objective, options.sampler, options.scheduler_asked):
        print(objective_line(options.objective, options.sampler, options.scheduler_asked), flush=True)
    data = load_dataset(
        options.dataset, data_dir=options.data_dir, validation_fraction=options.val_fraction,
        test_fraction=options.test_fraction, max_examples=budget.max_examples, seed=options.seed,
    )
    print(f"data: {data.describe()}", flush=True)
    native = trial_image_size({"backbone": "custom_cnn"}, budget_size=options.image_size, native=data.native_size)
    if options.native_resolution and native != options.image_size and "custom_cnn" in space.backbones:
        print(f"image size: the custom CNN trains at {native}px (the images are {data.native_size}px), "
              f"backbones at {options.image_size}px; --image-size sets one size for all", flush=True)
    check_weights(list(space.backbones), options.weights, options.image_size)
    if store is None:
        store = ResultsStore(options.db)
        store.check_writable()
        open_storage(options.optuna_storage)  # the study's storage opens too, before any trial

    start_ray(options, local_if_gone=resume is not None and not resume.address_given)
    import ray

    max_concurrent = resume.max_concurrent if resume else fit_concurrency(ray.cluster_resources(), options)
    gpu = ""
    if options.gpus_per_trial:
        gpu = f" + {options.gpus_per_trial:g} GPU ({'mixed precision, XLA' if options.precision == 'mixed' else 'float32'})"
    print(f"ray: up to {_plural(max_concurrent, 'trial')} at a time, {options.cpus_per_trial:g} CPU{gpu} each; "
          f"state in {path}", flush=True)
    if options.optuna_storage:
        print(f"optuna: study {options.name!r}; watch it live with: optuna-dashboard {options.optuna_storage}", flush=True)

    run = RunRecord(run_id=resume.run_id if resume else uuid.uuid4().hex[:12], run_name=options.name,
                    dataset=data.name, space=space.name, budget=budget.name, image_size=options.image_size,
                    weights=options.weights or "none", seed=options.seed, is_reference=space.is_reference,
                    published=space.published)
    if resume is None:
        if not claim_experiment(options.storage_path, options.name):  # atomic: a search started at once lost
            raise _name_taken(options)
        store.start_run(
            run_id=run.run_id, run_name=options.name, dataset=data.name, dataset_summary=data.describe(),
            class_names=list(data.class_names), space=space.name, budget=budget.name, sampler=options.sampler,
            scheduler=options.scheduler, seed=options.seed, num_samples=options.num_samples,
            max_concurrent=max_concurrent, epochs=options.epochs, image_size=options.image_size,
            weights=run.weights, command=options.command, published=space.published, storage_path=path,
            optuna_storage=options.optuna_storage, objective=options.objective, pick=options.pick,
        )
        write_options(options.storage_path, options.name,
                      {"options": options.to_json(), "run_id": run.run_id, "max_concurrent": max_concurrent})
    else:
        store.update_run(run.run_id, status="running", finished_at=None)
        _print_resume_state(store, options, run.run_id)
    arm_sigterm_fallback(functools.partial(_end_interrupted, store, run.run_id, options))
    settings = TrainSettings(epochs=options.epochs, image_size=options.image_size, weights=options.weights,
                             patience=recipe_setting(space.patience, budget) or budget.patience, seed=options.seed,
                             steps_per_execution=options.steps_per_execution)
    try:
        trainable = make_trainable(options, data, settings)
        started = time.time()  # the progress lines' clock, from the search's first trial to the last repeat
        grid = _search(options, space, sampler, budget, trainable, store, run, max_concurrent, started,
                       restore=resume is not None, callbacks=callbacks)
        check_complete(grid, options.num_samples)
        check_recorded(grid, store, run.run_id, options)
        if resume is not None:
            forget_unknown_trials(grid, store, run.run_id, repeats=False)
        finalists = _repeat_finalists(options, grid, trainable, store, run, max_concurrent, data,
                                      restore=resume is not None, started=started) if options.repeats else None
        summary = finish(options, grid, data, store, run, finalists)
    except (Interrupted, KeyboardInterrupt):
        mark_ended(store, run.run_id, "interrupted")
        raise
    except BaseException:
        mark_ended(store, run.run_id, "failed")
        raise
    return summary


def _name_taken(options: SearchOptions) -> UserError:
    return UserError(f"a run named {options.name!r} already exists in {options.storage_path}; choose another "
                     f"--name, or continue it with --resume {options.name}")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _check_resumable(store, resume: SavedRun, path: str) -> None:
    from ray import tune

    row = store.run_row(run_id=resume.run_id)
    if row is not None and row["status"] == "finished":
        raise UserError(f"run {resume.options.name!r} already finished; nothing to resume (its results are in the database)")
    if not tune.Tuner.can_restore(path):
        raise UserError(f"run {resume.options.name!r} stopped before Ray saved any state in {path}; "
                        "start it again without --resume (and another --name)")


def _end_interrupted(store, run_id: str, options: SearchOptions) -> None:
    """A SIGTERM'd search whose Ray went down with it: record it as interrupted, say how to resume, exit now."""
    mark_ended(store, run_id, "interrupted")
    print(f"error: interrupted; continue it with: {resume_command(options)}", file=sys.stderr, flush=True)
    os._exit(130)


def _print_resume_state(store, options: SearchOptions, run_id: str) -> None:
    from runners.study import load_run_study

    rows = store.trials(run_id=run_id)
    recorded = int((rows["role"].fillna("search") != "repeat").sum()) if len(rows) else 0
    study = load_run_study(options.optuna_storage, options.name) if options.optuna_storage else None
    learned = "" if study is None else (
        f"; the {options.sampler} sampler keeps {sum(t.state.is_finished() for t in study.trials)} finished trials")
    print(f"resume: {recorded} of {options.num_samples} trials already recorded{learned}", flush=True)


def _search(options, space, sampler, budget, trainable, store, run, max_concurrent, started: float,
            restore: bool = False, callbacks: list | None = None):
    """The search's Ray Tune experiment, started or (``restore``) continued from its saved state."""
    from runners.callbacks import ProgressPrinter, TrialRecorder
    from runners.resume import experiment_path
    from runners.tuning import make_scheduler, restore_tuner, run_tuner, search_algorithm

    if restore:
        # The searcher (with its Optuna study), scheduler, callbacks and trial states come from the saved state.
        return restore_tuner(trainable, experiment_path(options.storage_path, options.name))
    return run_tuner(
        trainable, options, name=options.name, storage_path=options.storage_path,
        search_alg=search_algorithm(options, space, sampler, max_concurrent, study_attrs={
            "run_id": run.run_id, "dataset": run.dataset, "space": run.space, "budget": run.budget,
            "weights": run.weights, "objective": options.objective}),
        scheduler=make_scheduler(options.scheduler, options.epochs, budget.grace_period),
        num_samples=options.num_samples, max_concurrent=max_concurrent,
        callbacks=[ProgressPrinter(options.num_samples, options.epochs, started=started), TrialRecorder(store, run),
                   *(callbacks or [])],
    )


def _repeat_finalists(options, grid, trainable, store, run, max_concurrent, data, restore: bool,
                      started: float) -> dict[str, Any] | None:
    """Pick each family's finalist from the search and run its repeats (see runners.finalists)."""
    from runners.finalists import Candidate, pick_finalists, run_repeats
    from runners.outcome import ok_results

    candidates = [Candidate(r.metrics["trial_id"], dict(r.config), float(r.metrics["best_val_accuracy"]))
                  for r in ok_results(grid)]
    finalists = pick_finalists(candidates, pretrained=run.pretrained, mode=options.finalists)
    if not finalists:
        return None
    def check(repeats_grid) -> None:
        check_complete(repeats_grid, len(finalists) * options.repeats)
        check_recorded(repeats_grid, store, run.run_id, options)
        if restore:
            forget_unknown_trials(repeats_grid, store, run.run_id, repeats=True)

    return run_repeats(options, finalists, trainable=trainable, store=store, run=run, max_concurrent=max_concurrent,
                       data=data, restore=restore, check_recorded=check, search_started=started)


def main(argv: list[str] | None = None) -> int:
    from runners.tuning import disarm_sigterm_fallback, stop_on_sigterm_like_ctrl_c

    args = build_parser().parse_args(argv)
    quiet(args.verbose)  # before the list commands too: they import Keras through the spaces
    if args.list_datasets:
        from benchmarks.datasets import list_datasets

        for name, what in list_datasets().items():
            print(f"{name:20s} {what}")
        print("...or any tensorflow-datasets image-classification name, or a folder/.zip of class subfolders")
        return 0
    if args.list_spaces:
        from search_spaces import get_space, list_spaces
        from search_spaces.reference import DESCRIPTION, REFERENCE

        width = max(len(name) for name in [*list_spaces(), REFERENCE])
        for name in list_spaces():
            print(f"{name:{width}s} {get_space(name).description}")
        print(f"{REFERENCE:{width}s} {DESCRIPTION}")
        return 0
    stop_on_sigterm_like_ctrl_c()
    options = None
    try:
        if args.resume:
            saved = resume_from_args(args)
            options = saved.options
            run_search(options, resume=saved)
        else:
            options = options_from_args(args)
            run_search(options)
    except UserError as error:
        disarm_sigterm_fallback()
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (Interrupted, KeyboardInterrupt):
        disarm_sigterm_fallback()  # stopped by itself: the fallback must not say it again
        how = "" if options is None else f"; continue it with: {resume_command(options)}"
        print(f"error: interrupted{how}", file=sys.stderr)
        return 130
    finally:
        disarm_sigterm_fallback()
    return 0


if __name__ == "__main__":
    sys.exit(main())
