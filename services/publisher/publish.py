"""Pure transform of the publishing stage: EnrichedArticle -> CloudEvents entry fields (no broker, no I/O).

The revision number is decided atomically in Redis when the event is added (see
services/runtime/forward.lua), so the `data` JSON is built here without it and the event id
is completed there: `<article_id>/r<revision>`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from newswire.schemas import EnrichedArticle, PublishedArticle
from newswire.schemas.events import EVENT_SPECVERSION, EVENT_TYPE


@dataclass(frozen=True, slots=True)
class EventDraft:
    """A published event awaiting its revision number."""

    article_id: str
    identity: str
    content_hash: str
    fields: list[tuple[str, str]]


def article_identity(article: EnrichedArticle) -> str:
    """What makes two submissions the same article: canonical URL, else the scraper's id, else the content."""
    url = article.canonical_url or article.url
    if url:
        key = "url:" + url
    elif article.id:
        key = "id:" + article.id
    else:
        key = "hash:" + article.content_hash
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def draft_event(
    article: EnrichedArticle,
    *,
    now: datetime,
    default_source: str,
    schema_url: str,
    duplicate_of: str | None = None,
    similarity: float | None = None,
    traceparent: str | None = None,
) -> EventDraft:
    """Build the event's fields; `id` and `data` are completed with the revision when it is added."""
    published = PublishedArticle.model_construct(
        **dict(article),
        revision=1,
        duplicate_of=duplicate_of,
        similarity=similarity,
        published_at_pipeline=now,
    )
    data = published.model_dump_json(exclude={"revision"})
    fields = [
        ("specversion", EVENT_SPECVERSION),
        ("id", ""),
        ("source", article.canonical_url or default_source),
        ("type", EVENT_TYPE),
        ("time", now.isoformat()),
        ("subject", article.article_id),
        ("datacontenttype", "application/json"),
        ("dataschema", schema_url),
    ]
    # The trace context that came with the entry (this stage's span when tracing is on), else the scraper's.
    trace_context = traceparent or article.traceparent
    if trace_context:
        fields.append(("traceparent", trace_context))
    # Without its opening brace: the revision member is put first when the event is added.
    fields.append(("data", data[1:]))
    return EventDraft(article.article_id, article_identity(article), article.content_hash, fields)
