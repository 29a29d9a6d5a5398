"""Pure transform of the enrichment stage: CleanedArticle -> EnrichedArticle (no broker, no I/O)."""

from __future__ import annotations

from functools import cache

from lingua import LanguageDetector, LanguageDetectorBuilder

from schemas import CleanedArticle, EnrichedArticle
from services.enricher.entities import link_entities, load_linker


@cache
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def warm_up() -> None:
    """Load the models once, at worker start, so the first article is not slow."""
    _detector()
    load_linker()


def enrich_article(cleaned: CleanedArticle) -> EnrichedArticle:
    """Detect what the article is and what it is about."""
    language = None
    confidence = 0.0
    values = _detector().compute_language_confidence_values(cleaned.body[:4000])
    if values:
        best = values[0]
        language = best.language.iso_code_639_1.name.lower()
        confidence = round(best.value, 4)
    entities = link_entities(cleaned.body, language=language, title=cleaned.title)
    return EnrichedArticle(
        **cleaned.model_dump(exclude={"language"}),
        language=language,
        language_confidence=confidence,
        entities=entities,
    )
