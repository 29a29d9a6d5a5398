"""The enrichment transform as a whole: every part wired, bounded work on giant bodies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from newswire.enricher import enrich
from newswire.enricher.language import LanguageReport, encode_report
from newswire.enricher.wiring import EnricherStage
from newswire.runtime.delivery import Entry, Forward
from newswire.runtime.settings import Settings
from newswire.schemas import CleanedArticle, EnrichedArticle, LanguageGuess
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


def stage_entry(body: str, **fields: bytes) -> Entry:
    extra = {name.encode(): value for name, value in fields.items()}
    return Entry(b"1-1", {b"data": cleaned(body).model_dump_json().encode(), **extra})


def test_the_enricher_takes_the_languages_the_cleaner_identified() -> None:
    stage = EnricherStage(Settings())
    handed = LanguageReport(body=LanguageGuess(code="fa", confidence=0.5), title=None)
    outcome = stage.process(stage_entry(BODY, language=encode_report(handed)))
    assert isinstance(outcome, Forward)
    enriched = EnrichedArticle.model_validate_json(dict(outcome.fields)["data"])
    assert (enriched.language, enriched.language_confidence, enriched.title_language) == ("fa", 0.5, None)


def test_without_a_readable_language_field_the_enricher_detects_it() -> None:
    stage = EnricherStage(Settings())
    for entry in (stage_entry(BODY), stage_entry(BODY, language=b"{not json"), stage_entry(BODY, language=b"[]")):
        outcome = stage.process(entry)
        assert isinstance(outcome, Forward)
        enriched = EnrichedArticle.model_validate_json(dict(outcome.fields)["data"])
        assert enriched.language == "ar"
        assert enriched.title_language is not None and enriched.title_language.code == "ar"


def test_a_prepared_batch_is_enriched_as_its_entries_are_one_by_one() -> None:
    english = "Halvard Ostrem, the chief executive of Kestrel Shipping, met officials in Oslo on Monday."
    entries = [
        Entry(b"1-1", stage_entry(BODY).fields),
        Entry(b"1-2", stage_entry(english).fields),
        Entry(b"1-3", stage_entry(BODY[:300], language=b"{not json").fields),
        Entry(b"1-4", {b"data": b"{not a cleaned article"}),
    ]
    alone = EnricherStage(Settings())
    expected = [alone.process(entry) for entry in entries[:3]]
    stage = EnricherStage(Settings(max_analysed_chars=1_000))
    stage.prepare(entries)
    limited = EnricherStage(Settings(max_analysed_chars=1_000))
    for entry, one in zip(entries, [*expected, None], strict=True):
        if one is None:
            # Not decodable: left out of the batch step, and failed by `process` as before.
            with pytest.raises(ValidationError):
                stage.process(entry)
            continue
        outcome = stage.process(entry)
        assert isinstance(outcome, Forward) and isinstance(one, Forward)
        assert outcome == limited.process(entry)
    # With the default limit, the batch gives what each entry gives alone.
    stage = EnricherStage(Settings())
    stage.prepare(entries)
    assert [stage.process(entry) for entry in entries[:3]] == expected
