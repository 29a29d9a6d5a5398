"""Pure transform of the enrichment stage: CleanedArticle -> EnrichedArticle (no broker, no I/O)."""

from __future__ import annotations

from schemas import CleanedArticle, EnrichedArticle
from services.enricher import amounts, language, quotes, topics
from services.enricher.entities import link_entities, load_linker


def warm_up() -> None:
    """Load the models and lexicons once, at worker start, so the first article is not slow."""
    language.warm_up()
    load_linker()
    topics.warm_up()
    quotes.warm_up()
    amounts.warm_up()


def enrich_article(cleaned: CleanedArticle) -> EnrichedArticle:
    """Detect what the article is and what it is about."""
    report = language.detect_languages(cleaned.body, cleaned.title)
    code = report.body.code if report.body else None
    entities = link_entities(cleaned.body, language=code, title=cleaned.title)
    return EnrichedArticle(
        **cleaned.model_dump(exclude={"language"}),
        language=code,
        language_confidence=report.body.confidence if report.body else 0.0,
        title_language=report.title,
        languages=report.mixed,
        entities=entities,
        topics=topics.classify_topics(cleaned, language=code, entities=entities),
        quotes=quotes.extract_quotes(cleaned.body, language=code, entities=entities),
        amounts=amounts.extract_amounts(cleaned.body, language=code),
    )
