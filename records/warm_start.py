"""Warm start: which earlier runs a new search may learn from, and their trials added to its Optuna study.

A search warm-started from earlier runs (``--warm-start RUN[,RUN]`` or ``auto``) begins with their COMPLETE trials
in its study, so that the sampler starts from what is known instead of from nothing. Each is added with
``optuna.trial.create_trial`` and ``study.add_trials``: its parameters with the distributions the space suggested
them from, its value(s), its intermediate values, its user attributes, and :data:`WARM_START_ATTR` naming the run
it comes from. They come first in the study, so the new run's own trials follow them.

Only runs that measured the same thing are accepted (:func:`difference`): the same dataset, space, budget, image
size, weights and objective. The dataset is compared by its test split's fingerprint where that can tell (both runs
stored one and drew their splits with the same seed); a run with another seed draws other splits of the same data,
so there, as for runs stored without a fingerprint, it is compared by name and class count. A warm trial's score
was measured on its own run's validation split: it only steers which configurations the sampler tries; the new
run's best trial is still chosen by its own validation split and tested on its own test split.

Warm trials are the earlier runs' trials, not the new run's: they live in the study only. The results database
keeps them as the rows of the run that trained them and copies none of them, so every reader (leaderboards,
finalists, the report, the trial counts) counts each trial once, under the run that trained it, with no role or
flag to skip. The new run's command (``runs.command``) and its study's user attribute :data:`WARM_START_ATTR`
say which runs it was warm-started from.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

from search_spaces import WARM_START_ATTR  # marks a warm trial in a study, and on the study the runs it came from

__all__ = ["WARM_START_ATTR", "RunIdentity", "add_warm_trials", "difference", "identity_of", "warm_trials"]


@dataclasses.dataclass(frozen=True)
class RunIdentity:
    """What a run measured: two runs' trials are interchangeable for a sampler only where these match."""

    dataset: str
    num_classes: int | None
    test_fingerprint: str | None
    seed: int | None
    space: str
    budget: str
    image_size: int
    weights: str
    objective: str


def identity_of(row: Mapping[str, Any]) -> RunIdentity:
    """The identity of a ``runs`` row (its class names are JSON text there)."""
    names = row.get("class_names")
    names = json.loads(names) if isinstance(names, str) else names
    seed = row.get("seed")
    return RunIdentity(
        dataset=str(row["dataset"]), num_classes=len(names) if names else None,
        test_fingerprint=row.get("test_fingerprint") or None, seed=None if seed is None else int(seed),
        space=str(row.get("space")), budget=str(row.get("budget")), image_size=int(row.get("image_size") or 0),
        weights=str(row.get("weights") or "none"), objective=str(row.get("objective") or "accuracy"),
    )


def difference(earlier: RunIdentity, current: RunIdentity) -> str | None:
    """How ``earlier`` differs from ``current`` in words (the first difference found), or None where they match.

    >>> a = RunIdentity("digits", 10, "f1", 1, "default", "smoke", 32, "none", "accuracy")
    >>> difference(dataclasses.replace(a, image_size=48), a)
    'its image size is 48px, this search uses 32px'
    >>> difference(dataclasses.replace(a, test_fingerprint="f2", seed=2), a) is None   # another seed's splits
    True
    >>> difference(dataclasses.replace(a, test_fingerprint="f2"), a)
    "its test split is another (fingerprint f2, this search's f1, both drawn with seed 1): the dataset's images or split fractions differ"
    """
    if earlier.dataset != current.dataset:
        return f"its dataset is {earlier.dataset!r}, this search's {current.dataset!r}"
    if None not in (earlier.num_classes, current.num_classes) and earlier.num_classes != current.num_classes:
        return f"its dataset has {earlier.num_classes} classes, this search's {current.num_classes}"
    if (None not in (earlier.test_fingerprint, current.test_fingerprint) and earlier.seed == current.seed
            and earlier.test_fingerprint != current.test_fingerprint):
        return (f"its test split is another (fingerprint {earlier.test_fingerprint}, this search's "
                f"{current.test_fingerprint}, both drawn with seed {current.seed}): the dataset's images or split "
                "fractions differ")
    for field, what, show in (("space", "space", repr), ("budget", "budget", str),
                              ("image_size", "image size", lambda v: f"{v}px"), ("weights", "weights", str),
                              ("objective", "objective", str)):
        mine, theirs = getattr(current, field), getattr(earlier, field)
        if mine != theirs:
            return f"its {what} is {show(theirs)}, this search uses {show(mine)}"
    return None


def warm_trials(study, run_name: str) -> list:
    """The COMPLETE trials of an earlier run's ``study`` as new trials marked as coming from ``run_name``.

    A trial that was itself warm-started into that study is left out: it belongs to a run of its own, which a
    warm start names directly (``auto`` finds every comparable run), so no trial is added twice.
    """
    import optuna

    made = []
    for frozen in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if WARM_START_ATTR in frozen.user_attrs:
            continue
        made.append(optuna.trial.create_trial(
            params=frozen.params, distributions=frozen.distributions,
            values=frozen.values, intermediate_values=frozen.intermediate_values,
            user_attrs={**frozen.user_attrs, WARM_START_ATTR: run_name, "warm_start_number": frozen.number},
        ))
    return made


def add_warm_trials(study, trials: Iterable) -> int:
    """Add ``trials`` (from :func:`warm_trials`) to ``study`` before its first trial of its own; return how many.

    A study with trials of its own already is refused (``ValueError``): warm trials come first, or the sampler's
    first trials would have been chosen without them.
    """
    import optuna

    own = [t for t in study.get_trials(deepcopy=False) if WARM_START_ATTR not in t.user_attrs
           and t.state != optuna.trial.TrialState.WAITING]
    if own:
        raise ValueError(f"study {study.study_name!r} has {len(own)} trial(s) of its own already")
    trials = list(trials)
    study.add_trials(trials)
    return len(trials)
