"""Ray's state against the database: every trial ended, each recorded once, and how the run ended.

A search's trials live in two places: Ray Tune's experiment state (what ``--resume`` restores) and the ``trials``
table. These checks run after each experiment (the search's and the repeats'), so that an interruption, a driver
that died between the two, or a database that failed part-way is caught and said in one line.
"""

from __future__ import annotations

from benchmarks.errors import UserError
from records.redact import redact
from runners.options import SearchOptions, resume_command

__all__ = ["Interrupted", "check_complete", "check_recorded", "forget_unknown_trials", "mark_ended", "saved_statuses"]


class Interrupted(Exception):
    """The search stopped before every trial ended (Ctrl-C); ``--resume`` continues it."""


def mark_ended(store, run_id: str, status: str) -> None:
    """Record how the run ended, unless the database is what failed (the error says so already)."""
    import sqlalchemy as sa

    from records.store import now

    try:
        store.update_run(run_id, status=status, finished_at=now())
    except sa.exc.SQLAlchemyError:
        pass


def check_recorded(grid, store, run_id: str, options: SearchOptions) -> None:
    """Every trial that ended has its row; else the database refused some (the recorder said so once, in one line)."""
    import sqlalchemy as sa

    ended = {r.metrics["trial_id"] for r in grid if r.metrics and r.metrics.get("trial_id")}
    try:
        missing = ended - set(store.trials(run_id=run_id)["trial_id"])
    except sa.exc.SQLAlchemyError as error:
        missing, reason = {"all"}, str(getattr(error, "orig", None) or error).splitlines()[0][:200]
    else:
        reason = "rows missing"
    if missing:
        raise UserError(redact(f"the results database {options.db} failed during the run ({reason}); the trials' "
                               f"results are kept in Ray's state: record them with `{resume_command(options)}` "
                               "once it is back"))


def check_complete(grid, expected: int) -> None:
    """Ray Tune returns normally after a first Ctrl-C, with trials unfinished: that is an interruption.

    What counts is the state Ray saved, the one ``--resume`` continues: a Ctrl-C saves it with the running trials
    still running, then stops them and marks them TERMINATED in the ``grid`` it returns (a trial started just
    before, with no result yet, included), as if they had ended. Where that state cannot be read, the grid's.
    """
    statuses = saved_statuses(grid)
    if statuses is None:
        statuses = ["ERROR" if result.error is not None else "TERMINATED" for result in grid]
    ended = sum(status in ("TERMINATED", "ERROR") for status in statuses)
    if len(statuses) < expected or ended < len(statuses):
        raise Interrupted(f"{ended} of {expected} trials ended")


def saved_statuses(grid) -> list[str] | None:
    """Each trial's status in the experiment state Ray saved last (None where it cannot be read).

    A trial a pausing scheduler (HyperBand) left PAUSED after its last epoch's report (``final``) has ended: it
    reads TERMINATED. Ray saves a Ctrl-C'd search's unfinished trials as they were, never as PAUSED and final.
    """
    from ray.tune import ExperimentAnalysis

    try:
        trials = ExperimentAnalysis(grid.experiment_path, storage_filesystem=grid.filesystem).trials
    except Exception:
        return None
    return ["TERMINATED" if trial.status == "PAUSED" and (trial.last_result or {}).get("final") else trial.status
            for trial in trials]


def forget_unknown_trials(grid, store, run_id: str, *, repeats: bool) -> None:
    """A resumed run drops the rows of trials Ray's restored state does not know (started after its last save)."""
    analysis = getattr(grid, "_experiment_analysis", None)
    if analysis is None:
        return
    gone = store.forget_trials(run_id, {trial.trial_id for trial in analysis.trials}, repeats=repeats)
    if gone:
        print(f"dropped the rows of {len(gone)} trial(s) the interrupted driver started after its last saved state "
              f"({', '.join(gone)}): the resumed search ran those slots again", flush=True)
