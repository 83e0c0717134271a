"""A disk that fills up during a search ends it as interrupted, in one line that names the folder and what to do.

Where a write finds no space left (the results database under the results folder, a trial's checkpoint in Ray's
storage path, Ray's own files), the search stops as Ctrl-C stops it: the driver sends itself SIGINT, Ray Tune saves
its state and ends the trials, the run is marked ``interrupted`` and the command that continues it is printed.
SQLite rolls back the write it could not make, so the results database stays as it was; the row that could not
be written is kept in Ray's state (``runners.callbacks.TrialRecorder``), and a trial whose checkpoint could not
be written continues from its last one, both once ``--resume`` runs with space again.
"""

from __future__ import annotations

import errno
import os
import signal

__all__ = ["DISK_FULL", "disk_full", "disk_full_folder", "ended_by_full_disk", "full_folder", "interrupted_line",
           "stop_for_full_disk"]

#: The key of a trial's last report when its checkpoint could not be written for lack of space: the folder.
DISK_FULL = "disk_full"
# What a full disk says: the OS (ENOSPC, or a quota's EDQUOT) and SQLite (SQLITE_FULL), as text where an error was
# wrapped into another's message (Ray Tune's TuneError carries the traceback as text).
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_FULL_WORDS = ("no space left on device", "database or disk is full", "disk quota exceeded")
_stopped: list[str] = []  # the folder that was full, once the search was told to stop


def disk_full(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it wraps (its cause, its context, a database driver's ``orig``), is a full disk."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
            return True
        if any(words in str(error).lower() for words in _FULL_WORDS):
            return True
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return False


def full_folder(error: BaseException, default: str) -> str:
    """The folder of the file a full-disk ``error`` was writing, else ``default``."""
    filename = getattr(error, "filename", None)
    return os.path.dirname(os.path.abspath(filename)) if isinstance(filename, str) and filename else default


def stop_for_full_disk(folder: str) -> None:
    """Stop the search as Ctrl-C does (once), remembering that ``folder`` was full for :func:`interrupted_line`."""
    if _stopped:
        return
    _stopped.append(folder)
    os.kill(os.getpid(), signal.SIGINT)


def ended_by_full_disk(error: BaseException, folder: str) -> bool:
    """Whether the error that ended a search is a full disk (then remembered, ``folder`` unless it names its own)."""
    if not disk_full(error):
        return False
    if not _stopped:
        _stopped.append(full_folder(error, folder))
    return True


def disk_full_folder() -> str | None:
    """The folder found full in this process, or None."""
    return _stopped[0] if _stopped else None


def interrupted_line(resume_command: str | None) -> str:
    """The ``error:`` line of an interrupted search: a full disk's (naming its folder), else Ctrl-C's or SIGTERM's."""
    folder = disk_full_folder()
    how = f"; continue it with: {resume_command}" if resume_command else ""
    if folder is not None:
        return f"error: no space left on device in {folder}; free some space and{how[1:] or ' run again'}"
    return f"error: interrupted{how}"
