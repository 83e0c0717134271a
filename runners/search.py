"""Search hyperparameters on one dataset with Ray Tune and Optuna, then test the best trial.

    python -m runners.search [--dataset NAME|PATH] [--space NAME] [--budget smoke|small|full] ...
    python -m runners.search --resume NAME        # continue an interrupted search

Flow: dataset -> pre-flight checks -> Ray Tune (Optuna sampler, ASHA) -> one row per
trial in the results database -> best trial evaluated on the test split -> saved model.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import datetime as dt
import logging
import os
import re
import shlex
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

from benchmarks.errors import UserError
from runners.budgets import BUDGETS, Budget
from runners.gpu import PRECISIONS

log = logging.getLogger("runners.search")

SAMPLERS = ("tpe", "random", "cmaes", "gp")
SCHEDULERS = ("asha", "fifo")


class Interrupted(Exception):
    """The search stopped before every trial ended (Ctrl-C); ``--resume`` continues it."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (and exit 2), not usage plus error."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see --help)\n")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show a default only where there is one and the help does not already say it."""

    def _get_help_string(self, action):
        if action.default in (None, False) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    from benchmarks.datasets import DEFAULT_DATASET

    budgets = "; ".join(
        f"{b.name}: {b.num_samples} trials x {b.epochs} epochs at {b.image_size}px, {b.description}" for b in BUDGETS.values()
    )
    p = _OneLineParser(
        prog="python -m runners.search",
        description="Hyperparameter search over custom-CNN and transfer-learning image classifiers "
        "(Ray Tune + Optuna), then a held-out test of the best trial.",
        formatter_class=_Formatter,
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
    search.add_argument("--weights", default="imagenet",
                        help="backbone weights: imagenet, none, a weights file (one-backbone spaces) or a folder of <backbone>.weights.h5")
    search.add_argument("--seed", type=int, default=0, help="seed of data splits, sampler and training")

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
    out.add_argument("--name", help="run name (default: DATASET-SPACE-TIMESTAMP)")
    out.add_argument("--resume", nargs="?", const=True, metavar="NAME",
                     help="continue the interrupted run NAME (or --name) with its saved settings: finished trials are kept, "
                     "unfinished ones continue from their checkpoints, the sampler keeps what it learned")
    out.add_argument("--verbose", action="store_true", help="show the trials' own logs and Ray's")

    p.add_argument("--list-datasets", action="store_true", help="list the built-in dataset names and exit")
    p.add_argument("--list-spaces", action="store_true", help="list the search spaces and exit")
    return p


@dataclasses.dataclass(frozen=True)
class SearchOptions:
    dataset: str
    space: str
    budget: str
    num_samples: int
    epochs: int
    image_size: int
    sampler: str
    scheduler: str
    weights: str | None
    seed: int
    address: str | None
    max_concurrent: int | None
    cpus_per_trial: float
    gpus_per_trial: float
    results: Path
    db: str
    name: str
    data_dir: str | None
    val_fraction: float
    test_fraction: float
    storage_path: str = ""  # Ray's storage: the run's state is in STORAGE/NAME
    precision: str = "mixed"
    steps_per_execution: int = 1
    max_failures: int = 2
    verbose: bool = False
    command: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "results": str(self.results)}

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> SearchOptions:
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{**{k: v for k, v in saved.items() if k in known}, "results": Path(saved["results"])})


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(text.rstrip("/")).stem or text).strip("_") or "dataset"


