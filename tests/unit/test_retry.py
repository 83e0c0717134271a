"""A write to a database server that does not answer waits for it, says so once, and gives up after its wait."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from records.retry import retry_while_unreachable, unreachable


def _gone() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("INSERT", {}, Exception("connection refused\nIs the server running?"))


def test_a_write_waits_for_the_server_and_warns_once(capsys):
    attempts, pauses = [], []

    def write():
        attempts.append(1)
        if len(attempts) < 4:
            raise _gone()
        return "written"

    assert retry_while_unreachable(write, "postgresql://db", sleep=pauses.append) == "written"
    assert len(attempts) == 4 and pauses == [0.5, 1.0, 2.0]  # a short backoff, doubling
    err = capsys.readouterr().err
    assert err == ("warning: the results database postgresql://db does not answer (connection refused); waiting up to "
                   "120 s for it to come back\n")


def test_a_refused_write_is_not_tried_again_and_a_long_outage_ends_in_its_error(capsys):
    def constraint():
        raise sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key value"))

    with pytest.raises(sa.exc.IntegrityError):
        retry_while_unreachable(constraint, "db", sleep=pytest.fail)
    assert not unreachable(sa.exc.IntegrityError("INSERT", {}, Exception("x")))

    def down():
        raise _gone()

    with pytest.raises(sa.exc.OperationalError):
        retry_while_unreachable(down, "db", wait_s=0.0, sleep=pytest.fail)
    assert capsys.readouterr().err == ""
