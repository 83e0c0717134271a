"""How every number in the report is written: one formatter per kind of value, used by both renderers.

Accuracies, F1 and other scores are percentages with two decimals (``91.23%``); differences
between scores are percentage points (``+3.10 pp``). A missing value is an em dash. Families are
named by :func:`benchmarks.models.family_label`, never here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd

from benchmarks.stats import Difference, Interval

__all__ = [
    "MISSING",
    "NUMERIC_KINDS",
    "fmt_count",
    "fmt_datetime",
    "fmt_difference",
    "fmt_float",
    "fmt_int",
    "fmt_interval",
    "fmt_learning_rate",
    "fmt_params",
    "fmt_params_diff",
    "fmt_score",
    "fmt_score_diff",
    "fmt_seconds",
    "fmt_seconds_diff",
    "fmt_text",
    "formatter",
    "is_missing",
]

MISSING = "—"


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pandas' NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_text(value: Any) -> str:
    """Text as stored; missing or empty text is ``—``."""
    return MISSING if is_missing(value) or str(value) == "" else str(value)


def fmt_score(value: Any) -> str:
    """A fraction in [0, 1] as a percentage: ``0.91234`` → ``91.23%``."""
    return MISSING if is_missing(value) else f"{100 * float(value):.2f}%"


def fmt_score_diff(value: Any) -> str:
    """A difference of two fractions in percentage points: ``0.031`` → ``+3.10 pp``."""
    return MISSING if is_missing(value) else f"{100 * float(value):+.2f} pp"


def fmt_interval(interval: Interval | None) -> str:
    """A mean over repeats with its interval: ``82.00% (95% CI 77.03% to 86.97%, n = 3)``.

    One repeat, or repeats with no spread, have no interval: ``82.00% (1 repeat, no interval)``; no repeat at all is
    an em dash.
    """
    if interval is None:
        return MISSING
    if interval.low is None:
        return f"{fmt_score(interval.mean)} ({interval.reason}, no interval)"
    share = f"{100 * interval.confidence:.0f}%"
    low, high = fmt_score(interval.low), fmt_score(interval.high)
    return f"{fmt_score(interval.mean)} ({share} CI {low} to {high}, n = {interval.n})"


def fmt_difference(difference: Difference | None) -> str:
    """A difference of means with its interval: ``+9.00 pp (95% CI +4.84 pp to +13.16 pp)``, and ``, paired over
    1,000 test images`` where the interval is the paired bootstrap's.

    Without an interval (a side has one repeat, or no spread on either side) it says why; no difference at all is
    an em dash.
    """
    if difference is None:
        return MISSING
    mean = fmt_score_diff(difference.mean)
    if difference.low is None:
        return f"{mean} (no interval: {difference.reason})"
    share = f"{100 * difference.confidence:.0f}%"
    paired = f", paired over {difference.examples:,} test images" if difference.method == "paired bootstrap" else ""
    return f"{mean} ({share} CI {fmt_score_diff(difference.low)} to {fmt_score_diff(difference.high)}{paired})"


def _si(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{value / 1e9:.2f}B"
    if magnitude >= 1e6:
        return f"{value / 1e6:.2f}M"
    if magnitude >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def fmt_params(value: Any) -> str:
    """A parameter count: ``2257984`` → ``2.26M``."""
    return MISSING if is_missing(value) else _si(float(value))


def fmt_params_diff(value: Any) -> str:
    """A difference in parameter count with its sign: ``+1.20M``."""
    if is_missing(value):
        return MISSING
    return ("+" if float(value) >= 0 else "-") + _si(abs(float(value)))


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def fmt_seconds(value: Any) -> str:
    """A duration: ``75`` → ``75 s``, ``750`` → ``12.5 min``, ``9000`` → ``2.5 h``."""
    return MISSING if is_missing(value) else _duration(float(value))


def fmt_seconds_diff(value: Any) -> str:
    """A difference in time with its sign: ``-30 s``."""
    if is_missing(value):
        return MISSING
    return ("+" if float(value) >= 0 else "-") + _duration(float(value))


def fmt_int(value: Any) -> str:
    """A whole number (a fractional one as ``%g``)."""
    if is_missing(value):
        return MISSING
    number = float(value)
    return f"{int(number)}" if number.is_integer() else f"{number:g}"


def fmt_count(value: Any) -> str:
    """A count with thousands separators; missing counts are zero."""
    return "0" if is_missing(value) else f"{int(value):,}"


def fmt_float(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals."""
    return MISSING if is_missing(value) else f"{float(value):.{digits}f}"


def fmt_learning_rate(value: Any) -> str:
    """Scientific notation with three significant digits: ``0.000312`` → ``3.12e-04``."""
    if is_missing(value):
        return MISSING
    return f"{float(value):.2e}"


def fmt_datetime(value: Any) -> str:
    """``2024-05-01 14:03`` (minutes; the store writes UTC)."""
    if is_missing(value):
        return MISSING
    if isinstance(value, str):
        try:
            value = pd.Timestamp(value)
        except ValueError:
            return value
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "score": fmt_score,
    "score_diff": fmt_score_diff,
    "params": fmt_params,
    "params_diff": fmt_params_diff,
    "seconds": fmt_seconds,
    "seconds_diff": fmt_seconds_diff,
    "int": fmt_int,
    "count": fmt_count,
    "float": fmt_float,
    "float3": lambda value: fmt_float(value, 3),
    "lr": fmt_learning_rate,
    "datetime": fmt_datetime,
    "text": fmt_text,
}

NUMERIC_KINDS = frozenset(_FORMATTERS) - {"text", "datetime"}


def formatter(kind: str) -> Callable[[Any], str]:
    """The formatter for a kind of value (``score``, ``params``, ``seconds``, ``lr``, ``text`` …)."""
    return _FORMATTERS[kind]
