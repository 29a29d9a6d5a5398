"""Pure transform of the publishing stage: EnrichedArticle -> CloudEvents entry fields (no broker, no I/O).

The revision number is decided atomically in Redis when the event is added (see
services/runtime/forward.lua), so the `data` JSON is built here without it and the event id
is completed there: `<article_id>/r<revision>`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from newswire.schemas import EnrichedArticle, Entity, Paragraph, PublishedArticle, Topic
from newswire.schemas.events import EVENT_SPECVERSION, EVENT_TYPE
from newswire.schemas.published import ArticleEntity, ArticleTopic, Block, DuplicateLink, Source, published_json

# A scraper's source label that is itself a host name (`alaraby.co.uk`) names the domain when there is no URL.
_DOMAIN = re.compile(r"^(?:www\.)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$")


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


def published_article(
    article: EnrichedArticle,
    *,
    revision: int,
    duplicate_of: str | None = None,
    similarity: float | None = None,
) -> PublishedArticle:
    """The v1 article subscribers receive, from the enriched article (internal fields stay behind)."""
    url = article.canonical_url or article.url
    entities = [_entity(entity) for entity in article.entities]
    published_ids = {entity.id: published.id for entity, published in zip(article.entities, entities, strict=True)}
    return PublishedArticle(
        revision=revision,
        article_id=article.article_id,
        url=url,
        fetched_url=article.url if article.url and article.url != url else None,
        headline=article.title,
        summary=article.description,
        body=article.body,
        blocks=_blocks(article.paragraphs),
        language=article.language,
        language_confidence=article.language_confidence if article.language else None,
        languages=article.languages,
        published_at=article.date_published,
        modified_at=article.date_modified,
        received_at=article.received_at,
        source=_source(article),
        authors=article.authors,
        images=article.images,
        sections=article.categories,
        keywords=article.tags,
        word_count=article.word_count,
        topics=[_topic(topic) for topic in article.topics],
        entities=entities,
        quotes=[
            quote.model_copy(update={"speaker_entity_id": published_ids.get(quote.speaker_entity_id)})
            if quote.speaker_entity_id
            else quote
            for quote in article.quotes
        ],
        amounts=article.amounts,
        duplicate_of=(
            DuplicateLink(article_id=duplicate_of, similarity=similarity or 0.0) if duplicate_of is not None else None
        ),
        metadata=article.metadata or None,
    )


def _source(article: EnrichedArticle) -> Source:
    label = (article.source or "").strip() or None
    domain = article.source_domain
    if domain is None and label and (match := _DOMAIN.match(label.lower())):
        domain = match.group(1)
    name = article.source_name
    if label and label.lower() in {(name or "").lower(), domain or "", f"www.{domain}"}:
        label = None
    return Source(name=name, domain=domain, label=label)


def _blocks(paragraphs: list[Paragraph]) -> list[Block]:
    return [Block(kind=p.kind, start=p.start, end=p.start + len(p.text)) for p in paragraphs]


def _topic(topic: Topic) -> ArticleTopic:
    return ArticleTopic(
        qcode=topic.qcode,
        label=topic.label,
        label_local=topic.label_local,
        level=topic.level,
        parent=topic.parent,
        score=topic.score,
    )


def _entity(entity: Entity) -> ArticleEntity:
    return ArticleEntity(
        id=entity.wikidata_id or entity.id,
        type=entity.type,
        name=entity.name,
        name_local=entity.name_local,
        country=entity.country,
        salience=entity.salience,
        mentions=entity.mentions,
    )


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
    published = published_article(article, revision=1, duplicate_of=duplicate_of, similarity=similarity)
    data = published_json(published, exclude={"revision"})
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
