"""An article body as HTML with its entities, quotes and amounts marked, every piece of text escaped.

Pure: the body and the spans come from a published article; nothing here reads Redis.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

# Outer kinds may contain inner ones (a quote contains the names it mentions); spans of one rank that
# cross each other cannot both be drawn, so the earlier and longer one wins.
_RANK = {"quote": 0, "entity": 1, "amount": 1}
_WIKIDATA_ID = re.compile(r"Q[1-9][0-9]*")


@dataclass(slots=True)
class Span:
    """One highlighted stretch of the body: [start, end) with the attributes of its `<mark>`."""

    start: int
    end: int
    kind: str
    title: str
    attributes: dict[str, str] = field(default_factory=dict)
    children: list[Span] = field(default_factory=list)


def spans_of(article: Mapping[str, Any]) -> list[Span]:
    """Every entity mention, quote and amount of a published article, as spans (bad offsets skipped)."""
    length = len(article.get("body") or "")
    found: list[Span] = []
    for entity in _dicts(article.get("entities")):
        for mention in _dicts(entity.get("mentions")):
            found.append(_entity_span(entity, mention))
    for quote in _dicts(article.get("quotes")):
        speaker = quote.get("speaker")
        title = f"quote by {speaker}" if speaker else "quote, speaker unknown"
        found.append(Span(_int(quote.get("start")), _int(quote.get("end")), "quote", title))
    for amount in _dicts(article.get("amounts")):
        unit = amount.get("unit")
        title = f"{amount.get('kind', 'amount')}: {format_number(amount.get('value'))}{' ' + str(unit) if unit else ''}"
        found.append(Span(_int(amount.get("start")), _int(amount.get("end")), "amount", title))
    return [span for span in found if 0 <= span.start < span.end <= length]


def highlight_body(article: Mapping[str, Any]) -> Markup:
    """The body as HTML: plain text escaped, each span a `<mark>` with a `title` for the hover."""
    body = str(article.get("body") or "")
    return _render(body, 0, len(body), _nest(spans_of(article)))


def _entity_span(entity: Mapping[str, Any], mention: Mapping[str, Any]) -> Span:
    name = str(entity.get("name") or mention.get("text") or "")
    wikidata = wikidata_id(entity)
    kind = str(entity.get("type") or "entity")
    title = f"{name} ({kind})" + (f" · Wikidata {wikidata}" if wikidata else "")
    attributes = {"data-entity-id": str(entity.get("id") or ""), "data-entity-type": kind, "data-name": name}
    if wikidata:
        attributes["data-wikidata"] = wikidata
    return Span(_int(mention.get("start")), _int(mention.get("end")), "entity", title, attributes)


def wikidata_id(entity: Mapping[str, Any]) -> str | None:
    """The entity's Wikidata id: v1 `id` when it is one (`Q…`), else the older `wikidata_id` field."""
    for value in (entity.get("wikidata_id"), entity.get("id")):
        if isinstance(value, str) and _WIKIDATA_ID.fullmatch(value):
            return value
    return None


def _nest(spans: list[Span]) -> list[Span]:
    """Top-level spans with the spans they contain as children; a span crossing a kept one is dropped."""
    ordered = sorted(spans, key=lambda s: (s.start, -(s.end - s.start), _RANK.get(s.kind, 2)))
    roots: list[Span] = []
    stack: list[Span] = []
    for span in ordered:
        while stack and stack[-1].end <= span.start:
            stack.pop()
        if stack and span.end > stack[-1].end:
            continue  # crosses the enclosing span's end: cannot be drawn as nested marks
        if stack and _RANK.get(span.kind, 2) <= _RANK.get(stack[-1].kind, 2) and span.kind != "quote":
            continue  # an entity inside an entity (overlapping mentions): the first, longer one is enough
        (stack[-1].children if stack else roots).append(span)
        stack.append(span)
    return roots


def _render(body: str, start: int, end: int, spans: list[Span]) -> Markup:
    parts: list[Markup] = []
    position = start
    for span in spans:
        parts.append(escape(body[position : span.start]))
        attributes = "".join(
            Markup(' {}="{}"').format(name, value) for name, value in sorted(span.attributes.items())
        )
        inner = _render(body, span.start, span.end, span.children)
        if span.kind == "entity" and "data-wikidata" in span.attributes:
            inner = Markup('<a href="https://www.wikidata.org/wiki/{}" rel="noreferrer noopener" '
                           'target="_blank">{}</a>').format(span.attributes["data-wikidata"], inner)
        parts.append(
            Markup('<mark class="hl hl-{}" title="{}"{}>{}</mark>').format(
                span.kind, span.title, Markup(attributes), inner
            )
        )
        position = span.end
    parts.append(escape(body[position:end]))
    return Markup("").join(parts)


def _dicts(value: Any) -> Iterable[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def format_number(value: Any) -> str:
    """A number for people: thousands separated, no `.0` on whole values."""
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return f"{value:,}" if isinstance(value, int | float) else str(value)
