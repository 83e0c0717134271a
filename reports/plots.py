"""The report's figure style: seaborn on matplotlib's Agg backend, one colour per family, PNG files.

Each section draws its own plot (see :mod:`reports.sections`) with these helpers; a drawing function
writes the PNG and returns its path, or returns None without writing anything when there is nothing to draw.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, NullFormatter, PercentFormatter

from benchmarks.models import FAMILIES, family_label
from reports.formatting import fmt_params

__all__ = [
    "FAMILY_COLORS",
    "PERCENT",
    "category",
    "family_order",
    "family_palette",
    "log_count_axis",
    "save",
    "short",
    "si_count",
    "style",
    "with_family_label",
]

_PALETTE = sns.color_palette("colorblind")
#: One colour per family of :data:`benchmarks.models.FAMILIES`, keyed by family.
FAMILY_COLORS: dict[str, tuple[float, float, float]] = dict(zip(FAMILIES, _PALETTE, strict=False))
_DPI = 100
#: Accuracy axes: fractions shown as whole percentages.
PERCENT = PercentFormatter(xmax=1.0, decimals=0)


def _legend_label(family: str) -> str:
    """A family as a legend names it: ``Backbone from scratch``."""
    return family_label(family, capitalize=True)


def family_palette(labels: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """A colour for every legend label: each family its own, anything else the next unused colour (or grey)."""
    palette = {_legend_label(f): color for f, color in FAMILY_COLORS.items()}
    extra = iter(_PALETTE[len(FAMILY_COLORS) :])
    for label in labels:
        if label not in palette:
            palette[label] = next(extra, (0.5, 0.5, 0.5))
    return palette


_family_palette = family_palette  # the name it had before the sections drew their own plots


def with_family_label(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``family_label`` column: each trial's family as the legend names it."""
    return frame.assign(family_label=frame["family"].map(_legend_label))


def family_order(frame: pd.DataFrame) -> list[str]:
    """The legend order of the families in ``frame["family_label"]``: known families first, in FAMILIES order."""
    present = list(dict.fromkeys(frame["family_label"]))
    known = [_legend_label(f) for f in FAMILIES if _legend_label(f) in present]
    return known + sorted(set(present) - set(known))


def save(fig: plt.Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` as a PNG at ``path`` (creating its folder), close it and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return path


def style() -> None:
    """Apply the report's seaborn theme."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95)


def short(text: str, limit: int = 28) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def si_count(value: float) -> str:
    """A parameter count for an axis tick: ``2.26M``, ``120k``."""
    return fmt_params(value).replace(".00", "").replace(".0", "")


def category(value: object) -> str:
    """A number as a category label: ``32``, ``0.5``."""
    number = float(value)  # type: ignore[arg-type]
    return f"{int(number)}" if number.is_integer() else f"{number:g}"


def log_count_axis(ax) -> None:
    """A log-scaled x axis of counts (parameters), labelled 10k, 2.5M, ..."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: si_count(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())
