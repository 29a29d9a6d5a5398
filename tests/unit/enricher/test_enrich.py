"""The enrichment transform as a whole: every part wired, bounded work on giant bodies."""

from __future__ import annotations

from datetime import UTC, datetime

from newswire.enricher import enrich
from newswire.schemas import CleanedArticle
from tests.support import load_gold

GOLD = load_gold()
BODY = "\n\n".join(GOLD["cleaned"]["body_paragraphs_in_order"])


def cleaned(body: str) -> CleanedArticle:
    return CleanedArticle(
        title=GOLD["cleaned"]["title"],
        article_id="a",
        body=body,
        content_hash="0" * 64,
        word_count=len(body.split()),
        received_at=datetime(2024, 9, 19, tzinfo=UTC),
    )


def test_every_part_of_the_enrichment_is_filled() -> None:
    enriched = enrich.enrich_article(cleaned(BODY))
    assert enriched.language == "ar"
    assert enriched.title_language is not None and enriched.title_language.code == "ar"
    assert {"medtop:11000000", "medtop:04000000"} <= {topic.qcode for topic in enriched.topics}
    assert "Q7747" in {entity.wikidata_id for entity in enriched.entities}
    assert enriched.quotes and enriched.amounts
    assert enriched.body == BODY


def test_a_giant_body_is_searched_only_up_to_the_limit_and_published_whole() -> None:
    giant = "\n\n".join([BODY] * 300)  # about 1 million characters
    enriched = enrich.enrich_article(cleaned(giant), max_chars=50_000)
    assert enriched.body == giant
    mentions = [m for entity in enriched.entities for m in entity.mentions]
    assert mentions and max(m.end for m in mentions) <= 50_000
    assert all(q.end <= 50_000 for q in enriched.quotes)
    assert all(a.end <= 50_000 for a in enriched.amounts)
