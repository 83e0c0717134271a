"""A search's settings: the command line's flags resolved and validated once into :class:`SearchOptions`.

``options_from_args`` turns a new search's flags into options (budget, space and recipe defaults applied,
every value checked, a one-line :class:`UserError` otherwise); ``resume_from_args`` reads back the options an
interrupted run saved, so that ``--resume NAME`` alone continues it.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import shlex
import sys
import uuid
from pathlib import Path
from typing import Any

from benchmarks.errors import UserError
from runners.budgets import Budget

__all__ = ["MAX_IMAGE_SIZE", "SavedRun", "SearchOptions", "check_image_size", "check_name", "default_name",
           "options_from_args", "recipe_setting", "resume_command", "resume_from_args"]


@dataclasses.dataclass(frozen=True)
class SearchOptions:
    """Every setting of one search, resolved and checked: what the driver runs and what ``--resume`` reads back.

    The program builds them with :func:`options_from_args` only, and saves them with the run's state as
    :meth:`to_json`. Fields added later have defaults, so the options of a run saved before them still load.
    """

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
    repeats: int = 0  # runs saved before finalists existed resume without them
    finalists: str = "per-family"
    export: str = "none"  # --export: the formats the best model is exported in (runners.export)
    optuna_storage: str = ""  # the Optuna study's RDB storage (runs saved before it existed kept it in memory)
    native_resolution: bool = False  # the custom CNN at the images' own size when smaller (benchmarks.resolution)
    objective: str = "accuracy"  # or accuracy,latency|params|flops: a two-objective search (runners.objectives)
    pick: str = "accuracy"  # how a two-objective search picks its best trial from the Pareto front
    scheduler_asked: str = ""  # --scheduler as given, where the objective overrode it (the search says so)
    data_share: float = 0.5  # the share of a node's memory the decoded data may take, else streamed (--data-share)
    plan: bool = False  # --plan: print the estimate (a few timed batches) and exit
    register: tuple[str, ...] = ()  # the user's modules of registrations, imported in the driver and every trial
    mlflow: str = ""  # the MLflow tracking URI the search logs to (runners.tracking), or none
    register_model: str = ""  # the model registry name of the best model
    warm_start: str = ""  # --warm-start: earlier runs whose completed trials start the study (runners.warm_start)

    def to_json(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (``results`` as a string), as the run's saved options keep them."""
        return {**dataclasses.asdict(self), "results": str(self.results)}

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> SearchOptions:
        """Options from :meth:`to_json`'s dict; keys this version does not know are dropped, missing ones default."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{**{k: v for k, v in saved.items() if k in known}, "results": Path(saved["results"]),
                      "register": tuple(saved.get("register", ()))})


#: The image sizes a trial may train at: the custom CNN halves its input once per block (up to 4 blocks), and
#: beyond MAX_IMAGE_SIZE a batch of activations no longer fits a worker's memory (and no budget asks for it).
MAX_IMAGE_SIZE = 1024
MAX_NAME_LENGTH = 100


def check_image_size(image_size: int | None, space) -> None:
    """``--image-size`` against what every model of the space accepts (the budget's sizes always fit)."""
    from benchmarks.models import get_model

    if image_size is None:
        return
    smallest = max(get_model(name).min_size for name in space.backbones)
    if not smallest <= image_size <= MAX_IMAGE_SIZE:
        raise UserError(f"--image-size {image_size} is outside what space {space.name!r} can train: "
                        f"{smallest} to {MAX_IMAGE_SIZE} pixels")


def check_name(name: str) -> str:
    """A run name that is a safe folder name: letters, digits, '.', '_' and '-', not '.' or '..', at most 100."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name in (".", ".."):
        raise UserError(f"--name {name!r} may only use letters, digits, '.', '_' and '-' (and is not '.' or '..')")
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"--name is {len(name)} characters long; use at most {MAX_NAME_LENGTH}")
    return name


def default_name(dataset: str, space: str) -> str:
    """``DATASET-SPACE-YYYYmmdd-HHMMSS-xxxx``: the random tail keeps two searches started in one second apart."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{_slug(dataset)[:40]}-{space[:30]}-{stamp}-{uuid.uuid4().hex[:4]}"


def _storage_path(args: argparse.Namespace, results: Path) -> str:
    """Where Ray keeps the run's state, checked; an error names the flag given (--results or --storage-path)."""
    from runners.resume import normalize_storage_path

    if args.storage_path:
        return normalize_storage_path(args.storage_path, flag="--storage-path")
    return normalize_storage_path(str(results / "ray"), flag=f"--results {args.results}")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(text.rstrip("/")).stem or text).strip("_") or "dataset"


def _resolved_dataset(spec: str) -> str:
    """A folder or zip as an absolute path (a resumed run may start in another directory); a name as given."""
    from benchmarks.datasets import dataset_kind

    return os.path.abspath(os.path.expanduser(spec)) if dataset_kind(spec) == "folder" else spec


