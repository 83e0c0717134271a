"""Rendering a :class:`~reports.document.Document` as GitHub-flavoured Markdown or a standalone HTML page."""

from __future__ import annotations

import html
import re

from reports.document import Block, Document, Figure, Paragraph, Section, Table

__all__ = ["markdown_table", "md_escape", "render_html", "render_markdown"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md_escape(text: str) -> str:
    """Escape Markdown's special characters and fold newlines into spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def markdown_table(columns: list[str], rows: list[list[str]], numeric: list[bool] | None = None) -> str:
    """A pipe table (no ``tabulate`` needed); ``numeric`` columns are right-aligned."""
    numeric = numeric or [False] * len(columns)
    header = "| " + " | ".join(md_escape(c) for c in columns) + " |"
    rule = "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"
    body = ["| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join([header, rule, *body])


def _md_block(block: Block, out: list[str]) -> None:
    if isinstance(block, Section):
        out.append(f"{'#' * min(block.level, 6)} {md_escape(block.title)}")
        for child in block.blocks:
            _md_block(child, out)
    elif isinstance(block, Table):
        if block.caption:
            out.append(f"**{md_escape(block.caption)}**")
        out.append(markdown_table(block.columns, block.rows, block.numeric))
    elif isinstance(block, Figure):
        out.append(f"![{md_escape(block.alt)}]({block.src})")
        if block.caption:
            out.append(f"*{md_escape(block.caption)}*")
    elif isinstance(block, Paragraph):
        if block.kind == "note":
            out.append(f"<sub>{html.escape(' '.join(block.text.split()), quote=False)}</sub>")
        elif block.kind == "empty":
            out.append(f"> {md_escape(block.text)}")
        else:
            out.append(md_escape(block.text))
    else:  # pragma: no cover - the model has no other blocks
        raise TypeError(f"unknown block {block!r}")


def render_markdown(document: Document) -> str:
    """The whole report as Markdown (figures as relative image links)."""
    out = [f"# {md_escape(document.title)}"]
    for block in document.intro:
        _md_block(block, out)
    for section in document.sections:
        _md_block(section, out)
    return "\n\n".join(out) + "\n"


_CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --head:#f6f8fa; --accent:#0969da; --warn:#bf8700; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); margin: 0; background: #fff; }
main { max-width: 1680px; margin: 0 auto; padding: 20px 20px 64px; }
h1 { font-size: 26px; margin: 0 0 8px; }
h2 { font-size: 21px; margin: 40px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 17px; margin: 28px 0 10px; }
h4 { font-size: 15px; margin: 20px 0 8px; }
p { margin: 8px 0; max-width: 980px; }
p.note { color: var(--muted); font-size: 12.5px; margin-top: 4px; }
p.empty { color: #6e5200; background: #fff8c5; border-left: 4px solid var(--warn); padding: 8px 12px;
          max-width: none; }
nav.toc { background: var(--head); border: 1px solid var(--line); border-radius: 6px; padding: 10px 16px;
          margin: 16px 0; }
nav.toc ul { margin: 4px 0; padding-left: 20px; } nav.toc a { color: var(--accent); text-decoration: none; }
.table-wrap { overflow-x: auto; margin: 10px 0 6px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid var(--line); padding: 3px 6px; vertical-align: top; }
th { background: var(--head); text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
tr.group-start td { border-top: 2px solid #8c959f; }
td.text-cell { white-space: nowrap; }
td.long-text { min-width: 320px; max-width: 640px; overflow-wrap: anywhere; }
div.caption { font-weight: 600; margin: 14px 0 4px; }
figure { margin: 14px 0 22px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 4px; }
details { margin: 8px 0; } summary { cursor: pointer; font-weight: 600; }
footer { color: var(--muted); font-size: 12px; margin-top: 48px; border-top: 1px solid var(--line); padding-top: 8px; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_table(table: Table) -> str:
    numeric = table.numeric or [False] * len(table.columns)
    attrs = "".join(f' data-{_e(key)}="{_e(value)}"' for key, value in table.attrs.items())
    css = f' class="{_e(table.css_class)}"' if table.css_class else ""
    parts = [f"<table{css}{attrs}>"]
    head = "".join(
        f'<th{" class=num" if n else ""} scope="col">{_e(c)}</th>' for c, n in zip(table.columns, numeric, strict=True)
    )
    parts.append(f"<thead><tr>{head}</tr></thead><tbody>")
    for index, row in enumerate(table.rows):
        cls = ' class="group-start"' if index in table.group_starts and index > 0 else ""
        cells = "".join(
            f'<td class="{"num" if n else ("long-text" if len(cell) > 48 else "text-cell")}">{_e(cell)}</td>'
            for cell, n in zip(row, numeric, strict=True)
        )
        parts.append(f"<tr{cls}>{cells}</tr>")
    parts.append("</tbody></table>")
    body = f'<div class="table-wrap">{"".join(parts)}</div>'
    if table.collapsed:
        return f"<details><summary>{_e(table.caption or 'Table')}</summary>{body}</details>"
    if table.caption:
        return f'<div class="caption">{_e(table.caption)}</div>{body}'
    return body


def _html_block(block: Block, out: list[str]) -> None:
    if isinstance(block, Section):
        level = min(block.level, 6)
        out.append(f'<section id="{_e(block.anchor)}"><h{level}>{_e(block.title)}</h{level}>')
        for child in block.blocks:
            _html_block(child, out)
        out.append("</section>")
    elif isinstance(block, Table):
        out.append(_html_table(block))
    elif isinstance(block, Figure):
        caption = f"<figcaption>{_e(block.caption)}</figcaption>" if block.caption else ""
        out.append(f'<figure><img src="{_e(block.src)}" alt="{_e(block.alt)}">{caption}</figure>')
    elif isinstance(block, Paragraph):
        cls = f' class="{_e(block.kind)}"' if block.kind != "text" else ""
        out.append(f"<p{cls}>{_e(block.text)}</p>")
    else:  # pragma: no cover
        raise TypeError(f"unknown block {block!r}")


def _toc(sections: list[Section]) -> str:
    items = []
    for section in sections:
        children = [c for c in section.blocks if isinstance(c, Section)]
        sub = "".join(f'<li><a href="#{_e(c.anchor)}">{_e(c.title)}</a></li>' for c in children)
        items.append(
            f'<li><a href="#{_e(section.anchor)}">{_e(section.title)}</a>{f"<ul>{sub}</ul>" if sub else ""}</li>'
        )
    return f'<nav class="toc"><strong>Contents</strong><ul>{"".join(items)}</ul></nav>'


def render_html(document: Document, footer: str | None = None) -> str:
    """The whole report as one HTML page with inline CSS; figures are relative ``<img>`` links."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(document.title)}</title><style>{_CSS}</style></head>",
        f"<body><main><h1>{_e(document.title)}</h1>",
    ]
    for block in document.intro:
        _html_block(block, out)
    if document.sections:
        out.append(_toc(document.sections))
    for section in document.sections:
        _html_block(section, out)
    if footer:
        out.append(f"<footer>{_e(footer)}</footer>")
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"
