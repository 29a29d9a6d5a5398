"""Wiring of the cleaning stage: raw entry -> clean_article -> cleaned entry."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from newswire.cleaner.clean import clean_article
from newswire.cleaner.intake import read_raw_entry
from newswire.errors import ArticleRefused
from newswire.runtime.delivery import Entry, Forward, Outcome
from newswire.runtime.entries import entry_time
from newswire.runtime.settings import Settings
from newswire.schemas import RawArticle


class CleanerStage:
    """Reads raw entries (either format), cleans them, forwards CleanedArticle JSON."""

    def __init__(self, settings: Settings) -> None:
        self.max_bytes = settings.max_article_bytes

    def warm_up(self) -> None:
        """Clean one small page and one text, so lexicons and extractor caches load before the first article."""
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
        cleaned = clean_article(raw.article, received_at=entry_time(entry.id))
        fields: list[tuple[str, str]] = []
        if raw.traceparent:
            cleaned = cleaned.model_copy(update={"traceparent": raw.traceparent})
            fields.append(("traceparent", raw.traceparent))
        return Forward(cleaned.article_id, [("data", cleaned.model_dump_json()), *fields])
