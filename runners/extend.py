"""``--extend NAME --num-samples N``: N more trials for a finished run, in its own study and its own ``runs`` row.

An extension is the run continued, not a new run: the run's saved settings (``runners.resume``, as ``--resume``
reads them) with N trials, sampled from the run's stored Optuna study by a sampler that sees every trial the run
had, recorded as more trial rows of the same ``run_id``. Its trials are a Ray Tune experiment of their own,
``STORAGE/NAME/extend-K`` (K counts the run's extensions), beside the run's first one; its repeats, where the run
has any, ``STORAGE/NAME/extend-K/repeats``. Then the run ends as a search does, over all its trials: the best
trial picked again and tested, the finalists picked again and repeated (the earlier repeats' rows replaced: a
finalist's interval comes from one set of repeats), ``summary.json``, the model and the ``runs`` row refreshed.

An extension stopped part-way (Ctrl-C, a failure) leaves the run as it was, ``finished`` with its earlier best,
finalists and summary; the trials it finished stay recorded, in the database and in the study, and the next
``--extend`` counts them among the run's own. It is not continued with ``--resume``: extend again instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
from typing import Any

from benchmarks.errors import UserError
from runners.options import SearchOptions

__all__ = ["EXTENSION_PREFIX", "Extension", "extension_from_args"]

EXTENSION_PREFIX = "extend-"  # the extensions' Ray experiments inside the run's own folder: extend-1, extend-2...


@dataclasses.dataclass
class Extension:
    """One extension of a finished run: its number, the run's row before it, and what it changed."""

    run_id: str
    number: int
    before: dict[str, Any]  # the run's ``runs`` row as it was: what an extension stopped part-way puts back
    recorded: int = 0  # the run's search trials recorded before this extension
    best_cleared: bool = False
    repeats_forgotten: bool = False

    @property
    def experiment(self) -> str:
        """The extension's Ray experiment, a folder inside the run's own: ``extend-K``."""
        return f"{EXTENSION_PREFIX}{self.number}"

    def open(self, options: SearchOptions):
        """The extension's sampler and the results store, once the run's study is found (its stale trials failed).

        The sampler is seeded with the run's seed plus the extension's number, so each extension draws anew.
        """
        import optuna

        from records.redact import display_url
        from records.store import ResultsStore
        from records.study import load_run_study
        from runners.tuning import make_sampler

        study = load_run_study(options.optuna_storage, options.name)
        if study is None:
            raise UserError(f"run {options.name!r} has no Optuna study in {display_url(options.optuna_storage)}; "
                            "an extension samples from it: pass the --optuna-storage it ran with")
        # A trial an interrupted extension left RUNNING would be a constant liar's phantom for every later sample.
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        sampler = make_sampler(options.sampler, options.seed + self.number, options.num_samples, options.objective)
        return sampler, ResultsStore(options.db)

    def begin(self, store, options: SearchOptions) -> None:
        """Claim the extension's folder and mark the run running again, with its new number of trials."""
        from runners.resume import claim_experiment, experiment_path

        if not claim_experiment(experiment_path(options.storage_path, options.name), self.experiment):
            raise UserError(f"another --extend of run {options.name!r} started at the same time; try again")
        self.recorded = len(_search_rows(store, self.run_id))
        store.update_run(self.run_id, status="running", finished_at=None,
                         num_samples=self.recorded + options.num_samples)
        print(f"extend: {options.num_samples} more trials after the {self.recorded} run {options.name!r} has, "
              f"sampled from its study; Ray state in {experiment_path(options.storage_path, options.name)}/"
              f"{self.experiment}", flush=True)

    def searcher(self, options: SearchOptions, space, sampler, max_concurrent: int):
        """The run's Optuna searcher on its stored study (``load_if_exists``), without the starting points."""
        from ray.tune.search import ConcurrencyLimiter

        from records.contract import METRIC
        from records.study import open_storage
        from runners.objectives import objective_metrics
        from runners.searcher import RankedOptunaSearch

        metrics, modes = objective_metrics(options.objective)
        metric, mode = (metrics, modes) if len(metrics) > 1 else (METRIC, "max")
        searcher = RankedOptunaSearch(space=functools.partial(space.suggest, pretrained=options.weights is not None),
                                      metric=metric, mode=mode, sampler=sampler,
                                      storage=open_storage(options.optuna_storage), study_name=options.name)
        return ConcurrencyLimiter(searcher, max_concurrent=max_concurrent)

    def folder(self, options: SearchOptions) -> str:
        """Where the extension's experiment lives: the run's own folder."""
        from runners.resume import experiment_path

        return experiment_path(options.storage_path, options.name)

    def whole_run(self, grid, store, options: SearchOptions) -> list:
        """Every search trial of the run, its first experiment's and each extension's, as Ray results, in order.

        Only trials with a row count (an experiment stopped part-way also holds trials that never ended). The
        earlier best loses its mark, and the earlier repeats' rows go where repeats follow: the run's end sets both.
        """
        from runners.resume import experiment_path

        recorded = set(_search_rows(store, self.run_id)["trial_id"])
        base = self.folder(options)
        paths = [base, *(experiment_path(base, f"{EXTENSION_PREFIX}{k}") for k in range(1, self.number))]
        results = [result for path in paths for trial_id, result in _results(path) if trial_id in recorded]
        results += list(grid)
        if self.before.get("best_trial_id"):
            store.update_trial(self.run_id, self.before["best_trial_id"], is_best=False)
            self.best_cleared = True
        if options.repeats:
            store.forget_trials(self.run_id, set(), repeats=True)
            self.repeats_forgotten = True
        return results

    def repeats_options(self, options: SearchOptions) -> SearchOptions:
        """The options the repeats run with: their experiment inside the extension's folder."""
        return dataclasses.replace(options, storage_path=self.folder(options), name=self.experiment)

    def stopped(self, store, name: str) -> None:
        """Put the run back as it was before the extension (its trials since stay recorded), and say so."""
        import sqlalchemy as sa

        try:
            store.update_run(self.run_id, status="finished", finished_at=self.before.get("finished_at"),
                             num_samples=self.before.get("num_samples"),
                             **({"finalists": None} if self.repeats_forgotten else {}))
            if self.best_cleared:
                store.update_trial(self.run_id, self.before["best_trial_id"], is_best=True)
        except sa.exc.SQLAlchemyError:
            pass
        lost = "; its repeats were replaced, so it has no finalists now" if self.repeats_forgotten else ""
        print(f"extend: stopped; run {name!r} keeps its earlier results{lost}. The trials the extension finished are "
              f"recorded: extend it again to add more (--extend {name} --num-samples N)", flush=True)


