"""A database server that stops answering for a while (restarted, failed over): its writes wait and are tried again.

The results store runs each write on a server database through :func:`retry_while_unreachable`: where the server
refuses connections or drops the one in use, the write waits with a short backoff (0.5 s, doubling, at most 5 s
between tries) for up to :data:`WAIT_S` seconds, saying so once in one warning line, then is made again in a
fresh transaction. The store's writes are idempotent (a trial's row is replaced, not added, ``records.store``), so
one that the server committed just before it went away is not doubled. Past the wait the error goes to the caller
(the trial recorder keeps such a row in Ray's state for a later write or ``--resume``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

__all__ = ["WAIT_S", "retry_while_unreachable", "unreachable"]

T = TypeVar("T")

#: Seconds a write waits for a database server to answer again before its error goes to the caller.
WAIT_S = 120.0
_FIRST_DELAY_S, _MAX_DELAY_S = 0.5, 5.0


def unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the server cannot be reached or dropped the connection, rather than refusing the write.

    SQLAlchemy marks a dropped connection (``connection_invalidated``); a server that refuses new connections, or is
    starting up or shutting down, is an ``OperationalError`` too. A constraint or a wrong column is not.
    """
    return isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError)) or bool(
        getattr(error, "connection_invalidated", False))


def retry_while_unreachable(write: Callable[[], T], what: str, *, wait_s: float = WAIT_S,
                            sleep: Callable[[float], None] = time.sleep) -> T:
    """``write()``, tried again while the server named ``what`` does not answer, for up to ``wait_s`` seconds.

    One ``warning:`` line on stderr when it first has to wait; the last error is raised once the wait is over.
    """
    deadline = time.monotonic() + wait_s
    delay, warned = _FIRST_DELAY_S, False
    while True:
        try:
            return write()
        except sa.exc.SQLAlchemyError as error:
            if not unreachable(error) or time.monotonic() + delay > deadline:
                raise
            if not warned:
                first = (str(getattr(error, "orig", None) or error).strip().splitlines() or ["no answer"])[0][:160]
                print(f"warning: the results database {what} does not answer ({first}); waiting up to {wait_s:g} s "
                      "for it to come back", file=sys.stderr, flush=True)
                warned = True
            sleep(delay)
            delay = min(delay * 2, _MAX_DELAY_S)
