"""Ctrl-C and SIGTERM stop a search alike: Ray Tune saves its state, the run is marked interrupted and resumable."""

from __future__ import annotations

__all__ = ["SIGTERM_GRACE_S", "arm_sigterm_fallback", "disarm_sigterm_fallback", "sigterm_received",
           "stop_on_sigterm_like_ctrl_c"]

#: Seconds a SIGTERM'd search gets to stop the way Ctrl-C stops it before it is ended where it stands.
SIGTERM_GRACE_S = 10.0
_on_stuck: list = []  # what ends a search that SIGTERM could not stop gracefully (see arm_sigterm_fallback)
_timers: list = []  # the pending fallback, cancelled once the search has stopped by itself
_received: list = []  # a SIGTERM arrived: whatever error ends the search now is the interruption's


def stop_on_sigterm_like_ctrl_c() -> None:
    """SIGTERM (a job scheduler's kill, ``timeout``) stops the search the way Ctrl-C does: Ray Tune saves its
    state and ends the trials, the run is marked interrupted and the resume command printed.

    ``timeout`` and many schedulers signal the whole process group, Ray's own processes with it; the search
    then cannot stop gracefully (its Ray is gone), so after :data:`SIGTERM_GRACE_S` the fallback armed by
    :func:`arm_sigterm_fallback` marks the run interrupted, prints the resume command and exits: Ray's saved
    experiment state (written after every checkpoint) is what ``--resume`` continues from, as after a kill.
    """
    import signal
    import threading

    def handler(signum, frame):
        _received.append(signum)
        if _on_stuck and not _timers:
            timer = threading.Timer(SIGTERM_GRACE_S, _on_stuck[-1])
            timer.daemon = True  # never what keeps a finished process alive
            _timers.append(timer)
            timer.start()
        ctrl_c = signal.getsignal(signal.SIGINT)
        if callable(ctrl_c) and ctrl_c is not signal.default_int_handler:
            ctrl_c(signal.SIGINT, frame)  # Ray Tune's own: stop gracefully, save the experiment
        else:
            raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def arm_sigterm_fallback(end_run) -> None:
    """``end_run()`` ends the process if a SIGTERM'd search has not stopped within :data:`SIGTERM_GRACE_S`."""
    _on_stuck[:] = [end_run]


def disarm_sigterm_fallback() -> None:
    """The search stopped by itself (finished, failed, or interrupted and said so): no fallback any more."""
    _on_stuck.clear()
    while _timers:
        _timers.pop().cancel()


def sigterm_received() -> bool:
    """Whether this process was sent SIGTERM: with its Ray signalled too, the search may end in any error of
    Ray's (a lost object, a dead actor) before the fallback's grace is over; that ending is an interruption."""
    return bool(_received)
