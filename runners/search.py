"""Search hyperparameters on one dataset with Ray Tune and Optuna, then test the best trial.

    python -m runners.search [--dataset NAME|PATH] [--space NAME] [--budget smoke|small|full] ...
    python -m runners.search --resume NAME        # continue an interrupted search

Flow: dataset -> pre-flight checks -> Ray Tune (Optuna sampler, the --scheduler once per model family; FIFO with
two objectives) -> one row per trial in the results database -> each family's finalist trained again with new
seeds and tested (runners.finalists) -> best trial evaluated on the test split -> saved model and summary.
"""

from __future__ import annotations

import functools
import os
import sys
import time
import uuid
from typing import Any

from benchmarks.errors import UserError
from benchmarks.cli import quiet
from runners.consistency import (
    Interrupted,
    check_complete,
    check_recorded,
    forget_unknown_trials,
    mark_ended,
)
from runners.flags import build_parser
from runners.options import (
    SavedRun,
    SearchOptions,
    options_from_args,
    recipe_setting,
    resume_command,
    resume_from_args,
)

__all__ = ["build_parser", "main", "run_search"]


def run_search(
    options: SearchOptions, resume: SavedRun | None = None, callbacks: list | None = None, extension=None
) -> dict[str, Any]:
    """Run the whole search (or continue ``resume``) and return the summary that is also written as ``summary.json``.

    ``extension`` (``runners.extend.Extension``, with ``options`` the run's and ``num_samples`` the trials to add)
    adds trials to a finished run instead, then ends it again over all its trials.

    ``callbacks`` are extra Ray Tune callbacks (measurements, say) run next to the progress printer and recorder.
    """
    from benchmarks.datasets import load_dataset
    from benchmarks.models import check_weights
    from benchmarks.resolution import trial_image_size
    from benchmarks.training import TrainSettings
    from runners.budgets import get_budget
    from runners.finalists import repeat_finalists
    from runners.objectives import objective_line
    from runners.outcome import finish, ok_results
    from runners.resume import (
        check_resumable,
        claim_experiment,
        experiment_exists,
        experiment_path,
        print_resume_state,
        write_options,
    )
    from records.environment import collect_environment
    from runners.tracking import start_tracking
    from records.run import RunRecord
    from records.redact import display_url
    from records.store import ResultsStore
    from records.study import open_storage
    from runners.interrupts import arm_sigterm_fallback, sigterm_received
    from runners.tuning import fit_concurrency, make_sampler, make_trainable, start_ray
    from runners.warm_start import plan_warm_start
    from runners.budgets import searched_space
    from search_spaces import get_space

    budget = get_budget(options.budget)
    space = searched_space(options)
    path = experiment_path(options.storage_path, options.name)
    if extension is not None:
        sampler, store = extension.open(options)
    elif resume is None:
        sampler = make_sampler(options.sampler, options.seed, options.num_samples, options.objective)
        if experiment_exists(options.storage_path, options.name):
            raise _name_taken(options)
        store = None  # opened once the input is checked: a rejected command creates no database
    else:
        sampler = None  # the restored searcher keeps its own, with everything it learned
        store = ResultsStore(options.db)
        check_resumable(store, resume.options.name, resume.run_id, path)

    from records.schedulers import get_scheduler

    verb = "resuming" if resume else "extending" if extension else "search"
    repeats = f", then {options.repeats} repeats of each finalist" if options.repeats else ""
    print(f"{verb} {options.name}: dataset {options.dataset}, space {space.name}, budget {budget.name} "
          f"({_plural(options.num_samples, 'trial')} x {_plural(options.epochs, 'epoch')} at {options.image_size}px"
          f"{repeats}), sampler {options.sampler}", flush=True)
    print(f"scheduler: {get_scheduler(options.scheduler).describe(budget.grace_period)}", flush=True)
    left_out = [b for b in get_space(options.space).backbones if b not in space.backbones]
    if left_out:
        print(f"budget {budget.name}: {', '.join(left_out)} left out (from scratch, over "
              f"{budget.max_scratch_params:g} M parameters to train whole); --budget small searches every model",
              flush=True)
    line = objective_line(options.objective, options.sampler, options.scheduler_asked)
    if line:
        print(line, flush=True)
    data = load_dataset(
        options.dataset, data_dir=options.data_dir, validation_fraction=options.val_fraction,
        test_fraction=options.test_fraction, max_examples=budget.max_examples, seed=options.seed,
    )
    print(f"data: {data.describe()}", flush=True)
    sides = {b: trial_image_size({"backbone": b}, budget_size=options.image_size, native=data.native_size)
             for b in space.backbones}
    own = [b for b, side in sides.items() if side != options.image_size]
    if options.native_resolution and own:
        print(f"image size: {', '.join(own)} at {sides[own[0]]}px (the images are {data.native_size}px), "
              f"the others at {options.image_size}px; --image-size sets one size for all", flush=True)
    check_weights(list(space.backbones), options.weights, options.image_size)
    warm = plan_warm_start(options, space, data) if options.warm_start and resume is None else None
    start_ray(options, local_if_gone=resume is not None and not resume.address_given)
    import ray

    from runners.plan import card_memory, memory_lines, node_memories, place_data, time_lines
    from runners.tuning import largest_trial

    data, placement = place_data(options, data)  # one decoded copy per node, or streamed (benchmarks.placement)
    nodes, largest = max(1, len(node_memories())), largest_trial(options, data)
    card = card_memory(options.gpus_per_trial) if options.gpus_per_trial else None
    max_concurrent = resume.max_concurrent if resume else fit_concurrency(
        ray.cluster_resources(), options, data, largest=largest, data_bytes=placement.bytes_per_node, nodes=nodes,
        card_bytes=card)
    for line in memory_lines(options, placement, largest, max_concurrent, nodes, card):
        print(line, flush=True)
    if options.plan:  # the estimate, with a few timed batches, and nothing trained
        for line in time_lines(options, data, max_concurrent):
            print(line, flush=True)
        return {"plan": True}
    if store is None:  # last of the checks, so that a rejected command leaves no database behind
        store = ResultsStore(options.db)
        store.check_writable()
        open_storage(options.optuna_storage)  # the study's storage opens too, before any trial
    gpu = ""
    if options.gpus_per_trial:
        precision = "mixed precision, XLA" if options.precision == "mixed" else "float32"
        gpu = f" + {options.gpus_per_trial:g} GPU ({precision})"
    print(f"ray: up to {_plural(max_concurrent, 'trial')} at a time, {options.cpus_per_trial:g} CPU{gpu} each; "
          f"state in {path}", flush=True)
    if options.optuna_storage:
        print(f"optuna: study {options.name!r}; watch it live with: optuna-dashboard "
              f"{display_url(options.optuna_storage)}",
              flush=True)

    run = RunRecord(run_id=(resume or extension).run_id if resume or extension else uuid.uuid4().hex[:12],
                    run_name=options.name,
                    dataset=data.name, space=space.name, budget=budget.name, image_size=options.image_size,
                    weights=options.weights or "none", seed=options.seed, is_reference=space.is_reference,
                    published=space.published)
    if extension is not None:
        extension.begin(store, options)
    elif resume is None:
        if not claim_experiment(options.storage_path, options.name):  # atomic: a search started at once lost
            raise _name_taken(options)
        store.start_run(
            **run.run_fields(), dataset_summary=data.describe(), class_names=list(data.class_names),
            sampler=options.sampler, scheduler=options.scheduler, num_samples=options.num_samples,
            max_concurrent=max_concurrent, epochs=options.epochs, command=options.command, storage_path=path,
            optuna_storage=display_url(options.optuna_storage), objective=options.objective, pick=options.pick,
            environment=collect_environment(), **_test_identity(options, space, data, budget.name),
        )
        write_options(options.storage_path, options.name,
                      {"options": options.to_json(), "run_id": run.run_id, "max_concurrent": max_concurrent})
    else:
        store.update_run(run.run_id, status="running", finished_at=None)
        print_resume_state(store, options, run.run_id)
    arm_sigterm_fallback(functools.partial(_end_interrupted, store, run.run_id, options, extension))
    tracker = start_tracking(options, run)  # MLflow's parent run where --mlflow asks for one (runners.tracking)
    callbacks = [*(callbacks or []), *tracker.callbacks()]
    settings = TrainSettings(epochs=options.epochs, image_size=options.image_size, weights=options.weights,
                             patience=recipe_setting(space.patience, budget) or budget.patience, seed=options.seed,
                             steps_per_execution=options.steps_per_execution)
    try:
        trainable = make_trainable(options, data, settings)
        started = time.time()  # the progress lines' clock, from the search's first trial to the last repeat
        grid = _search(options, space, sampler, budget, trainable, store, run, max_concurrent, started,
                       restore=resume is not None, callbacks=callbacks, warm=warm, extension=extension)
        check_complete(grid, options.num_samples)
        check_recorded(grid, store, run.run_id, options)
        if resume is not None:
            forget_unknown_trials(grid, store, run.run_id, repeats=False)
        if extension is not None:  # the run ends over all its trials, its first experiment's and each extension's
            grid = extension.whole_run(grid, store, options)
        repeating = extension.repeats_options(options) if extension is not None else options
        finalists = repeat_finalists(repeating, ok_results(grid), trainable=trainable, store=store, run=run,
                                     max_concurrent=max_concurrent, data=data, restore=resume is not None,
                                     search_started=started, callbacks=callbacks) if options.repeats else None
        summary = finish(options, grid, data, store, run, finalists)
        tracker.finish(summary, store, data)
    except (Interrupted, KeyboardInterrupt):
        _ended(store, run.run_id, "interrupted", options, extension)
        tracker.end("KILLED")
        raise
    except BaseException as error:
        from runners.faults import ended_by_full_disk

        # Ray went down with the driver's process group, or a write found no space: an interruption, not a failure.
        if sigterm_received() or ended_by_full_disk(error, str(options.results)):
            _ended(store, run.run_id, "interrupted", options, extension)
            tracker.end("KILLED")
            raise KeyboardInterrupt from error
        _ended(store, run.run_id, "failed", options, extension)
        tracker.end("FAILED")
        raise
    return summary


