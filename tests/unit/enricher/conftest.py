"""Shared inputs for the enrichment unit tests: the gold sample and hand-built speaker entities."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from newswire.schemas.articles import CleanedArticle, Entity, EntityType, Mention
from tests.support import SAMPLE_GOLD as GOLD_PATH


@pytest.fixture(scope="session")
def gold() -> dict[str, Any]:
    return json.loads(GOLD_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def gold_body(gold: dict[str, Any]) -> str:
    return "\n\n".join(gold["cleaned"]["body_paragraphs_in_order"])


def make_article(body: str, title: str | None = None) -> CleanedArticle:
    return CleanedArticle(
        text=body,
        title=title,
        article_id="test",
        body=body,
        content_hash="0" * 64,
        word_count=len(body.split()),
        received_at=datetime(2024, 9, 19, tzinfo=UTC),
    )


def entity_with_mentions(body: str, entity_id: str, name: str, kind: EntityType, *forms: str) -> Entity:
    """An entity whose mentions are every occurrence of the given forms in body."""
    mentions = []
    for form in forms:
        start = body.find(form)
        while start != -1:
            mentions.append(Mention(text=form, start=start, end=start + len(form)))
            start = body.find(form, start + len(form))
    return Entity(id=entity_id, type=kind, name=name, mentions=mentions, salience=0.5)


@pytest.fixture(scope="session")
def gold_speakers(gold_body: str) -> list[Entity]:
    return [
        entity_with_mentions(gold_body, "Q7747", "Vladimir Putin", EntityType.PERSON, "فلاديمير بوتين", "بوتين"),
        entity_with_mentions(gold_body, "Q15031", "Xi Jinping", EntityType.PERSON, "شي جين بينغ"),
        entity_with_mentions(gold_body, "nw:matuzov", "Vyacheslav Matuzov", EntityType.PERSON, "فيتشسلاف ماتوزوف"),
        entity_with_mentions(gold_body, "nw:kroenig", "Matthew Kroenig", EntityType.PERSON, "ماثيو كرونيغ", "كرونيغ"),
        entity_with_mentions(gold_body, "nw:peskov", "Dmitry Peskov", EntityType.PERSON, "دميتري بيسكوف"),
    ]