def options_from_args(args: argparse.Namespace) -> SearchOptions:
    """A new search's flags as checked :class:`SearchOptions`; a one-line :class:`UserError` for any bad value.

    A flag left unset takes the space's value where it has one (a recipe's trial count and split; its image
    size and epochs on the full budget only), else the budget's; the split defaults to 0.15/0.15. A recipe
    or a two-objective search always runs the ``fifo`` scheduler, and a recipe runs no repeats. Paths are
    made absolute, and the run's name defaults to :func:`default_name`.
    """
    from benchmarks.models import get_model
    from runners.budgets import get_budget
    from runners.export import parse_export
    from runners.gpu import gpu_settings
    from records.schedulers import get_scheduler
    from runners.objectives import check_sampler, cost_of, parse_objective
    from runners.registrations import import_registrations, registered_modules
    from records.databases import check_apart
    from records.store import default_db_url
    from records.study import default_optuna_url
    from runners.tracking import check_tracking, tracking_uri
    from search_spaces import get_space, resolve_space_name

    register = registered_modules(getattr(args, "register", None))
    import_registrations(register)  # first: they may register what the space, the scheduler or a backbone names
    budget = get_budget(args.budget)
    space_name = resolve_space_name(args.space, args.dataset)
    space = get_space(space_name)
    for flag in ("num_samples", "epochs", "image_size", "max_concurrent"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UserError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
    if args.repeats is not None and args.repeats < 0:
        raise UserError(f"--repeats must be at least 0, got {args.repeats}")
    if args.cpus_per_trial <= 0 or args.gpus_per_trial < 0:
        raise UserError("--cpus-per-trial must be above 0 and --gpus-per-trial at least 0")
    if args.steps_per_execution < 1:
        raise UserError(f"--steps-per-execution must be at least 1, got {args.steps_per_execution}")
    if args.max_failures < 0:
        raise UserError(f"--max-failures must be at least 0, got {args.max_failures}")
    data_share = getattr(args, "data_share", 0.5)
    if not 0 <= data_share <= 1:
        raise UserError(f"--data-share must be between 0 and 1, got {data_share:g}")
    if not 0 <= args.seed < 2**32:
        raise UserError(f"--seed must be between 0 and {2**32 - 1}, got {args.seed}")
    gpu_settings(args.gpus_per_trial, args.precision)  # validates the combination
    get_scheduler(args.scheduler)  # an unknown name is a one-line error, never FIFO in silence
    objective = parse_objective(getattr(args, "objective", None))
    check_sampler(args.sampler, objective)
    pick = getattr(args, "pick", None) or "accuracy"
    if pick != "accuracy" and cost_of(objective) is None:
        raise UserError(f"--pick {pick} chooses from a Pareto front; it needs two objectives: --objective "
                        "accuracy,latency (or params, flops)")
    pretrained = [b for b in space.backbones if get_model(b).pretrainable]
    if args.weights is not None and args.weights.lower() != "none" and not pretrained:
        raise UserError(f"space {space.name!r} trains no backbone, so --weights {args.weights} has nothing to load; "
                        "drop --weights or pick a space with backbones")
    check_image_size(args.image_size, space)
    weights = None if (args.weights or "imagenet").lower() == "none" else (args.weights or "imagenet")
    if weights not in (None, "imagenet"):
        weights = os.path.abspath(os.path.expanduser(weights))
        if os.path.isfile(weights) and len(pretrained) > 1:
            raise UserError(
                f"--weights {args.weights} is one file but space {space.name!r} picks {len(pretrained)} backbones; "
                "pass a folder of <backbone>.weights.h5 files or a space with one backbone"
            )
    results = Path(args.results).absolute()
    check_apart(args.db or default_db_url(results), args.optuna_storage or default_optuna_url(results))
    mlflow = tracking_uri(getattr(args, "mlflow", None))
    check_tracking(mlflow, getattr(args, "register_model", None))
    name = check_name(args.name) if args.name else default_name(args.dataset, space.name)
    val_fraction, test_fraction = space.split or (0.15, 0.15)
    return SearchOptions(
        dataset=_resolved_dataset(args.dataset),
        space=space_name,
        budget=budget.name,
        num_samples=args.num_samples or space.num_samples or budget.num_samples,
        epochs=args.epochs or recipe_setting(space.epochs, budget) or budget.epochs,
        image_size=args.image_size or recipe_setting(space.image_size, budget) or budget.image_size,
        sampler=args.sampler,
        # A fixed recipe runs to the end: early stopping by the scheduler would cut one variant short. ASHA ranks
        # trials by one number, so a two-objective search runs every trial to its end too.
        scheduler="fifo" if space.is_reference or cost_of(objective) else args.scheduler,
        weights=weights,
        seed=args.seed,
        address=args.address,
        max_concurrent=args.max_concurrent,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        results=results,
        db=args.db or default_db_url(results),
        name=name,
        data_dir=os.path.abspath(os.path.expanduser(args.data_dir)) if args.data_dir else None,
        val_fraction=args.val_fraction if args.val_fraction is not None else val_fraction,
        test_fraction=args.test_fraction if args.test_fraction is not None else test_fraction,
        storage_path=_storage_path(args, results),
        precision=args.precision,
        steps_per_execution=args.steps_per_execution,
        max_failures=args.max_failures,
        verbose=args.verbose,
        command=current_command(),
        # A reference recipe tests every one of its fixed trials instead.
        repeats=0 if space.is_reference else (args.repeats if args.repeats is not None else budget.repeats),
        finalists=args.finalists,
        export=parse_export(getattr(args, "export", None), budget.name),
        optuna_storage=args.optuna_storage or default_optuna_url(results),
        # --image-size sets one size for every trial, and a recipe keeps its own.
        native_resolution=args.image_size is None and not space.is_reference,
        objective=objective,
        pick=pick,
        scheduler_asked=args.scheduler if cost_of(objective) else "",
        data_share=data_share,
        plan=bool(getattr(args, "plan", False)),
        register=register,
        mlflow=mlflow or "",
        register_model=getattr(args, "register_model", None) or "",
        warm_start=_warm_start(args, space),
    )


def _warm_start(args: argparse.Namespace, space) -> str:
    """``--warm-start`` as the options keep it: ``auto``, or run names joined by commas, each once and valid.

    A fixed recipe has nothing to warm-start (``runners.warm_start`` uses it).
    """
    from runners.warm_start import AUTO

    value = getattr(args, "warm_start", None)
    if not value:
        return ""
    names = list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if not names:
        raise UserError("--warm-start needs run names (RUN[,RUN]) or auto")
    if space.is_reference:
        raise UserError(f"--warm-start: space {space.name!r} runs a fixed recipe; there is nothing to sample")
    if names == [AUTO]:
        return AUTO
    for name in names:
        try:
            check_name(name)
        except UserError:
            raise UserError(f"--warm-start {name!r} is not a run name (letters, digits, '.', '_' and '-'); "
                            "give RUN[,RUN] or auto") from None
    return ",".join(names)


@dataclasses.dataclass(frozen=True)
class SavedRun:
    """What ``--resume`` reads back: the run's settings, its run_id and its concurrency."""

    options: SearchOptions
    run_id: str
    max_concurrent: int
    address_given: bool = False  # --address on the resume command itself (else the saved one, if it answers)


def resume_from_args(args: argparse.Namespace) -> SavedRun:
    """The saved settings of the run ``--resume`` names; only --address and --verbose may change."""
    from runners.registrations import import_registrations
    from runners.resume import read_options
    from records.store import default_db_url

    name = args.resume if isinstance(args.resume, str) else args.name
    if not name:
        raise UserError("--resume needs the run's name: --resume NAME")
    results = Path(args.results).absolute()
    storage = _storage_path(args, results)
    saved = read_options(storage, name)
    if saved is None and not args.storage_path:
        # The run may have kept its state elsewhere (--storage-path): the database remembers where.
        remembered = _remembered_storage(args.db or default_db_url(results), name)
        saved = read_options(remembered, name) if remembered else None
    if saved is None:
        raise UserError(
            f"no run named {name!r} to resume in {storage}; pass the --storage-path (or --results) it ran with"
        )
    options = SearchOptions.from_json(saved["options"])
    import_registrations(options.register)
    options = dataclasses.replace(
        options, address=args.address or options.address, verbose=args.verbose,
        command=current_command(),
    )
    return SavedRun(options, saved["run_id"], int(saved["max_concurrent"]), address_given=bool(args.address))


def _remembered_storage(db: str, name: str) -> str | None:
    """The folder above the run's Ray state, as the ``runs`` table recorded it (None where unknown)."""
    from records.store import ResultsStore

    if db.startswith("sqlite:///") and not os.path.exists(db[len("sqlite:///"):]):
        return None  # do not create a database just to look
    try:
        row = ResultsStore(db, create=False).run_row(run_name=name)
    except Exception:  # an unreadable database: fall back to the error that names the storage path
        return None
    path = (row or {}).get("storage_path")
    return path.rstrip("/").rsplit("/", 1)[0] if path else None


def recipe_setting(value: int | None, budget: Budget) -> int | None:
    """A reference recipe's own image size, epochs or patience on the full budget; None on the others.

    Smoke and small runs so stay bounded by their budget (see search_spaces/_reference.py).
    """
    return value if budget.name == "full" else None


def current_command() -> str:
    """This process's command line as the run records it, with any password in a URL hidden."""
    from records.redact import redact

    words = [redact(w) for w in sys.argv[1:]]
    return shlex.join(["python", "-m", "runners.search", *words])


def resume_command(options: SearchOptions) -> str:
    """The shortest command that continues this run (a database URL is shown without its password)."""
    from records.redact import display_url
    from records.store import default_db_url

    words = ["python", "-m", "runners.search", "--resume", options.name]
    if options.storage_path != str(options.results / "ray"):
        words += ["--storage-path", options.storage_path]
    elif options.results != Path("results").absolute():
        words += ["--results", str(options.results)]
    if options.db != default_db_url(options.results):
        words += ["--db", display_url(options.db)]
    if options.address:
        words += ["--address", options.address]
    return shlex.join(words)