def extension_from_args(args: argparse.Namespace) -> tuple[SearchOptions, Extension]:
    """The options and the :class:`Extension` ``--extend NAME --num-samples N`` asks for; a one-line error else.

    The run's saved settings come back as for ``--resume`` (only --address and --verbose may change), with N trials.
    """
    from records.store import ResultsStore
    from runners.options import resume_from_args
    from runners.resume import experiment_exists, experiment_path
    from search_spaces import get_space

    name = args.extend
    if args.resume:
        raise UserError("--extend and --resume do not go together: --resume continues an interrupted run, "
                        "--extend adds trials to a finished one")
    if getattr(args, "warm_start", None):
        raise UserError(f"--extend {name} samples from the run's own study; --warm-start is for a new search")
    if args.num_samples is None or args.num_samples < 1:
        raise UserError(f"--extend {name} needs the number of trials to add: --num-samples N (at least 1)")
    saved = resume_from_args(argparse.Namespace(**{**vars(args), "resume": name}))
    options = dataclasses.replace(saved.options, num_samples=args.num_samples, plan=False, warm_start="")
    if get_space(options.space).is_reference:
        raise UserError(f"run {name!r} ran the fixed recipe {options.space!r}; there is nothing more to sample")
    row = ResultsStore(options.db).run_row(run_id=saved.run_id)
    if row is None:
        raise UserError(f"run {name!r} has no row in its results database; it cannot be extended")
    if row["status"] != "finished":
        raise UserError(f"run {name!r} is {row['status']}, not finished; --extend adds trials to a finished run "
                        f"(continue it with --resume {name})")
    folder = experiment_path(options.storage_path, name)
    number = 1
    while experiment_exists(folder, f"{EXTENSION_PREFIX}{number}"):
        number += 1
    return options, Extension(run_id=saved.run_id, number=number, before=row)


def _search_rows(store, run_id: str):
    rows = store.trials(run_id=run_id)
    return rows[rows["role"].fillna("search") != "repeat"]


def _results(path: str) -> list[tuple[str, Any]]:
    """Each trial id and Ray result of the experiment at ``path``, in order; none where Ray saved no state there."""
    from ray.tune import ExperimentAnalysis, ResultGrid

    from runners.resume import can_restore

    if not can_restore(path):
        return []
    analysis = ExperimentAnalysis(path)
    return [(trial.trial_id, result) for trial, result in zip(analysis.trials, ResultGrid(analysis))]
