"""Wiring of the cleaning stage: raw entry -> clean_article -> cleaned entry."""

from __future__ import annotations

from services.cleaner.clean import clean_article
from services.cleaner.intake import read_raw_entry
from services.runtime.delivery import Entry, Forward, Outcome
from services.runtime.entries import entry_time
from services.runtime.settings import Settings


class CleanerStage:
    """Reads raw entries (either format), cleans them, forwards CleanedArticle JSON."""

    stage = "cleaner"

    def __init__(self, settings: Settings) -> None:
        self.max_bytes = settings.max_article_bytes

    def warm_up(self) -> None:
        """Nothing to preload; the first article pays trafilatura's import-time costs already paid at import."""

    def process(self, entry: Entry) -> Outcome:
        raw = read_raw_entry(entry.fields, max_bytes=self.max_bytes)
        cleaned = clean_article(raw.article, received_at=entry_time(entry.id))
        fields: list[tuple[str, str]] = []
        if raw.traceparent:
            cleaned = cleaned.model_copy(update={"traceparent": raw.traceparent})
            fields.append(("traceparent", raw.traceparent))
        return Forward(cleaned.article_id, [("data", cleaned.model_dump_json()), *fields])
