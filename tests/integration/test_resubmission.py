"""Re-submitted articles: unchanged content is published once, changed content as a new revision."""

from __future__ import annotations

import json

import redis

from newswire.runtime.app import Pipeline
from newswire.stages import PIPELINE
from tests.conftest import make_settings
from tests.support import eventually_async


def submit(client: redis.Redis, stream: str, document: dict[str, str]) -> None:
    client.xadd(stream, {"data": json.dumps(document)})


async def drained(client: redis.Redis, stream: str, group: str, timeout_s: float = 30) -> None:
    """Wait until the group has read and acknowledged everything in the stream."""

    def done() -> bool:
        info = {g["name"]: g for g in client.xinfo_groups(stream)} if client.exists(stream) else {}
        group_info = info.get(group.encode())
        last = client.xrevrange(stream, count=1)
        return bool(group_info and last and group_info["last-delivered-id"] == last[0][0] and not group_info["pending"])

    await eventually_async(done, timeout_s, f"{group} read and acknowledged all of {stream}")


async def test_unchanged_resubmissions_are_published_once_and_changes_as_revisions(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix)
    keys = settings.keys
    url = "https://news.example.com/world/story-1?utm_source=feed"
    original = {"url": url, "title": "Talks resume", "text": "Negotiators met again on Monday in Geneva."}
    changed = {**original, "text": "Negotiators met again on Monday in Geneva and agreed a ceasefire."}
    no_url = {"title": "Brief", "text": "A short item with no address."}

    pipeline = Pipeline(settings, list(PIPELINE), redis_url)
    await pipeline.start()
    try:
        for document in (original, original, no_url, changed, changed, no_url):
            submit(sync_redis, keys.raw, document)
        await drained(sync_redis, keys.raw, "cleaner")
        await drained(sync_redis, keys.cleaned, "enricher")
        await drained(sync_redis, keys.enriched, "publisher")
    finally:
        await pipeline.stop()

    events = [
        (fields[b"id"].decode(), json.loads(fields[b"data"])) for _, fields in sync_redis.xrange(keys.published)
    ]
    assert len(events) == 3
    by_text = {data["body"]: (event_id, data) for event_id, data in events}
    first_id, first = by_text[original["text"]]
    second_id, second = by_text[changed["text"]]
    assert first["revision"] == 1 and second["revision"] == 2
    assert first["article_id"] == second["article_id"]
    assert (first_id, second_id) == (f"{first['article_id']}/r1", f"{first['article_id']}/r2")
    assert by_text[no_url["text"]][1]["revision"] == 1
    # The unchanged copies were acknowledged, not left pending, and nothing was dead-lettered.
    assert sync_redis.xpending(keys.enriched, "publisher")["pending"] == 0
    assert sync_redis.xlen(keys.dlq) == 0