def options_from_args(args: argparse.Namespace) -> SearchOptions:
    from runners.budgets import get_budget
    from runners.gpu import gpu_settings
    from runners.resume import normalize_storage_path
    from runners.store import default_db_url
    from search_spaces import get_space, resolve_space_name

    budget = get_budget(args.budget)
    space_name = resolve_space_name(args.space, args.dataset)
    space = get_space(space_name)
    for flag in ("num_samples", "epochs", "image_size", "max_concurrent"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UserError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
    if args.cpus_per_trial <= 0 or args.gpus_per_trial < 0:
        raise UserError("--cpus-per-trial must be above 0 and --gpus-per-trial at least 0")
    if args.steps_per_execution < 1:
        raise UserError(f"--steps-per-execution must be at least 1, got {args.steps_per_execution}")
    if args.max_failures < 0:
        raise UserError(f"--max-failures must be at least 0, got {args.max_failures}")
    gpu_settings(args.gpus_per_trial, args.precision)  # validates the combination
    weights = None if args.weights.lower() == "none" else args.weights
    if weights not in (None, "imagenet"):
        weights = os.path.abspath(os.path.expanduser(weights))
        pretrained = [b for b in space.backbones if b != "custom_cnn"]
        if os.path.isfile(weights) and len(pretrained) > 1:
            raise UserError(
                f"--weights {args.weights} is one file but space {space.name!r} picks {len(pretrained)} backbones; "
                "pass a folder of <backbone>.weights.h5 files or a space with one backbone"
            )
    results = Path(args.results).absolute()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = args.name or f"{_slug(args.dataset)}-{space.name}-{stamp}"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise UserError(f"--name {name!r} may only use letters, digits, '.', '_' and '-'")
    val_fraction, test_fraction = space.split or (0.15, 0.15)
    return SearchOptions(
        dataset=args.dataset,
        space=space_name,
        budget=budget.name,
        num_samples=args.num_samples or space.num_samples or budget.num_samples,
        epochs=args.epochs or recipe_setting(space.epochs, budget) or budget.epochs,
        image_size=args.image_size or recipe_setting(space.image_size, budget) or budget.image_size,
        sampler=args.sampler,
        # A fixed recipe runs to the end: early stopping by the scheduler would cut one variant short.
        scheduler="fifo" if space.is_reference else args.scheduler,
        weights=weights,
        seed=args.seed,
        address=args.address,
        max_concurrent=args.max_concurrent,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        results=results,
        db=args.db or default_db_url(results),
        name=name,
        data_dir=args.data_dir,
        val_fraction=args.val_fraction if args.val_fraction is not None else val_fraction,
        test_fraction=args.test_fraction if args.test_fraction is not None else test_fraction,
        storage_path=normalize_storage_path(args.storage_path or str(results / "ray")),
        precision=args.precision,
        steps_per_execution=args.steps_per_execution,
        max_failures=args.max_failures,
        verbose=args.verbose,
        command=shlex.join(["python", "-m", "runners.search", *sys.argv[1:]]),
    )


@dataclasses.dataclass(frozen=True)
class SavedRun:
    """What ``--resume`` reads back: the run's settings, its run_id and its concurrency."""

    options: SearchOptions
    run_id: str
    max_concurrent: int


def resume_from_args(args: argparse.Namespace) -> SavedRun:
    """The saved settings of the run ``--resume`` names; only --address and --verbose may change."""
    from runners.resume import normalize_storage_path, read_options
    from runners.store import default_db_url

    name = args.resume if isinstance(args.resume, str) else args.name
    if not name:
        raise UserError("--resume needs the run's name: --resume NAME")
    results = Path(args.results).absolute()
    storage = normalize_storage_path(args.storage_path or str(results / "ray"))
    saved = read_options(storage, name)
    if saved is None and not args.storage_path:
        # The run may have kept its state elsewhere (--storage-path): the database remembers where.
        remembered = _remembered_storage(args.db or default_db_url(results), name)
        saved = read_options(remembered, name) if remembered else None
    if saved is None:
        raise UserError(f"no run named {name!r} to resume in {storage}; pass the --storage-path (or --results) it ran with")
    options = SearchOptions.from_json(saved["options"])
    options = dataclasses.replace(
        options, address=args.address or options.address, verbose=args.verbose,
        command=shlex.join(["python", "-m", "runners.search", *sys.argv[1:]]),
    )
    return SavedRun(options, saved["run_id"], int(saved["max_concurrent"]))


def _remembered_storage(db: str, name: str) -> str | None:
    """The folder above the run's Ray state, as the ``runs`` table recorded it (None where unknown)."""
    from runners.store import ResultsStore

    if db.startswith("sqlite:///") and not os.path.exists(db[len("sqlite:///"):]):
        return None  # do not create a database just to look
    try:
        row = ResultsStore(db, create=False).run_row(run_name=name)
    except Exception:  # an unreadable or older database: fall back to the error that names the storage path
        return None
    path = (row or {}).get("storage_path")
    return path.rstrip("/").rsplit("/", 1)[0] if path else None


def recipe_setting(value: int | None, budget: Budget) -> int | None:
    """A reference recipe's own image size, epochs or patience: used on the full budget only, so that
    smoke and small runs stay bounded by their budget (see search_spaces/_reference.py)."""
    return value if budget.name == "full" else None


def make_sampler(name: str, seed: int, num_samples: int):
    """An Optuna sampler; TPE with constant_liar so parallel trials do not all sample the same point."""
    import importlib.util

    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(
            seed=seed, constant_liar=True, multivariate=True, group=True,
            n_startup_trials=max(2, min(10, num_samples // 3)),
        )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "cmaes":
        # CMA-ES samples numeric parameters; categorical ones fall back to random sampling.
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "gp":
        if importlib.util.find_spec("torch") is None:
            raise UserError("--sampler gp needs PyTorch: pip install torch (or use --sampler tpe)")
        return optuna.samplers.GPSampler(seed=seed)
    raise UserError(f"unknown sampler {name!r}; choose from {', '.join(SAMPLERS)}")


def make_scheduler(name: str, epochs: int, grace_period: int):
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    if name == "asha":
        return ASHAScheduler(time_attr="training_iteration", max_t=epochs,
                             grace_period=min(grace_period, epochs), reduction_factor=2)
    return FIFOScheduler()


def _start_ray(options: SearchOptions) -> None:
    import optuna
    import ray

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not options.verbose:
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the legacy reporter is silent at verbose=0
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"} if not options.verbose else {}
    try:
        ray.init(
            # "local": never join a cluster that another `ray start` on this machine announced in /tmp/ray.
            address=options.address or "local",
            include_dashboard=False,
            log_to_driver=options.verbose,
            logging_level=logging.INFO if options.verbose else logging.ERROR,
            runtime_env={"env_vars": env} if env else None,
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise UserError(f"cannot connect to Ray at {options.address!r} ({str(error).splitlines()[0][:160]}); "
                        "start it with `ray start --head` or drop --address") from None


def fit_concurrency(resources: dict[str, float], options: SearchOptions) -> int:
    """How many trials run at once: --max-concurrent, else as many as the cluster's CPUs and GPUs hold
    (fractional GPUs: 1 GPU at 0.25 per trial holds 4)."""
    if options.max_concurrent:
        return min(options.max_concurrent, options.num_samples)
    fit = int(resources.get("CPU", 1) // options.cpus_per_trial)
    if options.gpus_per_trial:
        # A small tolerance: 1 / 0.1 is 9.999... in floating point.
        fit = min(fit, int(resources.get("GPU", 0) / options.gpus_per_trial + 1e-9))
        if fit < 1:
            raise UserError(f"--gpus-per-trial {options.gpus_per_trial} but the Ray cluster has "
                            f"{resources.get('GPU', 0):g} GPUs; lower it or use --gpus-per-trial 0")
    return max(1, min(fit, options.num_samples))


def run_search(options: SearchOptions, resume: SavedRun | None = None, callbacks: list | None = None) -> dict[str, Any]:
    """Run the whole search (or continue ``resume``) and return the summary that is also written as ``summary.json``.

    ``callbacks`` are extra Ray Tune callbacks (measurements, say) run next to the progress printer and recorder.
    """
    from benchmarks.datasets import load_dataset
    from benchmarks.models import check_weights
    from benchmarks.training import TrainSettings
    from runners.budgets import get_budget
    from runners.resume import experiment_exists, experiment_path, write_options
    from runners.store import ResultsStore, now
    from search_spaces import get_space

    budget = get_budget(options.budget)
    space = get_space(options.space)
    store = ResultsStore(options.db)
    path = experiment_path(options.storage_path, options.name)
    if resume is None:
        sampler = make_sampler(options.sampler, options.seed, options.num_samples)
        if experiment_exists(options.storage_path, options.name):
            raise UserError(f"a run named {options.name!r} already exists in {options.storage_path}; choose another "
                            f"--name, or continue it with --resume {options.name}")
    else:
        sampler = None  # the restored searcher keeps its own, with everything it learned
        _check_resumable(store, resume, path)

    verb = "resuming" if resume else "search"
    print(f"{verb} {options.name}: dataset {options.dataset}, space {space.name}, budget {budget.name} "
          f"({options.num_samples} trials x {options.epochs} epochs at {options.image_size}px), "
          f"sampler {options.sampler}, scheduler {options.scheduler}", flush=True)
    data = load_dataset(
        options.dataset, data_dir=options.data_dir, validation_fraction=options.val_fraction,
        test_fraction=options.test_fraction, max_examples=budget.max_examples, seed=options.seed,
    )
    print(f"data: {data.describe()}", flush=True)
    check_weights(list(space.backbones), options.weights, options.image_size)

    _start_ray(options)
    import ray

    max_concurrent = resume.max_concurrent if resume else fit_concurrency(ray.cluster_resources(), options)
    gpu = ""
    if options.gpus_per_trial:
        gpu = f" + {options.gpus_per_trial:g} GPU ({'mixed precision, XLA' if options.precision == 'mixed' else 'float32'})"
    print(f"ray: up to {max_concurrent} trials at a time, {options.cpus_per_trial:g} CPU{gpu} each; state in {path}",
          flush=True)

    run_id = resume.run_id if resume else uuid.uuid4().hex[:12]
    run = dict(run_id=run_id, run_name=options.name, dataset=data.name, space=space.name, budget=budget.name,
               image_size=options.image_size, weights=options.weights or "none", is_reference=space.is_reference,
               published=space.published)
    if resume is None:
        store.start_run(
            run_id=run_id, run_name=options.name, dataset=data.name, dataset_summary=data.describe(),
            class_names=list(data.class_names), space=space.name, budget=budget.name, sampler=options.sampler,
            scheduler=options.scheduler, seed=options.seed, num_samples=options.num_samples,
            max_concurrent=max_concurrent, epochs=options.epochs, image_size=options.image_size,
            weights=options.weights or "none", command=options.command, published=space.published, storage_path=path,
        )
        write_options(options.storage_path, options.name,
                      {"options": options.to_json(), "run_id": run_id, "max_concurrent": max_concurrent})
    else:
        store.update_run(run_id, status="running", finished_at=None)
        _print_resume_state(store, options, run_id)
    settings = TrainSettings(epochs=options.epochs, image_size=options.image_size, weights=options.weights,
                             patience=recipe_setting(space.patience, budget) or budget.patience, seed=options.seed,
                             steps_per_execution=options.steps_per_execution)
    try:
        grid = _fit(options, space, sampler, budget, data, settings, store, run, max_concurrent,
                    restore=resume is not None, callbacks=callbacks)
        _check_complete(grid, options)
        if resume is not None:
            _forget_unknown_trials(grid, store, run_id)
        summary = _finish(options, grid, data, store, run)
    except (Interrupted, KeyboardInterrupt):
        store.update_run(run_id, status="interrupted", finished_at=now())
        raise
    except BaseException:
        store.update_run(run_id, status="failed", finished_at=now())
        raise
    return summary


def _check_resumable(store, resume: SavedRun, path: str) -> None:
    from ray import tune

    row = store.run_row(run_id=resume.run_id)
    if row is not None and row["status"] == "finished":
        raise UserError(f"run {resume.options.name!r} already finished; nothing to resume (its results are in the database)")
    if not tune.Tuner.can_restore(path):
        raise UserError(f"run {resume.options.name!r} stopped before Ray saved any state in {path}; "
                        "start it again without --resume (and another --name)")


def _print_resume_state(store, options: SearchOptions, run_id: str) -> None:
    from runners.resume import sampler_study

    recorded = len(store.trials(run_id=run_id))
    study = sampler_study(options.storage_path, options.name)
    learned = "" if study is None else (
        f"; the {options.sampler} sampler keeps {sum(t.state.is_finished() for t in study.trials)} finished trials")
    print(f"resume: {recorded} of {options.num_samples} trials already recorded{learned}", flush=True)


def _check_complete(grid, options: SearchOptions) -> None:
    """Ray Tune returns normally after a first Ctrl-C, with trials unfinished: that is an interruption."""
    ended = grid.num_terminated + grid.num_errors
    if len(grid) < options.num_samples or ended < len(grid):
        raise Interrupted(f"{ended} of {options.num_samples} trials ended")


def _forget_unknown_trials(grid, store, run_id: str) -> None:
    analysis = getattr(grid, "_experiment_analysis", None)
    if analysis is None:
        return
    gone = store.forget_trials(run_id, {trial.trial_id for trial in analysis.trials})
    if gone:
        print(f"dropped the rows of {len(gone)} trial(s) the interrupted driver started after its last saved state "
              f"({', '.join(gone)}): the resumed search sampled those slots again", flush=True)


def _fit(options, space, sampler, budget, data, settings, store, run, max_concurrent, restore: bool = False,
         callbacks: list | None = None):
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    from runners.callbacks import ProgressPrinter, TrialRecorder
    from runners.gpu import gpu_settings, trial_resources
    from runners.resume import experiment_path
    from runners.trainable import run_trial

    gpu = gpu_settings(options.gpus_per_trial, options.precision)
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, data=data, settings=settings, cpus=options.cpus_per_trial, gpu=gpu),
        trial_resources(options.cpus_per_trial, gpu),
    )
    if restore:
        # The searcher (with its Optuna study), scheduler, callbacks and trial states come from the saved state.
        return tune.Tuner.restore(experiment_path(options.storage_path, options.name), trainable=trainable,
                                  resume_unfinished=True, resume_errored=False).fit()
    suggest = functools.partial(space.suggest, pretrained=options.weights is not None)
    # The space's starting points (one plain recipe per backbone) run first; the sampler takes over from there.
    first = list(space.starting_points[: options.num_samples]) or None
    searcher = OptunaSearch(space=suggest, metric="val_accuracy", mode="max", sampler=sampler,
                            points_to_evaluate=first)
    # An explicit limit: without one OptunaSearch can end up running one trial at a time (ray#46965).
    searcher = ConcurrencyLimiter(searcher, max_concurrent=max_concurrent)
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            metric="val_accuracy",
            mode="max",
            search_alg=searcher,
            scheduler=make_scheduler(options.scheduler, options.epochs, budget.grace_period),
            num_samples=options.num_samples,
            max_concurrent_trials=max_concurrent,
            reuse_actors=False,  # TensorFlow frees GPU memory only when its process exits (ray#616)
        ),
        run_config=tune.RunConfig(
            name=options.name,
            storage_path=options.storage_path,
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=1, checkpoint_score_attribute="val_accuracy", checkpoint_score_order="max"
            ),
            # Retries a trial whose worker or node died, from its last checkpoint, on any node. Errors a
            # trial raises itself are final: it reports them instead of raising (runners/trainable.py).
            failure_config=tune.FailureConfig(max_failures=options.max_failures),
            callbacks=[ProgressPrinter(options.num_samples, options.epochs), TrialRecorder(store, run), *(callbacks or [])],
            verbose=0,
        ),
    )
    return tuner.fit()


