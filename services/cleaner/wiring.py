"""Wiring of the cleaning stage: raw entry -> clean_article -> source templates (per batch) -> cleaned entry."""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from newswire.cleaner.clean import clean_article, clean_article_with_lines, without_paragraphs
from newswire.cleaner.intake import read_raw_entry
from newswire.cleaner.normalize import comparison_key
from newswire.cleaner.templates import (
    TEMPLATE_ARTICLES,
    TEMPLATE_LINES_REMOVED,
    TemplateLookup,
    TemplateStore,
    line_fingerprint,
    source_of,
)
from newswire.enricher import language
from newswire.errors import ArticleRefused
from newswire.runtime.delivery import Entry, Forward, Outcome
from newswire.runtime.entries import entry_time
from newswire.runtime.settings import Settings
from newswire.schemas import CleanedArticle, RawArticle

# Lines of one article the template store reads (a bound on one script call; page furniture comes first anyway).
_MAX_TEMPLATE_LINES = 500


@dataclass(slots=True)
class CleanedForward(Forward):
    """A cleaned article to forward, with what the template step needs once the batch is resolved."""

    article: CleanedArticle | None = None
    lookup: TemplateLookup | None = None


def template_key_prefix(settings: Settings) -> str:
    """Prefix of the template store's keys, under the shared keys' hash tag (`{newswire}:templates:`).

    Shared by every partition: a source's articles are spread over the partitions by identity.
    """
    return settings.keys.templates + ":"


def _identities(article: CleanedArticle) -> list[str]:
    """What names one story across its updates: its id, its URL, its headline."""
    names = [f"id:{article.article_id}"]
    if article.canonical_url:
        names.append(f"url:{article.canonical_url}")
    if article.title and comparison_key(article.title):
        names.append(f"title:{comparison_key(article.title)}")
    return [hashlib.blake2b(name.encode(), digest_size=8).hexdigest() for name in names]


class CleanerStage:
    """Reads raw entries (either format), cleans them, removes source templates, forwards CleanedArticle JSON."""

    def __init__(self, settings: Settings) -> None:
        self.max_bytes = settings.max_article_bytes
        self.templates = TemplateStore(template_key_prefix(settings))

    def warm_up(self) -> None:
        """Clean one small page and one text, so lexicons and extractor caches load before the first article, and
        load the language identifier."""
        language.warm_up()
        received = datetime.now(UTC)
        page = "<html><head><title>Warm-up</title></head><body><article><p>Warm-up text.</p></article></body></html>"
        for raw in (
            RawArticle(html=page, url="https://example.com/warm-up"),
            RawArticle(title="Warm-up", text="Warm-up text.\n\nSecond paragraph."),
        ):
            # A refusal is fine here: what matters is that everything the cleaner reads got loaded.
            with contextlib.suppress(ArticleRefused):
                clean_article(raw, received_at=received)

    def process(self, entry: Entry) -> Outcome:
        raw = read_raw_entry(entry.fields, max_bytes=self.max_bytes)
        cleaned, lines = clean_article_with_lines(raw.article, received_at=entry_time(entry.id))
        fields: list[tuple[str, str]] = []
        if raw.traceparent:
            cleaned = cleaned.model_copy(update={"traceparent": raw.traceparent})
            fields.append(("traceparent", raw.traceparent))
        source = source_of(cleaned.source_domain, raw.article.source)
        lookup = None
        if source is not None:
            lookup = TemplateLookup(source, _identities(cleaned), lines[:_MAX_TEMPLATE_LINES])
        else:
            TEMPLATE_ARTICLES.labels("cleaner", "no_source").inc()
        return CleanedForward(
            cleaned.article_id, [("data", cleaned.model_dump_json()), *fields], article=cleaned, lookup=lookup
        )

    async def resolve(self, redis: Redis, outcomes: list[Outcome]) -> list[Outcome]:
        """Look the batch's lines up in the shared source templates (learning from them) and drop template lines;
        then identify the languages of what is forwarded, for the enricher (the `language` field)."""
        pending = [
            outcome
            for outcome in outcomes
            if isinstance(outcome, CleanedForward) and outcome.lookup is not None and outcome.article is not None
        ]
        found = await self.templates.match_and_learn(redis, [o.lookup for o in pending if o.lookup], time.time())
        for outcome, template in zip(pending, found, strict=True):
            if template and outcome.article is not None:
                _drop_template(outcome, outcome.article, template)
        for forward in outcomes:
            if isinstance(forward, CleanedForward) and forward.article is not None:
                forward.fields = [*forward.fields, _languages_field(forward.article)]
        return outcomes


def _drop_template(outcome: CleanedForward, article: CleanedArticle, template: set[bytes]) -> None:
    dropped = {index for index, p in enumerate(article.paragraphs) if line_fingerprint(p.text) in template}
    if not dropped:
        return
    if len(dropped) == len(article.paragraphs):
        # Never the reason an article is emptied: a page that is all template keeps what the cleaner kept.
        TEMPLATE_ARTICLES.labels("cleaner", "kept_whole").inc()
        return
    cleaned = without_paragraphs(article, dropped)
    TEMPLATE_LINES_REMOVED.labels("cleaner").inc(len(dropped))
    outcome.article = cleaned
    outcome.fields = [("data", cleaned.model_dump_json()) if name == "data" else (name, value)
                      for name, value in outcome.fields]  # fmt: skip


def _languages_field(article: CleanedArticle) -> tuple[str, bytes]:
    """The article's languages for the enricher, identified here: the cleaner has CPU to spare, the enricher
    bounds the pipeline (see `newswire.enricher.language`)."""
    return "language", language.encode_report(language.detect_languages(article.body, article.title))
