"""Quotations: each mark style, speakers linked to entities, the previous speaker for وأضاف."""

from __future__ import annotations

from typing import Any

import pytest

from newswire.enricher.quotes import extract_quotes
from newswire.schemas.articles import Entity, EntityType
from tests.unit.enricher.conftest import entity_with_mentions


def test_gold_sample_quotes(gold: dict[str, Any], gold_body: str, gold_speakers: list[Entity]) -> None:
    quotes = extract_quotes(gold_body, language="ar", entities=gold_speakers)
    for expected in gold["enriched"]["quotes"]["may"]:
        matching = [q for q in quotes if q.text.startswith(expected["text_starts"])]
        assert matching, expected
        assert matching[0].speaker == expected["speaker"]
    for quote in quotes:
        assert gold_body[quote.start : quote.end] == quote.text
    assert all(q.text != "العربي" for q in quotes)  # a name in quotation marks is not a quotation


def test_added_takes_the_previous_speaker(gold_body: str, gold_speakers: list[Entity]) -> None:
    quotes = extract_quotes(gold_body, language="ar", entities=gold_speakers)
    added = next(q for q in quotes if q.text.startswith("لقد تقدمنا"))
    assert added.speaker_entity_id == "Q7747"


def test_unlinked_speaker_is_the_name_as_written(gold_body: str) -> None:
    quotes = extract_quotes(gold_body, language="ar", entities=[])
    assert next(q for q in quotes if q.text.startswith("أوكرانيا ليست")).speaker == "كرونيغ"


@pytest.mark.parametrize(
    ("body", "text", "speaker"),
    [
        ("“We will win this war,” said John Smith, the minister.", "We will win this war", "John Smith"),
        ('John Smith told reporters: "We will not give up now."', "We will not give up now.", "John Smith"),
        ("„Wir schaffen das“, sagte Merkel.", "Wir schaffen das", "Merkel"),
        ("« Nous allons gagner », a déclaré Marie Dupont.", "Nous allons gagner", "Marie Dupont"),
        ("وأكد الوزير: «سنواصل العمل مع شركائنا».", "سنواصل العمل مع شركائنا", "الوزير"),
    ],
)
def test_mark_styles(body: str, text: str, speaker: str) -> None:
    (quote,) = extract_quotes(body, language=None, entities=[])
    assert quote.text == text
    assert quote.speaker == speaker
    assert body[quote.start : quote.end] == text


def test_speaker_links_to_entity_and_pronoun_to_previous_speaker() -> None:
    body = 'Trump tweeted: "Matt has my complete endorsement." Later "It is a great day," he added.'
    trump = entity_with_mentions(body, "Q22686", "Donald Trump", EntityType.PERSON, "Trump")
    quotes = extract_quotes(body, language="en", entities=[trump])
    assert [q.speaker for q in quotes] == ["Donald Trump", "Donald Trump"]
    assert quotes[0].speaker_entity_id == "Q22686"


def test_quoted_titles_without_speech_verb_are_skipped() -> None:
    assert extract_quotes('The show "Dancing with the Stars" returns on Monday.', language="en", entities=[]) == []