def _test_identity(options: SearchOptions, space, data, budget: str) -> dict[str, Any]:
    """The run's columns that say what its test figures mean: the test split's fingerprint and labels, the protocol.

    ``benchmarks.protocol`` explains them; the report pools finalists of two runs only where both match.
    """
    from benchmarks.models import family
    from benchmarks.predictions import encode
    from benchmarks.protocol import test_protocol, test_set_fingerprint
    from benchmarks.resolution import trial_image_size

    native = data.native_size if options.native_resolution else None
    sizes = {family(b, bool(options.weights)): trial_image_size({"backbone": b}, budget_size=options.image_size,
                                                                    native=native)
             for b in space.backbones}
    protocol = test_protocol(budget=budget, epochs=options.epochs, image_sizes=sizes, weights=options.weights or "none",
                             train_examples=len(data.train), validation_examples=len(data.validation))
    return {"test_fingerprint": test_set_fingerprint(data.test), "test_labels": encode(data.test.labels),
            "protocol": protocol}


def _name_taken(options: SearchOptions) -> UserError:
    return UserError(f"a run named {options.name!r} already exists in {options.storage_path}; choose another "
                     f"--name, or continue it with --resume {options.name}")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _end_interrupted(store, run_id: str, options: SearchOptions, extension=None) -> None:
    """A SIGTERM'd search whose Ray went down with it: record it as interrupted, say how to resume, exit now."""
    _ended(store, run_id, "interrupted", options, extension)
    print(f"error: interrupted{'' if extension else f'; continue it with: {resume_command(options)}'}",
          file=sys.stderr, flush=True)
    os._exit(130)


