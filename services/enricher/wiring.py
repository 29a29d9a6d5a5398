"""Wiring of the enrichment stage: cleaned entry -> enrich_article -> enriched entry."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from pydantic import ValidationError
from threadpoolctl import threadpool_limits

from newswire.enricher import enrich, language
from newswire.runtime.delivery import Entry, Forward, Outcome
from newswire.runtime.settings import Settings
from newswire.schemas import CleanedArticle
from newswire.schemas.articles import Entity

log = structlog.get_logger("newswire.enricher")


class EnricherStage:
    """Reads CleanedArticle JSON, enriches it, forwards EnrichedArticle JSON."""

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.max_analysed_chars
        # What `prepare` decoded and found for the current batch, by entry id; `process` takes it from here.
        self._prepared: dict[bytes, tuple[CleanedArticle, language.LanguageReport, list[Entity]]] = {}

    def warm_up(self) -> None:
        # One BLAS thread: the stage scales by worker processes, and for the entity recogniser's small matrix
        # products numpy's BLAS would otherwise start a thread per core and keep them spinning, taking the CPU
        # other workers need (on two cores it doubled the enricher's CPU time per article).
        threadpool_limits(limits=1, user_api="blas")
        # The cleaner identifies languages (the `language` field); the identifier loads here only for an entry
        # without one.
        enrich.warm_up(languages=False)

    def prepare(self, entries: Sequence[Entry]) -> None:
        """Decode the batch and find the entities of all its articles in one go (`enrich.find_entities`); an entry
        that does not decode is left to `process`, which fails it as before."""
        self._prepared.clear()
        decoded: list[tuple[bytes, CleanedArticle, language.LanguageReport]] = []
        for entry in entries:
            try:
                cleaned = CleanedArticle.model_validate_json(entry.fields[b"data"])
            except (KeyError, ValidationError):
                continue
            languages = self._languages(entry, cleaned)
            if languages is None:
                languages = language.detect_languages(cleaned.body, cleaned.title)
            decoded.append((entry.id, cleaned, languages))
        found = enrich.find_entities([(cleaned, report) for _, cleaned, report in decoded], max_chars=self.max_chars)
        self._prepared = {
            entry_id: (cleaned, report, entities)
            for (entry_id, cleaned, report), entities in zip(decoded, found, strict=True)
        }

    def process(self, entry: Entry) -> Outcome:
        prepared = self._prepared.pop(entry.id, None)
        if prepared is None:
            cleaned = CleanedArticle.model_validate_json(entry.fields[b"data"])
            languages, entities = self._languages(entry, cleaned), None
        else:
            cleaned, languages, entities = prepared
        enriched = enrich.enrich_article(cleaned, max_chars=self.max_chars, languages=languages, entities=entities)
        fields: list[tuple[str | bytes, str | bytes]] = [("data", enriched.model_dump_json())]
        if b"traceparent" in entry.fields:
            fields.append(("traceparent", entry.fields[b"traceparent"]))
        return Forward(enriched.article_id, fields)

    @staticmethod
    def _languages(entry: Entry, cleaned: CleanedArticle) -> language.LanguageReport | None:
        """The languages the cleaner identified (the `language` field); None when it is missing or unreadable."""
        if b"language" not in entry.fields:
            return None
        try:
            return language.decode_report(entry.fields[b"language"])
        except ValueError as error:
            # Not worth a dead letter: the languages are detected here instead.
            log.warning("language_field_unreadable", article_id=cleaned.article_id, error=str(error))
            return None
