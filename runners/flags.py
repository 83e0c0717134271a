"""The flags of ``python -m runners.search``, declared once: names, types, choices, defaults and help.

``runners.options`` turns the parsed flags into validated :class:`~runners.options.SearchOptions`;
``runners.search`` runs them. ``runners.suite`` reads the same parser for the search flags it passes on.
"""

from __future__ import annotations

import argparse

from runners.budgets import BUDGETS
from benchmarks.cli import Formatter, OneLineParser
from runners.finalists import FINALIST_MODES
from runners.gpu import PRECISIONS
from runners.objectives import PICK_RULES
from records.schedulers import get_scheduler, list_schedulers
from runners.tuning import SAMPLERS

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m runners.search``: every flag in its group (data, search, compute, results)."""
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
    data.add_argument("--data-share", type=float, default=0.5, metavar="FRACTION",
                      help="the share of a node's memory the decoded images may take: within it each node holds one "
                      "copy, shared by its trials; beyond it trials stream them from the source each epoch (0: always)")

    search = p.add_argument_group("search")
    search.add_argument("--space", default="default",
                        help="search space module in search_spaces/ (see --list-spaces), or reference: the dataset's published recipe")
    search.add_argument("--register", action="append", metavar="MODULE",
                        help="import MODULE first, in the driver and in every trial (shipped to the workers): a module "
                        "of your own that registers backbones or schedulers; repeatable (also: TRANSFER_SEARCH_REGISTER, "
                        "comma-separated)")
    search.add_argument("--budget", default="small", choices=list(BUDGETS), help=budgets)
    search.add_argument("--num-samples", type=int, help="number of trials (default: the budget's)")
    search.add_argument("--epochs", type=int, help="maximum epochs per trial (default: the budget's)")
    search.add_argument("--image-size", type=int, help="image side in pixels (default: the budget's)")
    search.add_argument("--sampler", default="tpe", choices=SAMPLERS,
                        help="Optuna sampler (tpe uses constant_liar for parallel trials; gp needs PyTorch)")
    schedulers = "; ".join(f"{name}: {get_scheduler(name).describe()}" for name in list_schedulers())
    # Checked by runners.options once the modules of --register are imported, which may declare more.
    search.add_argument("--scheduler", default="asha", metavar="|".join(list_schedulers()),
                        help=f"early stopping, run once per model family; {schedulers}")
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
    search.add_argument("--warm-start", metavar="RUN[,RUN]|auto",
                        help="start the study with the completed trials of earlier finished runs (auto: every one of "
                        "this dataset, space, budget and image size in the results database), so the sampler starts "
                        "from what they learnt; they stay those runs' trials in the database")

    compute = p.add_argument_group("compute")
    compute.add_argument("--address",
                         help="Ray cluster to join: auto (the one running on this machine), host:port or ray://host:port; "
                         "local starts a new local Ray even where one runs (the default, unless --resume saved another)")
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
    out.add_argument("--extend", metavar="NAME",
                     help="add --num-samples N trials to the finished run NAME: the same study and runs row, then its "
                     "best trial, finalists and summary refreshed")
    out.add_argument("--export", metavar="FORMATS",
                     help="export the best model (and each finalist's) next to model.keras, each file tested against "
                     "the Keras model and timed: none, savedmodel, tflite (float32, float16, int8), onnx or all, or a "
                     "comma-separated list (default: savedmodel,tflite; none on the smoke budget)")
    out.add_argument("--mlflow", metavar="URI",
                     help="log the search to MLflow: a parent run, a child run per trial and repeat, the finalists' "
                     "intervals, the verdict and the best model (default: MLFLOW_TRACKING_URI where set, else off; "
                     'pip install -e ".[mlflow]")')
    out.add_argument("--register-model", metavar="NAME",
                     help="register the best model in MLflow's model registry as NAME (needs --mlflow)")
    out.add_argument("--verbose", action="store_true", help="show the trials' own logs and Ray's")

    p.add_argument("--plan", action="store_true",
                   help="print the estimate and exit: trials, memory per trial and per node, where the data lives, "
                   "and trial-hours and wall time from a few timed batches of each family's largest configuration")
    p.add_argument("--list-datasets", action="store_true", help="list the built-in dataset names and exit")
    p.add_argument("--list-spaces", action="store_true", help="list the search spaces and exit")
    return p