def _ended(store, run_id: str, status: str, options: SearchOptions, extension=None) -> None:
    """Record how a search that stopped early ended; a stopped extension leaves its run as it was before."""
    if extension is not None:
        extension.stopped(store, options.name)
    else:
        mark_ended(store, run_id, status)


def _search(options, space, sampler, budget, trainable, store, run, max_concurrent, started: float,
            restore: bool = False, callbacks: list | None = None, warm=None, extension=None):
    """The search's Ray Tune experiment, started or (``restore``) continued from its saved state.

    ``warm`` (``runners.warm_start.WarmStart``): earlier runs' trials added to the new study before its first trial.
    ``extension`` (``runners.extend.Extension``): an experiment of more trials on a finished run's study.
    """
    from runners.callbacks import ProgressPrinter, TrialRecorder
    from runners.resume import experiment_path
    from runners.schedulers import make_scheduler
    from runners.tuning import restore_tuner, run_tuner, search_algorithm

    if restore:
        # The searcher (with its Optuna study), scheduler, callbacks and trial states come from the saved state.
        return restore_tuner(trainable, experiment_path(options.storage_path, options.name), callbacks=callbacks)
    if extension is not None:
        name, storage_path = extension.experiment, extension.folder(options)
        search_alg = extension.searcher(options, space, sampler, max_concurrent)
    else:
        name, storage_path = options.name, options.storage_path
        search_alg = search_algorithm(options, warm.space(space) if warm else space, sampler, max_concurrent,
                                      study_attrs={
            "run_id": run.run_id, "dataset": run.dataset, "space": run.space, "budget": run.budget,
            "weights": run.weights, "objective": options.objective, **(warm.study_attrs() if warm else {})})
        if warm is not None:  # after the study is made, before its first trial
            warm.add_to(options.optuna_storage, options.name)
    return run_tuner(
        trainable, options, name=name, storage_path=storage_path, search_alg=search_alg,
        scheduler=make_scheduler(options.scheduler, options.epochs, budget.grace_period,
                                 pretrained=options.weights is not None),
        num_samples=options.num_samples, max_concurrent=max_concurrent,
        callbacks=[ProgressPrinter(options.num_samples, options.epochs, started=started), TrialRecorder(store, run),
                   *(callbacks or [])],
    )


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m runners.search`` on ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    0 after a finished search or a ``--list-datasets``/``--list-spaces`` listing; 2 after a :class:`UserError`,
    printed as one ``error:`` line; 130 when interrupted (Ctrl-C or SIGTERM), with the command that resumes
    the run once it has a name.
    """
    from runners.interrupts import disarm_sigterm_fallback, stop_on_sigterm_like_ctrl_c

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
        if args.extend:
            from runners.extend import extension_from_args

            extended, extension = extension_from_args(args)
            run_search(extended, extension=extension)
        elif args.resume:
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
        from runners.faults import interrupted_line

        print(interrupted_line(None if options is None else resume_command(options)), file=sys.stderr)
        return 130
    finally:
        disarm_sigterm_fallback()
        _stop_ray()
    return 0


def _stop_ray() -> None:
    """Shut down the Ray this command started, if any: a rejected command called in-process leaves none behind."""
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            ray.shutdown()


if __name__ == "__main__":
    sys.exit(main())
