"""Wiring of the enrichment stage: cleaned entry -> enrich_article -> enriched entry."""

from __future__ import annotations

import structlog
from threadpoolctl import threadpool_limits

from newswire.enricher import enrich, language
from newswire.runtime.delivery import Entry, Forward, Outcome
from newswire.runtime.settings import Settings
from newswire.schemas import CleanedArticle

log = structlog.get_logger("newswire.enricher")


class EnricherStage:
    """Reads CleanedArticle JSON, enriches it, forwards EnrichedArticle JSON."""

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.max_analysed_chars

    def warm_up(self) -> None:
        # One BLAS thread: the stage scales by worker processes, and for the entity recogniser's small matrix
        # products numpy's BLAS would otherwise start a thread per core and keep them spinning, taking the CPU
        # other workers need (on two cores it doubled the enricher's CPU time per article).
        threadpool_limits(limits=1, user_api="blas")
        # The cleaner identifies languages (the `language` field); the identifier loads here only for an entry
        # without one.
        enrich.warm_up(languages=False)

    def process(self, entry: Entry) -> Outcome:
        cleaned = CleanedArticle.model_validate_json(entry.fields[b"data"])
        languages = None
        if b"language" in entry.fields:
            try:
                languages = language.decode_report(entry.fields[b"language"])
            except ValueError as error:
                # Not worth a dead letter: the languages are detected here instead.
                log.warning("language_field_unreadable", article_id=cleaned.article_id, error=str(error))
        enriched = enrich.enrich_article(cleaned, max_chars=self.max_chars, languages=languages)
        fields: list[tuple[str | bytes, str | bytes]] = [("data", enriched.model_dump_json())]
        if b"traceparent" in entry.fields:
            fields.append(("traceparent", entry.fields[b"traceparent"]))
        return Forward(enriched.article_id, fields)
