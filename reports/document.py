"""A tiny document model that both renderers (Markdown and HTML) understand.

All text is plain: renderers escape it. Table cells are already formatted strings. A :class:`Figure` knows the
file it shows (``path``), so a section or the whole document can say which plot files it wrote (``plots()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

__all__ = ["Block", "Document", "Figure", "Note", "Paragraph", "Section", "Table"]


@dataclass
class Paragraph:
    """Plain text; ``kind`` is ``text``, ``note`` (a footnote) or ``empty`` (says a table or plot has no data)."""

    text: str
    kind: str = "text"


@dataclass
class Note(Paragraph):
    """A footnote under a table."""

    kind: str = "note"


@dataclass
class Table:
    """A table of formatted cells, with its caption and how it is drawn.

    ``numeric[i]`` right-aligns column ``i``; ``group_starts`` are row indices that begin a new group (drawn
    with a rule above); ``attrs`` become ``data-*`` attributes.
    """

    columns: list[str]
    rows: list[list[str]]
    caption: str | None = None
    numeric: list[bool] = field(default_factory=list)
    css_class: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    group_starts: set[int] = field(default_factory=set)
    collapsed: bool = False


@dataclass
class Figure:
    """An image file, referenced by a path relative to the report (``src``); ``path`` is the file written."""

    src: str
    alt: str
    caption: str | None = None
    path: Path | None = None


Block = Union[Paragraph, Table, Figure, "Section"]


def _plots(blocks: list[Block]) -> list[Path]:
    """The files of the figures among ``blocks`` and in their subsections, in document order."""
    found: list[Path] = []
    for block in blocks:
        if isinstance(block, Figure) and block.path is not None:
            found.append(block.path)
        elif isinstance(block, Section):
            found.extend(block.plots())
    return found


@dataclass
class Section:
    """A titled part of the report (``level`` 2 at the top, 3 for a subsection) and what it holds."""

    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)
    level: int = 2

    def add(self, *blocks: Block) -> Section:
        """Append ``blocks`` and return the section."""
        self.blocks.extend(blocks)
        return self

    def plots(self) -> list[Path]:
        """The plot files this section and its subsections show, in order."""
        return _plots(self.blocks)


@dataclass
class Document:
    """The whole report: a title, an introduction and the sections."""

    title: str
    intro: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def plots(self) -> list[Path]:
        """Every plot file the document shows, in order."""
        return _plots([*self.intro, *self.sections])
