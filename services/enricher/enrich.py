"""Pure transform of the enrichment stage: CleanedArticle -> EnrichedArticle (no broker, no I/O)."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Sequence

from newswire.enricher import amounts, language, quotes, topics
from newswire.enricher.entities import ArticleText, link_entities, load_linker
from newswire.schemas import CleanedArticle, EnrichedArticle
from newswire.schemas.articles import Entity


def warm_up(*, languages: bool = True) -> None:
    """Load the models and lexicons once, at worker start, so the first article is not slow. `languages=False`
    leaves the language identifier to be loaded on first use: the enricher worker gets each article's languages
    from the cleaner (see `language`)."""
    if languages:
        language.warm_up()
    load_linker()
    topics.warm_up()
    quotes.warm_up()
    amounts.warm_up()
    release_freed_memory()


def release_freed_memory() -> None:
    """Hand the heap memory freed while the models were read (decompression buffers, lists turned into dicts) back
    to the system: glibc keeps it for reuse, and a worker would carry about 20 MB it never uses again. Nothing
    happens where the C library has no `malloc_trim` (macOS, musl)."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


# A news article is rarely over 100,000 characters; past this (NEWSWIRE_MAX_ANALYSED_CHARS), entities, quotes,
# amounts and topics are looked for in the beginning only, so one giant entry cannot hold a worker for minutes.
DEFAULT_MAX_ANALYSED_CHARS = 100_000


def enrich_article(
    cleaned: CleanedArticle,
    *,
    max_chars: int = DEFAULT_MAX_ANALYSED_CHARS,
    languages: language.LanguageReport | None = None,
    entities: list[Entity] | None = None,
) -> EnrichedArticle:
    """Detect what the article is and what it is about. `languages`: the article's languages when the cleaner
    identified them already (detected here otherwise); `entities`: its entities when `find_entities` found them
    already, with the same `max_chars` and languages."""
    report = languages if languages is not None else language.detect_languages(cleaned.body, cleaned.title)
    code = report.body.code if report.body else None
    # A prefix of the body, so every offset found in it is an offset into the body too.
    body = cleaned.body[:max_chars]
    analysed = cleaned if len(body) == len(cleaned.body) else cleaned.model_copy(update={"body": body})
    if entities is None:
        entities = link_entities(body, language=code, title=cleaned.title)
    return EnrichedArticle(
        **cleaned.model_dump(exclude={"language"}),
        language=code,
        language_confidence=report.body.confidence if report.body else 0.0,
        title_language=report.title,
        languages=report.mixed,
        entities=entities,
        topics=topics.classify_topics(analysed, language=code, entities=entities),
        quotes=quotes.extract_quotes(body, language=code, entities=entities),
        amounts=amounts.extract_amounts(body, language=code),
    )


def find_entities(
    articles: Sequence[tuple[CleanedArticle, language.LanguageReport]],
    *,
    max_chars: int = DEFAULT_MAX_ANALYSED_CHARS,
) -> list[list[Entity]]:
    """The entities `enrich_article` would find in each article, found for many articles at once: the entity
    recogniser tags a batch together at a lower cost per article than one by one."""
    texts = [
        ArticleText(cleaned.body[:max_chars], report.body.code if report.body else None, cleaned.title)
        for cleaned, report in articles
    ]
    return load_linker().link_many(texts)
