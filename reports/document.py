"""A tiny document model that both renderers (Markdown and HTML) understand.

All text is plain: renderers escape it. Table cells are already formatted strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """A table of formatted cells. ``numeric[i]`` right-aligns column ``i``; ``group_starts`` are row
    indices that begin a new group (drawn with a rule above); ``attrs`` become ``data-*`` attributes."""

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
    """An image file, referenced by a path relative to the report."""

    src: str
    alt: str
    caption: str | None = None


Block = Union[Paragraph, Table, Figure, "Section"]


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)
    level: int = 2

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


@dataclass
class Document:
    title: str
    intro: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