def _finish(options: SearchOptions, grid, data, store, run: dict[str, Any]) -> dict[str, Any]:
    from runners.evaluate import evaluate_model, load_checkpoint_model, save_best
    from runners.store import now

    run_id = run["run_id"]
    results = list(grid)
    failed = [r for r in results if _failure(r) is not None]
    ok = [r for r in results if _failure(r) is None and r.metrics and "best_val_accuracy" in r.metrics]
    if not ok:
        first = _failure(failed[0])[:300] if failed else "no trial reported a result"
        store.update_run(run_id, status="failed", finished_at=now(), trials_total=len(results), trials_failed=len(failed))
        raise UserError(f"all {len(results)} trials failed; first error: {first}")
    best = max(ok, key=lambda r: r.metrics["best_val_accuracy"])
    trial_id = best.metrics["trial_id"]
    print(f"best trial {trial_id}: {best.config} (val_accuracy {best.metrics['best_val_accuracy']:.4f})", flush=True)
    print("evaluating it on the test split ...", flush=True)
    model = load_checkpoint_model(best.get_best_checkpoint("val_accuracy", "max"))
    test = evaluate_model(model, data, options.image_size)
    store.update_trial(run_id, trial_id, is_best=True, test_accuracy=test["accuracy"], test_f1_macro=test["f1_macro"])
    references = _test_references(ok, best, test, data, store, run, options) if run["is_reference"] else []

    summary = {
        "run_id": run_id, "run_name": options.name, "dataset": data.name, "data": data.describe(),
        "space": run["space"], "budget": options.budget, "command": options.command,
        "best_trial_id": trial_id, "best_config": best.config, "val_accuracy": best.metrics["best_val_accuracy"],
        "trials_total": len(results), "trials_failed": len(failed),
        "failures": _count_failures(failed),
        "image_size": options.image_size, "class_names": list(data.class_names), "test": test,
    }
    if run["is_reference"]:
        summary.update(published=run["published"], reference_trials=references)
    model_path = save_best(model, options.results / "models" / options.name, summary)
    store.update_run(
        run_id, status="finished", finished_at=now(), trials_total=len(results), trials_failed=len(failed),
        best_trial_id=trial_id, test_metrics=test, model_path=str(model_path),
    )
    _print_summary(summary, model_path, options)
    return summary


