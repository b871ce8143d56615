"""The report as a list of blocks, rendered to Markdown and to one self-contained HTML file.

Blocks: :class:`Heading`, :class:`Paragraph`, :class:`Bullets`, :class:`DataTable` and
:class:`Image` (a PNG by its path relative to the report folder). Text may use ``**bold**``
and ``code`` in backticks; the HTML escapes everything else. The HTML embeds every PNG as a
base64 ``data:`` URI and its style inline, so the file opens anywhere on its own.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Heading:
    """``#`` to ``######`` in Markdown, ``<h1>`` to ``<h6>`` in HTML."""

    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of text."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """An unordered list, one item per line of text."""

    items: Sequence[str]


@dataclass(frozen=True)
class DataTable:
    """A table: a header row and rows of cells (``|`` in a cell is escaped in Markdown)."""

    header: Sequence[str]
    rows: Sequence[Sequence[object]]


@dataclass(frozen=True)
class Image:
    """A PNG of the report folder (``path`` relative to it) with its caption."""

    path: str
    caption: str


Block = Heading | Paragraph | Bullets | DataTable | Image

CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.88rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; }
code { background: #f5f5f5; padding: 0 0.2rem; }
"""

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def _inline_html(text: str) -> str:
    out = html.escape(str(text))
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _CODE.sub(r"<code>\1</code>", out)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {block.text}"
    if isinstance(block, Paragraph):
        return str(block.text)
    if isinstance(block, Bullets):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, DataTable):
        lines = ["| " + " | ".join(_md_cell(h) for h in block.header) + " |",
                 "|" + "|".join("---" for _ in block.header) + "|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    if isinstance(block, Image):
        return f"![{block.caption}]({block.path})\n\n*{block.caption}*"
    raise ValueError(f"unknown block {block!r}")


def to_markdown(blocks: list[Block]) -> str:
    """The blocks as GitHub-flavoured Markdown (images linked by relative path)."""
    return "\n\n".join(_markdown(b) for b in blocks) + "\n"


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _html(block: Block, base: Path) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{_inline_html(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{_inline_html(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, DataTable):
        head = "".join(f"<th>{_inline_html(h)}</th>" for h in block.header)
        rows = "".join("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>" for row in block.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    if isinstance(block, Image):
        return (f'<figure><img alt="{html.escape(block.caption)}" src="{_data_uri(base / block.path)}">'
                f"<figcaption>{_inline_html(block.caption)}</figcaption></figure>")
    raise ValueError(f"unknown block {block!r}")


def to_html(blocks: list[Block], base: Path, title: str) -> str:
    """The blocks as one HTML page; images under ``base`` are embedded as data URIs."""
    body = "\n".join(_html(b, base) for b in blocks)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>\n" + body + "\n</body></html>\n")
