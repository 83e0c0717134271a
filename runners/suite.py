"""Run the reference recipe and a search on every available dataset, then build the report.

    python -m runners.suite [--budget B] [--weights W] [--data-dir DIR] [--results DIR]
                            [--datasets NAME ...] [--folders PATH ...] [other runners.search flags]

For each dataset (the embedded digits and the named ones with a reference recipe, then the given
folders): check that it can be had (prepared or cached, or its download host answers), run
``runners.search --space reference`` where the dataset has a recipe, then a search (``--space``, default
``default``) on the recipe's split where it sets one, in this process, one after the other; then
``reports.build`` on the results, and one sentence over the datasets the suite ran: on how many the
other family's finalists beat the custom CNN's, tie or lose, with a sign test
(:mod:`benchmarks.across_datasets`). A dataset that cannot be had is skipped with a
``skip NAME: reason`` line, not a crash. Other flags (``--epochs``, ``--max-concurrent``,
``--gpus-per-trial``, ...) go to every run.
Exit code 0 if at least one dataset ran, 2 otherwise, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import subprocess
import sys
from pathlib import Path

from benchmarks.across_datasets import latest_comparisons, suite_sentence
from benchmarks.cli import OneLineParser, quiet
from benchmarks.errors import UserError
from records.store import ResultsStore, default_db_url, now
from runners.budgets import BUDGETS

#: Run first, with or without a reference recipe: the embedded dataset every machine has.
EMBEDDED = "digits"


def recipe_datasets() -> list[str]:
    """The named datasets that have a reference recipe, as the recipe modules declare them."""
    from search_spaces.reference import recipes

    return [name for recipe in recipes() for name in recipe.datasets]


def default_datasets() -> list[str]:
    """What the suite runs without ``--datasets``: the embedded digits, then every dataset with a recipe."""
    return list(dict.fromkeys([EMBEDDED, *recipe_datasets()]))


def has_recipe(spec: str) -> bool:
    """Whether ``spec`` has a reference recipe (the embedded digits has none: the suite only searches it)."""
    from search_spaces import recipe_for

    try:
        recipe_for(spec)
    except UserError:
        return False
    return True



def build_parser() -> argparse.ArgumentParser:
    """The suite's own flags; :func:`main` passes every flag it does not know on to each ``runners.search`` run."""
    p = OneLineParser(
        prog="python -m runners.suite",
        allow_abbrev=False,  # else --dataset, a runners.search flag, would be taken for --datasets
        description="Reference recipe and a search on every available dataset, then the report. "
        "Flags not listed here are passed to every runners.search run.",
    )
    p.add_argument("--budget", default="small", choices=list(BUDGETS), help="budget of every run (default: small)")
    p.add_argument("--weights", default="imagenet",
                   help="backbone weights: imagenet, none or a path (default: imagenet)")
    p.add_argument("--data-dir", help="tensorflow-datasets data_dir")
    p.add_argument("--results", default="results", help="results folder (default: results)")
    p.add_argument("--datasets", nargs="*", metavar="NAME",
                   help="named datasets to run (default: the embedded digits and every dataset with a reference "
                   f"recipe: {' '.join(default_datasets())}); none with an empty list")
    p.add_argument("--folders", nargs="*", default=[], metavar="PATH", help="image folders or zips to run as well")
    p.add_argument("--space", default="default",
                   help="space of the search after each reference run (default: default)")
    p.add_argument("--num-samples", type=int,
                   help="trials of each search (default: the budget's; recipes run their own)")
    return p


def unavailable(spec: str, data_dir: str | None = None) -> str | None:
    """Why ``spec`` cannot be had right now (None if it can); an unknown or malformed name is a reason too."""
    from benchmarks.datasets import unavailable as dataset_unavailable

    try:
        return dataset_unavailable(spec, data_dir)
    except UserError as error:
        return str(error)


def _run(argv: list[str]) -> None:
    """One ``runners.search`` run in this process; Ray is shut down after it so the next one starts afresh.

    ``argv`` is the run's own ``runners.search`` command line: the suite builds it, rather than options, because
    it is also what the run records (``runs.command``) to be repeated on its own.
    """
    from runners.flags import build_parser as search_parser
    from runners.options import options_from_args
    from runners.search import run_search

    options = options_from_args(search_parser().parse_args(argv))
    options = dataclasses.replace(options, command=shlex.join(["python", "-m", "runners.search", *argv]))
    try:
        run_search(options)
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()


