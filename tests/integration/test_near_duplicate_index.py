"""The near-duplicate index's script on a real Redis: matches inside a batch and across batches, the window,
revisions of one article, and a full Redis refusing a batch before changing anything."""

from __future__ import annotations

import pytest
import redis.asyncio
from redis.exceptions import ResponseError

from newswire.publisher.duplicate_index import NearDuplicateIndex
from newswire.publisher.near_duplicates import Signature, signature
from newswire.runtime.pressure import is_out_of_memory
from newswire.runtime.settings import StreamKeys
from tests.support import SAMPLE_TEXT, RedisServer

PARAGRAPHS = [p for p in SAMPLE_TEXT.read_text(encoding="utf-8").split("\n") if len(p.split()) > 8]
OTHER_STORY = (
    "The central bank raised its main interest rate by half a percentage point on Thursday, the third increase "
    "this year, as inflation stayed well above target. Economists had expected a smaller move, and markets fell "
    "in the afternoon as traders priced in further rises before the end of the year."
)


def _signature(text: str) -> Signature:
    value = signature(text)
    assert value is not None, "test text too short for a signature"
    return value


STORY = _signature("\n".join(PARAGRAPHS))
STORY_COPY = _signature("\n".join(PARAGRAPHS[1:]) + "\nالمصدر: وكالات")
UNRELATED = _signature(OTHER_STORY)


def _index(prefix: str, window_s: int = 3600) -> NearDuplicateIndex:
    return NearDuplicateIndex(StreamKeys(prefix).near_duplicates, window_s, 0.6)


async def test_a_copy_in_a_later_batch_and_in_the_same_batch_points_at_the_first(
    async_redis: redis.asyncio.Redis, prefix: str
) -> None:
    index = _index(prefix)
    first = await index.match_and_add(async_redis, [("first", STORY), ("other", UNRELATED)], 1000.0)
    assert first == {}
    later = await index.match_and_add(async_redis, [("copy", STORY_COPY), ("copy-2", STORY)], 1001.0)
    assert set(later) == {"copy", "copy-2"}
    assert later["copy"].first_article_id == "first"
    assert 0.6 <= later["copy"].similarity <= 1.0
    assert later["copy-2"].first_article_id == "first"
    # Inside one batch the second article finds the first, which was not in Redis yet.
    fresh = _index(prefix + "-b")
    same_batch = await fresh.match_and_add(async_redis, [("a", STORY), ("b", STORY_COPY), ("c", UNRELATED)], 1000.0)
    assert set(same_batch) == {"b"}
    assert same_batch["b"].first_article_id == "a"


async def test_a_revision_of_the_same_article_is_not_its_own_duplicate(
    async_redis: redis.asyncio.Redis, prefix: str
) -> None:
    index = _index(prefix)
    assert await index.match_and_add(async_redis, [("story", STORY)], 1000.0) == {}
    assert await index.match_and_add(async_redis, [("story", STORY_COPY)], 1001.0) == {}


async def test_articles_older_than_the_window_are_not_matched(async_redis: redis.asyncio.Redis, prefix: str) -> None:
    index = _index(prefix, window_s=60)
    await index.match_and_add(async_redis, [("old", STORY)], 1000.0)
    assert await index.match_and_add(async_redis, [("new", STORY_COPY)], 1061.0) == {}
    # The old member left the band sets when the newer batch was indexed.
    keys = [key async for key in async_redis.scan_iter(match=f"*{prefix}*band:*")]
    assert keys
    for key in keys:
        assert await async_redis.zscore(key, "old") is None


async def test_a_full_redis_refuses_the_batch_before_changing_anything(private_redis: RedisServer) -> None:
    client = redis.asyncio.Redis.from_url(private_redis.url)
    try:
        index = _index("full")
        await index.match_and_add(client, [("first", STORY)], 1000.0)
        before = sorted(await client.keys("*"))
        used = int((await client.info("memory"))["used_memory"])
        await client.config_set("maxmemory", used - 1024 * 1024 if used > 2 * 1024 * 1024 else 1)
        with pytest.raises(ResponseError) as refused:
            await index.match_and_add(client, [("copy", STORY_COPY), ("other", UNRELATED)], 1001.0)
        assert is_out_of_memory(refused.value)
        await client.config_set("maxmemory", 0)
        assert sorted(await client.keys("*")) == before
        assert await client.get(f"{StreamKeys('full').near_duplicates}:sig:copy") is None
    finally:
        await client.aclose()
