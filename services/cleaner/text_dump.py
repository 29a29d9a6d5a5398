"""A crawler's plain-text dump of an HTML page (as in Common Crawl WET files): one line per block element.

The extraction benchmark and the line model's build script turn the benchmark's pages into text with this,
so the text-mode figures measure what scrapers that send `text` actually send.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from newswire.cleaner.html_page import parse_html_within_limits

_DROPPED = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_BLOCKS = frozenset(
    {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "br", "section", "article",
     "header", "footer", "nav", "aside", "blockquote", "figure", "figcaption", "dd", "dt", "pre", "form", "table",
     "main"}
)  # fmt: skip
_WHITESPACE = re.compile(r"\s+")


def _walk(element: HtmlElement, parts: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    tag = tag.rsplit("}", 1)[-1].lower()
    if tag in _DROPPED:
        if element.tail:
            parts.append(element.tail)
        return
    block = tag in _BLOCKS
    if block:
        parts.append("\n")
    if isinstance(element.tag, str) and element.text:
        parts.append(element.text)
    for child in element:
        _walk(child, parts)
    if block:
        parts.append("\n")
    if element.tail:
        parts.append(element.tail)


def html_to_text_dump(html: str) -> str:
    """The page's text with a line break around every block element, whitespace collapsed, no empty lines."""
    tree = parse_html_within_limits(html)
    parts: list[str] = []
    _walk(tree, parts)
    lines = (_WHITESPACE.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)
