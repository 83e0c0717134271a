"""What every report section is built from: the context it reads, table columns, plot files and shared wording.

A section module (see :mod:`reports.sections`) exposes ``build(context) -> Section | None`` and ``PLOTS``, the
kinds of plot file it may write; it names a plot file with :meth:`Context.plot_path` and shows it with
:func:`figure`, so the figure carries the path of the file it wrote.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from benchmarks.hyperparameters import HYPERPARAMETERS as VOCABULARY
from benchmarks.models import family, family_label
from reports.data import HYPERPARAMETER_COLUMNS, ReportData
from reports.document import Figure, Paragraph, Section, Table
from reports.formatting import NUMERIC_KINDS, formatter
from reports.trials import of_dataset, repeats

__all__ = [
    "PLOTS_DIR",
    "TEST_FOOTNOTE",
    "Column",
    "Context",
    "extra_counts",
    "family_title",
    "figure",
    "format_table",
    "model_cell",
    "plot_name",
    "plot_section",
    "plural",
    "slugify",
    "trial_columns",
    "trial_counts",
]

PLOTS_DIR = "plots"

TEST_FOOTNOTE = (
    "* Only the best trial of each run (by validation accuracy) was evaluated on the test split, so test "
    "metrics exist for those trials only; elsewhere they show “—” (not evaluated). Best models are picked "
    "by validation accuracy, never by test accuracy."
)


def slugify(name: str, limit: int = 40) -> str:
    """A file- and anchor-safe version of ``name``."""
    return re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")[:limit].strip("-") or "dataset"


def plot_name(kind: str, index: int | None = None, slug: str | None = None) -> str:
    """The file name of a plot: ``<kind>.png`` for the whole report, ``<NN>-<slug>-<kind>.png`` for a dataset."""
    return f"{kind}.png" if index is None else f"{index:02d}-{slug}-{kind}.png"


@dataclass(frozen=True)
class Context:
    """What a section is built from: the data, where plots go, the leaderboard size, and (inside a dataset's
    section) the dataset and its position in the report."""

    data: ReportData
    out_dir: Path
    top: int = 10
    generated: dt.datetime | None = None
    dataset: str | None = None
    index: int = 0

    def for_dataset(self, index: int, dataset: str) -> Context:
        """The same context narrowed to ``dataset``, the ``index``-th of the report (from 1)."""
        return replace(self, dataset=dataset, index=index)

    @property
    def trials(self) -> pd.DataFrame:
        """The trials of the dataset (all trials outside a dataset's section)."""
        return of_dataset(self.data.trials, self.dataset)

    @property
    def anchor(self) -> str:
        """The anchor of the dataset's section (``dataset-1-beans``); empty outside one."""
        return "" if self.dataset is None else f"dataset-{self.index}-{slugify(self.dataset)}"

    def subsection(self, title: str, anchor: str) -> Section:
        """A section at this context's level: level 3 inside a dataset's section (anchored under it), else 2."""
        if self.dataset is None:
            return Section(title, anchor)
        return Section(title, f"{self.anchor}-{anchor}", level=3)

    def plot_path(self, kind: str) -> Path:
        """Where the plot of ``kind`` goes: per dataset inside a dataset's section, else once for the report."""
        if self.dataset is None:
            return self.out_dir / PLOTS_DIR / plot_name(kind)
        return self.out_dir / PLOTS_DIR / plot_name(kind, self.index, slugify(self.dataset))


def figure(path: Path, alt: str, caption: str | None = None) -> Figure:
    """A figure showing the plot file ``path`` (linked relative to the report, and carrying the file)."""
    return Figure(f"{PLOTS_DIR}/{path.name}", alt, caption, path=path)


def plot_section(
    context: Context,
    title: str,
    anchor: str,
    draw: Callable[[Path], Path | None],
    *,
    alt: str,
    caption: str,
    empty: str,
    kind: str,
) -> Section:
    """A subsection holding one plot (drawn by ``draw`` into the file of ``kind``), or the ``empty`` sentence."""
    section = context.subsection(title, anchor)
    path = draw(context.plot_path(kind))
    if path is None:
        return section.add(Paragraph(empty, "empty"))
    return section.add(figure(path, alt, caption))


@dataclass(frozen=True)
class Column:
    """A table column: the DataFrame column it shows, its header and the kind of formatting (see reports.formatting)."""

    key: str
    label: str
    kind: str = "text"


def format_table(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    caption: str | None = None,
    css_class: str = "",
    attrs: dict[str, str] | None = None,
    collapsed: bool = False,
) -> Table:
    """A document table from ``frame``: one row per DataFrame row, cells formatted by column kind."""
    rows = [[formatter(c.kind)(record.get(c.key)) for c in columns] for record in frame.to_dict("records")]
    return Table(
        columns=[c.label for c in columns],
        rows=rows,
        caption=caption,
        numeric=[c.kind in NUMERIC_KINDS for c in columns],
        css_class=css_class,
        attrs=dict(attrs or {}),
        collapsed=collapsed,
    )


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    """``1 trial``, ``2 trials`` (or the given plural form)."""
    return f"{count} {word if count == 1 else (plural_form or word + 's')}"


def _status_counts(trials: pd.DataFrame) -> str:
    counts = trials["status"].value_counts()
    parts = [f"{int(counts.get(s, 0))} {s}" for s in ("completed", "stopped", "failed") if counts.get(s, 0)]
    other = [f"{int(n)} {s}" for s, n in counts.items() if s not in ("completed", "stopped", "failed")]
    return ", ".join(parts + other) or "none"


def trial_counts(trials: pd.DataFrame) -> str:
    """``12 trials (8 completed, 2 stopped, 2 failed)``: searches and reference recipes, not repeats."""
    own = trials[trials["role"] != "repeat"]
    return f"{plural(len(own), 'trial')} ({_status_counts(own)})"


def extra_counts(trials: pd.DataFrame) -> str:
    """``; 1 reference-recipe trial; 6 finalist repeats``, leaving out what there is none of."""
    references, repeated = int(trials["is_reference"].sum()), repeats(trials)
    parts = [plural(references, "reference-recipe trial")] if references else []
    parts += [f"{plural(len(repeated), 'finalist repeat')} ({_status_counts(repeated)})"] if len(repeated) else []
    return "".join(f"; {part}" for part in parts)


def family_title(key: str) -> str:
    """A family as a table header or a legend names it: ``Transfer learning``."""
    return family_label(key, capitalize=True)


def model_cell(label: str, backbone: str, family_key: str) -> str:
    """``run/trial (resnet50)``, naming the family where the backbone alone would suggest another one."""
    if family_key == family(backbone):
        return f"{label} ({backbone})"
    return f"{label} ({backbone}, {family_label(family_key)})"


def _hyperparameter_column(name: str) -> Column:
    """A hyperparameter's column as the vocabulary declares it: its label, and formatting by type and scale."""
    spec = VOCABULARY.get(name)
    if spec is None:
        return Column(name, name, "text")
    kind = "lr" if spec.log else {int: "int", float: "float"}.get(spec.type, "text")
    return Column(name, spec.label, kind)


def trial_columns(frame: pd.DataFrame, *, with_run: bool, leading: Sequence[Column] = ()) -> list[Column]:
    """The columns of a table of trials: ``leading``, which trial, its measures and the hyperparameters it has."""
    columns = list(leading)
    columns.append(Column("run_name", "Run") if with_run else Column("trial_id", "Trial"))
    if with_run:
        columns.append(Column("trial_id", "Trial"))
    columns += [
        Column("backbone", "Backbone"),
        Column("status", "Status"),
        Column("val_accuracy", "Val. acc.", "score"),
        Column("test_accuracy", "Test acc.*", "score"),
        Column("test_f1_macro", "Test F1*", "score"),
        Column("epochs", "Epochs", "int"),
        Column("params", "Params", "params"),
    ]
    if frame["flops"].notna().any():  # per image; none where no trial counted them
        columns.append(Column("flops", "FLOPs", "params"))
    columns.append(Column("wall_seconds", "Time", "seconds"))
    for name in HYPERPARAMETER_COLUMNS:
        if name in frame and frame[name].notna().any():
            columns.append(_hyperparameter_column(name))
    return columns
