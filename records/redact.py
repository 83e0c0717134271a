"""The one redaction: a URL, or any text that may hold one, as it may be printed, logged or stored.

Every database or storage URL a search prints, records (``runs.command``, ``runs.optuna_storage``, the summary)
or puts into an error message goes through :func:`display_url` (one URL) or :func:`redact` (free text: a command
line, an error message that quotes a URL).

>>> display_url("postgresql+psycopg://searcher:s3cret@dbhost:5432/results")
'postgresql+psycopg://searcher:***@dbhost:5432/results'
>>> redact("--db=postgresql://u:p4ss@h/db?sslmode=require&password=p4ss failed")
'--db=postgresql://u:***@h/db?sslmode=require&password=*** failed'
"""

from __future__ import annotations

import re

__all__ = ["display_url", "redact"]

# scheme://user:PASSWORD@ (the password stops at the last '@' before the host), and a password=... query key.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)(?P<secret>[^\s/]*)(?P<at>@)")
_QUERY = re.compile(r"(?P<head>[?&;\s]password=)(?P<secret>[^&\s]+)", re.IGNORECASE)


def display_url(url: str) -> str:
    """A URL as it may be printed or stored: any password in it replaced by ``***``."""
    return redact(url)


def redact(text: str) -> str:
    """``text`` with the password of every URL in it, and every ``password=`` query value, replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m['head']}***{m['at']}", str(text))
    return _QUERY.sub(lambda m: f"{m['head']}***", text)
