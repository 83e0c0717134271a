"""Which finalists' repeats a dataset's verdict compares: like with like, or side by side with the reason.

A verdict compares test figures measured on the same test images after the same protocol
(:mod:`benchmarks.protocol`). The latest run of a dataset that repeated finalists is the one the report speaks
for. Where it repeated both sides (the custom CNN and another family), its own repeats are compared, exactly as
its search summary did. Where it repeated one side only, the latest earlier run that repeated the other side is
pooled with it only if both runs tested on the same images (the test split's fingerprint) after the same
protocol (budget, epochs, image sizes, weights, split sizes); otherwise the two sides are shown next to each
other with no verdict, and the reasons say why.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pandas as pd

from benchmarks.models import CUSTOM_CNN
from benchmarks.protocol import differences
from reports.trials import of_dataset, repeats

__all__ = ["RepeatSelection", "run_identity", "select_repeats", "test_labels"]


@dataclasses.dataclass(frozen=True)
class RepeatSelection:
    """The repeats a dataset's headline shows, the test labels they were predicted on, and why there is no verdict.

    ``reasons`` is empty where the rows may be compared (one run, or comparable runs pooled); otherwise it lists
    what differs between the run of the custom CNN's repeats and the run of the other side's.
    """

    rows: pd.DataFrame
    labels: Any = None  # the test labels of the chosen run (benchmarks.predictions), for the paired bootstrap
    reasons: tuple[str, ...] = ()
    runs: tuple[str, ...] = ()  # the run names, the latest first

    @property
    def comparable(self) -> bool:
        """Whether a verdict may be drawn from :attr:`rows`."""
        return not self.reasons


def _protocol(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {}


def run_identity(runs: pd.DataFrame, run_id: str) -> dict[str, Any]:
    """A run's test fingerprint and protocol, as :func:`benchmarks.protocol.differences` compares them."""
    row = runs[runs["run_id"] == run_id]
    if row.empty:
        return {}
    first = row.iloc[0]
    return {"fingerprint": first.get("test_fingerprint") or None, "protocol": _protocol(first.get("protocol"))}


def test_labels(runs: pd.DataFrame, run_id: str):
    """The test labels a run stored (in its test order), or None."""
    from benchmarks.comparison import decode_predictions

    row = runs[runs["run_id"] == run_id]
    if row.empty or "test_labels" not in row:
        return None
    return decode_predictions(row.iloc[0]["test_labels"])


def _latest_first(rows: pd.DataFrame, runs: pd.DataFrame) -> list[str]:
    """The runs of ``rows``, latest first: by their ``runs`` row's start, else their first trial's."""
    first = rows.groupby("run_id")["started_at"].min()
    if len(runs):
        stored = runs.drop_duplicates("run_id").set_index("run_id")["started_at"]
        first = stored.reindex(first.index).fillna(first)
    return list(first.sort_values(ascending=False, kind="mergesort").index)


def select_repeats(trials: pd.DataFrame, runs: pd.DataFrame, dataset: str) -> RepeatSelection:
    """The repeats the headline of ``dataset`` compares (see the module's docstring); empty rows where none were."""
    pool = repeats(of_dataset(trials, dataset))
    tested = pool[(pool["status"] != "failed") & pool["test_accuracy"].notna()]
    if tested.empty:
        return RepeatSelection(pool.iloc[0:0])
    order = _latest_first(tested, runs)
    custom = pool["family"] == CUSTOM_CNN
    tested_custom = tested["family"] == CUSTOM_CNN
    latest = order[0]
    name = str(pool.loc[pool["run_id"] == latest, "run_name"].iloc[0])
    mine = pool[pool["run_id"] == latest]
    has = {"custom": bool((tested[tested_custom]["run_id"] == latest).any()),
           "other": bool((tested[~tested_custom]["run_id"] == latest).any())}
    labels = test_labels(runs, latest)
    if all(has.values()):
        return RepeatSelection(mine, labels, (), (name,))
    missing = custom if not has["custom"] else ~custom
    missing_tested = tested_custom if not has["custom"] else ~tested_custom
    earlier = [run for run in order[1:] if (tested.loc[missing_tested, "run_id"] == run).any()]
    if not earlier:
        return RepeatSelection(mine, labels, (), (name,))
    other_run = earlier[0]
    other_name = str(pool.loc[pool["run_id"] == other_run, "run_name"].iloc[0])
    pooled = pd.concat([mine, pool[missing & (pool["run_id"] == other_run)]]).sort_values("id")
    reasons = tuple(differences(run_identity(runs, latest), run_identity(runs, other_run)))
    return RepeatSelection(pooled, labels, reasons, (name, other_name))