def _failure(result) -> str | None:
    """Why a trial failed: the error it reported itself, or the one Ray kept (its worker died for good)."""
    from runners.trainable import TRIAL_ERROR

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
    """Every trial of a reference recipe is tested (fixed configurations: nothing was selected by validation),
    and each gets its figures under the published keys."""
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
            test = evaluate_model(load_checkpoint_model(result.get_best_checkpoint("val_accuracy", "max")),
                                  data, options.image_size)
            store.update_trial(run["run_id"], trial_id, test_accuracy=test["accuracy"], test_f1_macro=test["f1_macro"])
        history = result.metrics_dataframe.to_dict("records") if result.metrics_dataframe is not None else []
        figures = reproduced_figures(test, result.metrics["best_val_accuracy"], train_accuracy_at_best(history))
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


def _print_summary(summary: dict[str, Any], model_path: Path, options: SearchOptions) -> None:
    test = summary["test"]
    lines = [
        "",
        f"== {summary['run_name']} ==",
        f"best configuration ({summary['best_trial_id']}): "
        + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(summary["best_config"].items())),
        f"validation accuracy {summary['val_accuracy']:.4f}",
        f"test ({test['examples']} images): accuracy {test['accuracy']:.4f}, macro F1 {test['f1_macro']:.4f}, "
        f"macro precision {test['precision_macro']:.4f}, macro recall {test['recall_macro']:.4f}, weighted F1 {test['f1_weighted']:.4f}"
        + (f", top-5 accuracy {test['top5_accuracy']:.4f}" if "top5_accuracy" in test else ""),
        *_published_lines(summary),
        f"trials: {summary['trials_total']} ({summary['trials_failed']} failed)"
        + ("".join(f"\n  failed: {f}" for f in summary["failures"])),
        f"model: {model_path} (summary.json beside it)",
        f"results: {options.db} (run_name = '{summary['run_name']}')",
    ]
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
    if not args.verbose:
        from runners._quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
        warnings.filterwarnings("ignore")
        logging.getLogger("absl").setLevel(logging.ERROR)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
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
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (Interrupted, KeyboardInterrupt):
        how = "" if options is None else f"; continue it with: {resume_command(options)}"
        print(f"error: interrupted{how}", file=sys.stderr)
        return 130
    return 0


def resume_command(options: SearchOptions) -> str:
    """The shortest command that continues this run."""
    words = ["python", "-m", "runners.search", "--resume", options.name]
    if options.storage_path != str(options.results / "ray"):
        words += ["--storage-path", options.storage_path]
    elif options.results != Path("results").absolute():
        words += ["--results", str(options.results)]
    if options.address:
        words += ["--address", options.address]
    return shlex.join(words)


if __name__ == "__main__":
    sys.exit(main())