def _recipe_split(spec: str, extra: list[str]) -> list[str]:
    """The recipe's split fractions as flags for the search, so both are tested on the same images."""
    from search_spaces import get_space, recipe_for

    if any(flag in extra for flag in ("--val-fraction", "--test-fraction")):
        return []
    try:
        split = get_space(recipe_for(spec)).split
    except UserError:
        return []
    return ["--val-fraction", str(split[0]), "--test-fraction", str(split[1])] if split else []


def run_suite(args: argparse.Namespace, extra: list[str]) -> int:
    """Run every dataset of ``args``; ``extra`` are runners.search flags. Returns the exit code."""
    common = ["--budget", args.budget, "--weights", args.weights, "--results", args.results, *extra]
    if args.data_dir:
        common += ["--data-dir", args.data_dir]
    ran, skipped = [], []
    started = now()
    named = default_datasets() if args.datasets is None else args.datasets
    for spec in [*named, *args.folders]:
        reason = unavailable(spec, args.data_dir)
        if reason:
            print(f"skip {spec}: {reason}", flush=True)
            skipped.append(spec)
            continue
        done = 0
        search = ["--space", args.space, *_recipe_split(spec, extra)]
        if args.num_samples:
            search += ["--num-samples", str(args.num_samples)]
        steps = [("reference recipe", ["--space", "reference"])] if has_recipe(spec) else []
        if not steps:
            print(f"{spec}: no reference recipe, a search only", flush=True)
        for what, flags in [*steps, (f"search ({args.space})", search)]:
            print(f"\n=== {spec}: {what} ===", flush=True)
            try:
                _run(["--dataset", spec, *flags, *common])
                done += 1
            except UserError as error:
                print(f"skip {spec} {what}: {error}", flush=True)
        (ran if done else skipped).append(spec)
    if not ran:
        print(f"error: no dataset could be run ({len(skipped)} skipped); see the skip lines above", file=sys.stderr)
        return 2
    print(f"\nran {len(ran)} dataset(s): {', '.join(ran)}" + (f"; skipped {', '.join(skipped)}" if skipped else ""),
          flush=True)
    db = build_search_args(extra).db or default_db_url(args.results)
    code = _report(db, Path(args.results) / "report")
    print(f"across datasets: {across_sentence(db, since=started)}", flush=True)
    return code


def across_sentence(db: str, since=None) -> str:
    """The sentence over the datasets (:func:`benchmarks.across_datasets.suite_sentence`) from the runs in ``db``
    that started at ``since`` or later (all where None): per dataset its latest finished run with a comparison."""
    import pandas as pd
    import sqlalchemy as sa

    url = sa.engine.make_url(db)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return suite_sentence({})
    store = ResultsStore(db, create=False)
    try:
        runs = store.runs()
    except sa.exc.SQLAlchemyError:  # no runs table: nothing was recorded
        return suite_sentence({})
    finally:
        store.engine.dispose()
    if since is not None and not runs.empty:
        runs = runs[pd.to_datetime(runs["started_at"], utc=True, errors="coerce") >= pd.Timestamp(since)]
    return suite_sentence(latest_comparisons(runs.to_dict("records")))


def _report(db: str, out_dir: Path) -> int:
    """Build the report as a user would next, ``python -m reports.build``, in its own process; its exit code.

    A command, not an import: ``runners`` and ``reports`` are siblings that share only ``records``.
    """
    return subprocess.run([sys.executable, "-m", "reports.build", "--db", db, "--out", str(out_dir)]).returncode


def build_search_args(extra: list[str]) -> argparse.Namespace:
    """``extra`` parsed as runners.search flags (a bad one exits with a one-line error before anything runs)."""
    from runners.flags import build_parser as search_parser

    return search_parser().parse_args(extra)


def main(argv: list[str] | None = None) -> int:
    """Run the suite on ``argv`` (default: ``sys.argv[1:]``); return the exit code the module docstring lists.

    A bad search flag exits before any dataset runs; a :class:`UserError` is one ``error:`` line on stderr.
    """
    args, extra = build_parser().parse_known_args(argv)
    search_args = build_search_args(extra)
    quiet(search_args.verbose)
    try:
        return run_suite(args, extra)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; the suite stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
