"""The sample's gold file, checked on what comes out of the running pipeline (raw -> published on Redis)."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import redis

from newswire.enricher.entities.normalize import alias_key
from newswire.runtime.app import Pipeline
from newswire.schemas import PublishedArticle
from newswire.stages import PIPELINE
from tests.conftest import make_settings
from tests.support import SAMPLE_TEXT, delete_prefix, eventually_async, load_gold, unique_prefix

GOLD = load_gold()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def published(redis_url: str) -> AsyncIterator[PublishedArticle]:
    """Publish the sample as a scraper would (text only, no URL) and read the event back with plain redis-py."""
    prefix = unique_prefix()
    settings = make_settings(redis_url, prefix)
    client = redis.Redis.from_url(redis_url)
    client.xadd(settings.keys.raw, {"data": json.dumps({"text": SAMPLE_TEXT.read_text(encoding="utf-8")})})
    pipeline = Pipeline(settings, list(PIPELINE), redis_url)
    await pipeline.start()
    try:

        def published() -> bool:
            if client.xlen(settings.keys.dlq):
                raise RuntimeError(f"the sample was dead-lettered: {client.xrange(settings.keys.dlq)}")
            return int(client.xlen(settings.keys.published)) >= 1

        await eventually_async(published, 60, "the sample published")
    finally:
        await pipeline.stop()
    [(_, fields)] = client.xrange(settings.keys.published)
    yield PublishedArticle.model_validate_json(fields[b"data"])
    delete_prefix(client, prefix)
    client.close()


def fold(text: str) -> str:
    return alias_key(unicodedata.normalize("NFKC", text).casefold())


def entity_matches(entity: Any, gold: dict[str, Any]) -> bool:
    """The gold file's match rule."""
    if gold.get("qid") and entity.id == gold["qid"]:
        return True
    names = {fold(name) for name in gold["names"]}
    return fold(entity.name) in names or any(fold(mention.text) in names for mention in entity.mentions)


@pytest.mark.asyncio(loop_scope="module")
async def test_cleaned_section(published: PublishedArticle) -> None:
    gold = GOLD["cleaned"]
    assert published.headline == gold["title"]
    assert published.published_at is not None
    assert published.published_at.date().isoformat() == gold["date"]["must"]
    assert published.source.name == gold["source_name"]["must"]
    captions = [image.caption for image in published.images]
    assert all(caption in captions for caption in gold["image_captions"]["must"])
    blocks = [(published.body[b.start : b.end], b.kind) for b in published.blocks]
    assert [text for text, _ in blocks] == gold["body_paragraphs_in_order"]
    assert [text for text, kind in blocks if kind == "heading"] == gold["subheadings"]["must"]
    for debris in gold["must_not_appear_in_body"]:
        assert debris not in published.body
    assert gold["title"] not in published.body


@pytest.mark.asyncio(loop_scope="module")
async def test_language_and_topics(published: PublishedArticle) -> None:
    gold = GOLD["enriched"]
    assert published.language == gold["language"]["must"]
    qcodes = {topic.qcode for topic in published.topics}
    assert set(gold["topics"]["must"]) <= qcodes
    assert not qcodes & set(gold["topics"]["must_not"])
    assert qcodes <= set(gold["topics"]["must"]) | set(gold["topics"]["may"])


@pytest.mark.asyncio(loop_scope="module")
async def test_entities(published: PublishedArticle) -> None:
    gold = GOLD["enriched"]["entities"]
    for expected in gold["must"]:
        found = [e for e in published.entities if entity_matches(e, expected)]
        assert found, f"missing {expected['names'][0]}"
        assert any(e.type == expected["type"] for e in found), f"wrong type for {expected['names'][0]}"
        if expected.get("qid"):
            assert any(e.id == expected["qid"] for e in found)
    for forbidden in gold["must_not"]:
        assert not [e for e in published.entities if entity_matches(e, forbidden)], forbidden["names"]
    for entity in published.entities:
        for mention in entity.mentions:
            assert published.body[mention.start : mention.end] == mention.text


@pytest.mark.asyncio(loop_scope="module")
async def test_quotes_and_amounts(published: PublishedArticle) -> None:
    gold = GOLD["enriched"]
    quotes = [(fold(q.speaker), q.text) for q in published.quotes if q.speaker]
    for expected in gold["quotes"]["may"]:
        # A speaker may be named in English or as written: any name the gold gives that person.
        person = next(e for e in gold["entities"]["must"] if expected["speaker"] in e["names"])
        names = {fold(name) for name in person["names"]}
        assert any(speaker in names and text.startswith(expected["text_starts"]) for speaker, text in quotes), expected
    amounts = {(a.text, a.value, a.unit) for a in published.amounts}
    for expected in gold["amounts"]["may"]:
        assert (expected["text"], float(expected["value"]), expected["unit"]) in amounts
