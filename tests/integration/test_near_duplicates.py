"""Syndicated copies from other URLs are published with `duplicate_of` the first article, via the shared index."""

from __future__ import annotations

import json

import redis

from newswire.runtime.app import Pipeline
from newswire.stages import stage_named
from tests.conftest import make_settings
from tests.support import eventually_async, load_gold

STORY = load_gold()["cleaned"]["body_paragraphs_in_order"]


async def test_a_syndicated_copy_points_at_the_first_article(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix)
    first = {"url": "https://alaraby.example/story", "title": "تقارب", "text": "\n\n".join(STORY)}
    copy = {
        "url": "https://mirror.example/news/123",
        "title": "تقارب روسي صيني",
        "text": "\n\n".join(STORY[1:-1]) + "\n\nالمصدر: وكالات",
    }
    unrelated = {
        "url": "https://other.example/rates",
        "title": "Rates rise",
        "text": "The central bank raised its main interest rate by half a percentage point on Thursday, the third "
        "increase this year, as inflation stayed well above target. Economists had expected a smaller move.",
    }
    # Two publisher workers share the index: the copy is handled by the second one.
    publishers = [Pipeline(settings, [stage_named("publisher")], redis_url) for _ in range(2)]
    upstream = Pipeline(settings, [stage_named("cleaner"), stage_named("enricher")], redis_url)
    for pipeline in (upstream, *publishers):
        await pipeline.start()
    try:
        sync_redis.xadd(settings.keys.raw, {"data": json.dumps(first)})
        await eventually_async(lambda: sync_redis.xlen(settings.keys.published) >= 1, 30, "the first article")
        for document in (copy, unrelated):
            sync_redis.xadd(settings.keys.raw, {"data": json.dumps(document)})
        await eventually_async(lambda: sync_redis.xlen(settings.keys.published) >= 3, 30, "all three articles")
    finally:
        for pipeline in (upstream, *publishers):
            await pipeline.stop()

    articles = {a["url"]: a for a in (json.loads(f[b"data"]) for _, f in sync_redis.xrange(settings.keys.published))}
    original = articles[first["url"]]
    assert "duplicate_of" not in original
    assert articles[copy["url"]]["duplicate_of"]["article_id"] == original["article_id"]
    assert 0.5 <= articles[copy["url"]]["duplicate_of"]["similarity"] <= 1.0
    assert "duplicate_of" not in articles[unrelated["url"]]
