"""The Ray Tune and Optuna machinery of a search: sampler, searcher, starting Ray, the ``Tuner``.

Everything here ranks trials by ``best_val_accuracy`` (:data:`METRIC`), the best epoch's validation accuracy:
the sampler, the scheduler, the database, the leaderboard and the choice of the best trial all read that
one number (the searcher that tells Optuna so is :class:`runners.searcher.RankedOptunaSearch`), unless
``--objective`` adds a cost: then the sampler searches both and the scheduler is FIFO (``runners.objectives``).
``runners.search`` decides what to run; this module knows how Ray Tune runs it. It imports Ray only when
called, so the command line's ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
from typing import TYPE_CHECKING, Any

from benchmarks.errors import UserError
from benchmarks.quiet import stderr_to_devnull
from records.contract import METRIC

if TYPE_CHECKING:
    from runners.options import SearchOptions

__all__ = ["SAMPLERS", "fit_concurrency", "fit_memory", "largest_trial", "make_sampler", "make_trainable",
           "restore_tuner", "run_tuner", "search_algorithm", "start_ray"]

#: The Optuna samplers ``--sampler`` offers (the schedulers are ``records.schedulers``').
SAMPLERS = ("tpe", "random", "cmaes", "gp")


def make_sampler(name: str, seed: int, num_samples: int, objective: str = "accuracy"):
    """An Optuna sampler; TPE with constant_liar so parallel trials do not all sample the same point.

    The same TPE searches two objectives (``--objective accuracy,COST``: multi-objective TPE, see
    ``runners.objectives`` for why not NSGA-II); a sampler that cannot is a one-line error.
    """
    import optuna

    from runners.objectives import check_sampler

    check_sampler(name, objective)

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


def start_ray(options: SearchOptions, local_if_gone: bool = False) -> None:
    """Start a local Ray, or join ``--address`` and say which cluster it joined; a one-line error where it cannot.

    ``local_if_gone``: a resumed run whose saved cluster no longer answers continues on a local Ray (and says so)
    instead of failing; the user did not ask for that cluster this time.
    """
    import optuna
    import ray

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not options.verbose:
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the legacy reporter is silent at verbose=0
    from runners.registrations import shipped_modules, worker_modules

    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"} if not options.verbose else {}
    # The user's modules of registrations travel with the job, so every node's trials can import them.
    shipped = shipped_modules(worker_modules(options.register, options.space))
    runtime_env = {**({"env_vars": env} if env else {}), **({"py_modules": shipped} if shipped else {})}
    settings = dict(include_dashboard=False, log_to_driver=options.verbose,
                    logging_level=logging.INFO if options.verbose else logging.ERROR,
                    runtime_env=runtime_env or None)
    # "local" (the default): never join a cluster that another `ray start` on this machine announced in /tmp/ray.
    address = options.address or "local"
    answers = _answers(address)  # ray.init retries an address where nothing listens for minutes: ask first
    try:
        if answers is False:
            raise ConnectionError(f"nothing answers at {address}")
        # Joining, Ray's C++ client writes each retry to the terminal (a refused token: 20 lines); not its errors.
        with contextlib.nullcontext() if options.verbose or address == "local" else stderr_to_devnull():
            ray.init(address=address, **settings)
    except (ConnectionError, RuntimeError, ValueError) as error:
        if not (local_if_gone and address != "local" and not answers):
            hint = "start it with `ray start --head` or drop --address"
            if answers and os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
                hint = ("it answers but refused this driver: if its `ray start` used token authentication (Ray's "
                        "default where ~/.ray/auth_token exists), run with RAY_AUTH_MODE=token, or drop --address")
            if address == "local":
                raise UserError(f"cannot start a local Ray ({str(error).splitlines()[0][:160]})") from None
            raise UserError(f"cannot connect to Ray at {options.address!r} ({str(error).splitlines()[0][:160]}); "
                            f"{hint}") from None
        print(f"ray: the run's cluster {address} does not answer; continuing on a local Ray", flush=True)
        address = "local"
        ray.init(address=address, **settings)
    from runners.interrupts import stop_on_sigterm_like_ctrl_c

    stop_on_sigterm_like_ctrl_c()  # after ray.init, which installs a SIGTERM handler of its own
    if address != "local":
        resources = ray.cluster_resources()
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        print(f"ray: joined the cluster at {ray.get_runtime_context().gcs_address} ({address}): {nodes} node"
              f"{'' if nodes == 1 else 's'}, {resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs",
              flush=True)


def _answers(address: str, timeout_s: float = 5.0) -> bool | None:
    """Whether something listens at a ``host:port`` (or ``ray://host:port``) address; None for ``auto``,
    ``local`` and the like, which are Ray's to resolve."""
    import socket

    host, colon, port = address.split("://", 1)[-1].rpartition(":")
    if not colon or not port.isdigit():
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            return True
    except OSError:
        return False


def fit_concurrency(resources: dict[str, float], options: SearchOptions, data=None, **memory) -> int:
    """How many trials run at once: --max-concurrent, else as many as the cluster's CPUs and GPUs hold
    (fractional GPUs: 1 GPU at 0.25 per trial holds 4); then no more than its memory holds (:func:`fit_memory`;
    ``data``, the loaded dataset, gives the classes and the custom CNN's own image size; ``memory``, the rest of
    :func:`fit_memory`'s keywords)."""
    cpus = resources.get("CPU", 0)
    if options.cpus_per_trial > cpus:
        # Ray would wait forever for a node that can hold one trial.
        raise UserError(f"--cpus-per-trial {options.cpus_per_trial:g} but the Ray cluster has {cpus:g} CPUs; "
                        f"lower it (at most {cpus:g}) or add nodes")
    if options.gpus_per_trial > resources.get("GPU", 0):
        raise UserError(f"--gpus-per-trial {options.gpus_per_trial:g} but the Ray cluster has "
                        f"{resources.get('GPU', 0):g} GPUs; lower it or use --gpus-per-trial 0")
    if options.max_concurrent:
        return fit_memory(resources, options, min(options.max_concurrent, options.num_samples), data, **memory)
    fit = int(cpus // options.cpus_per_trial)
    if options.gpus_per_trial:
        # A small tolerance: 1 / 0.1 is 9.999... in floating point.
        # At least 1: both counts were checked above to hold one trial.
        fit = min(fit, int(resources.get("GPU", 0) / options.gpus_per_trial + 1e-9))
    return fit_memory(resources, options, max(1, min(fit, options.num_samples)), data, **memory)


def fit_memory(resources: dict[str, float], options: SearchOptions, concurrency: int, data=None,
               largest: tuple[Any, str] | None = None, *, data_bytes: int = 0, nodes: int = 1,
               card_bytes: int | None = None) -> int:
    """``concurrency``, or fewer where Ray's memory holds fewer trials at a time (said in one line); a one-line
    error where it holds not even one, or where a GPU trial's share of a card cannot hold it.

    What a trial needs is an estimate (``benchmarks.memory``: its model's layer outputs x batch x 4 bytes x 1.5,
    its weights x 4 bytes x 4, its input batches and TensorFlow's own), made for the largest trial the space can
    sample (:func:`largest_trial`: each backbone at its largest batch size and image size), against Ray's
    ``memory`` resource, the cluster's total as for the CPUs, less ``data_bytes`` (the decoded data one node
    holds, ``benchmarks.placement``) on each of the ``nodes``. A GPU trial's tensors live on its card: the host
    counts its runtime and input only, and its card memory (``benchmarks.memory.gpu_bytes``) is checked against
    its share of ``card_bytes`` (a card's memory as ``nvidia-smi`` reports it; None: not checked). A share too
    small is an error that names the share that fits, not fewer trials at a time: Ray packs fractional GPU
    trials onto one card until its share is spent, so fewer at a time would still put them on one card.
    ``largest``: the estimate and what it is of, when already known.
    """
    from benchmarks.memory import gib, host_bytes

    memory = resources.get("memory", 0)
    on_gpu = bool(options.gpus_per_trial)
    if not memory and not (on_gpu and card_bytes):
        return concurrency
    largest = largest or largest_trial(options, data)
    if largest is None:
        return concurrency
    estimate, what = largest
    if on_gpu and card_bytes:
        _check_card(estimate, what, options, card_bytes)
    if not memory:
        return concurrency
    trial = host_bytes(estimate, on_gpu)
    free = memory - nodes * data_bytes
    data = f" once the decoded data's {gib(data_bytes)} on each node is counted" if data_bytes else ""
    if trial > free:
        raise UserError(f"one trial ({what}) needs an estimated {estimate.describe() if not on_gpu else gib(trial)} "
                        f"of memory, more than the {gib(max(free, 0))} the Ray cluster has{data}; lower --image-size "
                        f"(now {options.image_size}) or the space's batch sizes"
                        f"{', or stream the data (a lower --data-share)' if data_bytes else ''}, "
                        "or run on nodes with more memory")
    fits = int(free // trial)
    if fits < concurrency:
        print(f"ray: {gib(memory)} of memory holds {fits} trial{'' if fits == 1 else 's'} at a time{data}, not "
              f"{concurrency}: the largest ({what}) needs about {gib(trial)} (estimated)", flush=True)
        return fits
    return concurrency


def _check_card(estimate, what: str, options: SearchOptions, card_bytes: int) -> None:
    """A one-line error where a GPU trial's estimated card memory exceeds its share of a card (see :func:`fit_memory`)."""
    from benchmarks.memory import gib, gpu_bytes

    need = gpu_bytes(estimate)
    if need > card_bytes:
        raise UserError(f"one trial ({what}) needs an estimated {gib(need)} of GPU memory, more than a card's "
                        f"{gib(card_bytes)}; lower --image-size (now {options.image_size}) or the space's batch sizes")
    share = min(options.gpus_per_trial, 1.0)
    if need > share * card_bytes:
        per_card = int(card_bytes // need)
        raise UserError(f"one trial ({what}) needs an estimated {gib(need)} of GPU memory, more than its "
                        f"{share:g} of a {gib(card_bytes)} card; use --gpus-per-trial {1 / per_card:.3g} "
                        f"({per_card} trial{'' if per_card == 1 else 's'} a card)")


def largest_trial(options: SearchOptions, data=None) -> tuple[Any, str] | None:
    """The memory estimate (``benchmarks.memory``) of the space's largest trial and what it is of
    (``'resnet50 at 224px, batch 64'``); None where the space cannot be probed.

    Each backbone of the space is built once (no weights) at the largest of everything the space suggests for it
    (``benchmarks.memory.largest_configs``), at the image size it would train at (``benchmarks.resolution``).
    """
    from benchmarks.hyperparameters import value
    from benchmarks.memory import estimate_config, largest_configs
    from benchmarks.resolution import trial_image_size
    from runners.budgets import searched_space

    space = searched_space(options)
    native = data.native_size if data is not None and options.native_resolution else None
    largest = None
    for config in largest_configs(space, pretrained=options.weights is not None):
        size = trial_image_size(config, budget_size=options.image_size, native=native)
        batch = int(value(config, "batch_size"))
        try:
            estimate = estimate_config(config, num_classes=data.num_classes if data is not None else 10,
                                       image_size=size, batch_size=batch)
        except Exception:  # a model that cannot be built: its trial fails on its own, and says why
            continue
        if largest is None or estimate.total > largest[0].total:
            largest = (estimate, f"{config.get('backbone')} at {size}px, batch {batch}")
    return largest


def make_trainable(options: SearchOptions, data, settings):
    """``run_trial`` bound to the dataset and settings, with the resources each trial reserves (and, unless
    ``--image-size`` fixed one, the images' own size for the custom CNN)."""
    from ray import tune

    from runners.gpu import gpu_settings, trial_resources
    from runners.registrations import worker_modules
    from runners.trainable import run_trial

    gpu = gpu_settings(options.gpus_per_trial, options.precision)
    native = data.native_size if options.native_resolution else None
    from runners.objectives import cost_of

    cost = cost_of(options.objective)
    return tune.with_resources(
        tune.with_parameters(run_trial, data=data, settings=settings, cpus=options.cpus_per_trial, gpu=gpu,
                             native=native, cost=cost.name if cost else None,
                             modules=worker_modules(options.register, options.space)),
        trial_resources(options.cpus_per_trial, gpu),
    )


def run_tuner(trainable, options: SearchOptions, *, name: str, storage_path: str, search_alg, scheduler,
              num_samples: int, max_concurrent: int, callbacks: list):
    """Run one Ray Tune experiment ``storage_path/name`` and return its ``ResultGrid``."""
    from ray import tune

    from runners.state_copy import StateCopy

    if "://" not in storage_path:  # a local folder: its state files kept in a last good copy, should the disk fill
        callbacks = [*callbacks, StateCopy(os.path.join(storage_path, name))]
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode="max",
            search_alg=search_alg,
            scheduler=scheduler,
            num_samples=num_samples,
            max_concurrent_trials=max_concurrent,
            reuse_actors=False,  # TensorFlow frees GPU memory only when its process exits (ray#616)
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=storage_path,
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=1, checkpoint_score_attribute="val_accuracy", checkpoint_score_order="max"
            ),
            # Retries a trial whose worker or node died, from its last checkpoint, on any node. Errors a
            # trial raises itself are final: it reports them instead of raising (runners/trainable.py).
            failure_config=tune.FailureConfig(max_failures=options.max_failures),
            callbacks=callbacks,
            verbose=0,
        ),
    )
    return tuner.fit()


def search_algorithm(options: SearchOptions, space, sampler, max_concurrent: int, study_attrs: dict[str, Any]):
    """The Optuna searcher: the space's starting points first (at most half the trials), then the sampler.

    Its study lives in Optuna's own storage (``--optuna-storage``), named after the run, so that
    ``optuna.load_study`` and optuna-dashboard read it while the search runs. With two objectives
    (``--objective accuracy,COST``) the searcher gets both metrics and modes, and the study both directions.
    """
    from ray.tune.search import ConcurrencyLimiter

    from runners.objectives import objective_metrics
    from runners.searcher import RankedOptunaSearch
    from records.study import create_study_storage

    suggest = functools.partial(space.suggest, pretrained=options.weights is not None)
    # Starting points take at most half the trials, so that even the smallest search samples the rest.
    first = list(space.starting_points[: options.num_samples // 2]) or None
    metrics, modes = objective_metrics(options.objective)
    if len(metrics) > 1:
        storage = _create_multi_objective_study(options.optuna_storage, options.name, modes, study_attrs)
    else:
        storage = create_study_storage(options.optuna_storage, options.name, study_attrs)
    metric, mode = (metrics, modes) if len(metrics) > 1 else (METRIC, "max")
    searcher = RankedOptunaSearch(space=suggest, metric=metric, mode=mode, sampler=sampler,
                                  points_to_evaluate=first, storage=storage, study_name=options.name)
    # An explicit limit: without one OptunaSearch can end up running one trial at a time (ray#46965).
    return ConcurrencyLimiter(searcher, max_concurrent=max_concurrent)


def _create_multi_objective_study(url: str, name: str, modes: list[str], attrs: dict[str, Any]):
    """As ``records.study.create_study_storage``, with one direction per objective: Ray's ``OptunaSearch`` loads the
    study by name (``load_if_exists``), so a study created maximising one value would refuse two."""
    import optuna

    from records.redact import display_url
    from records.study import open_storage

    storage = open_storage(url)
    try:
        study = optuna.create_study(storage=storage, study_name=name,
                                    directions=["maximize" if mode == "max" else "minimize" for mode in modes])
    except optuna.exceptions.DuplicatedStudyError:
        raise UserError(f"the Optuna storage {display_url(url)} already holds a study named {name!r}; "
                        "choose another --name") from None
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    return storage


def restore_tuner(trainable, path: str, callbacks: list | None = None):
    """Continue a saved experiment: searcher (with its Optuna study), scheduler, callbacks and trials.

    ``callbacks`` run too; each replaces a saved callback of its type (the interrupted run's own copy of it).
    """
    from ray import tune

    from runners.state_copy import restore_good_copy

    restore_good_copy(path)  # a state file cut short by a full disk: its last good copy
    tuner = tune.Tuner.restore(path, trainable=trainable, resume_unfinished=True, resume_errored=False)
    if callbacks:
        # Tuner.restore takes no callbacks: they go into the restored run configuration, which fit() reads.
        config = tuner._local_tuner.get_run_config()
        kinds = tuple({type(callback) for callback in callbacks})
        config.callbacks = [c for c in config.callbacks or [] if not isinstance(c, kinds)] + list(callbacks)
    return tuner.fit()
