"""The whole pipeline in one process against a real Redis: raw -> published."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import redis

from newswire.cli.schema_export import schema_documents
from newswire.runtime.app import Pipeline
from newswire.runtime.delivery import ensure_group
from newswire.runtime.settings import Settings
from newswire.stages import PIPELINE, STAGE_NAMES, stage_named
from tests.conftest import make_settings
from tests.support import SAMPLE_TEXT, eventually_async, load_gold

CLOUDEVENT_FIELDS = {"specversion", "id", "source", "type", "time", "datacontenttype", "data"}


async def wait_for_length(client: redis.Redis, stream: str, length: int, timeout_s: float = 30) -> None:
    await eventually_async(lambda: client.xlen(stream) >= length, timeout_s, f"{stream} has {length} entries")


async def run_pipeline(settings: Settings, redis_url: str) -> Pipeline:
    pipeline = Pipeline(settings, list(PIPELINE), redis_url)
    await pipeline.start()
    return pipeline


async def publish_one(settings: Settings, redis_url: str, client: redis.Redis) -> dict[str, Any]:
    """Run every stage until the one raw entry already added comes out; return its event."""
    pipeline = await run_pipeline(settings, redis_url)
    try:
        await wait_for_length(client, settings.keys.published, 1)
    finally:
        await pipeline.stop()
    [event] = published_events(client, settings)
    return event


def published_events(client: redis.Redis, settings: Settings) -> list[dict[str, Any]]:
    events = []
    for _id, fields in client.xrange(settings.keys.published):
        event = {name.decode(): value.decode() for name, value in fields.items()}
        event["data"] = json.loads(event["data"])
        events.append(event)
    return events


async def test_sample_article_comes_out_as_a_cloudevent(redis_url: str, prefix: str, sync_redis: redis.Redis) -> None:
    settings = make_settings(redis_url, prefix)
    # A scraper with no newswire code at all: one XADD with a `data` field.
    sync_redis.xadd(settings.keys.raw, {"data": json.dumps({"text": SAMPLE_TEXT.read_text(encoding="utf-8")})})
    event = await publish_one(settings, redis_url, sync_redis)
    assert event.keys() >= CLOUDEVENT_FIELDS
    assert event["specversion"] == "1.0"
    assert event["type"] == "org.newswire.article.published"
    assert event["id"] == f"{event['data']['article_id']}/r1"
    article = event["data"]
    gold = load_gold()
    assert article["language"] == gold["enriched"]["language"]["must"]
    assert article["revision"] == 1
    assert "<" not in article["body"]
    # The event as a subscriber sees it validates against the published JSON Schema.
    envelope = dict(event)
    jsonschema.validate(envelope, schema_documents()["v1/published-event.json"])
    # The AsyncAPI document describes the same event with the same schemas.
    asyncapi = schema_documents()["asyncapi.json"]
    jsonschema.validate(envelope, {"$ref": "#/components/schemas/PublishedEvent", **asyncapi})
    assert event["dataschema"].endswith("/v1/published-article.json")
    # Contract v1: unknown values are left out, never sent as null; internal bookkeeping stays internal.
    assert None not in article.values()
    assert not {"text", "html", "content_hash", "language_hint", "paragraphs", "traceparent"} & article.keys()
    assert sync_redis.xlen(settings.keys.dlq) == 0


async def test_consumer_groups_are_created_idempotently(redis_url: str, prefix: str, async_redis: Any) -> None:
    settings = make_settings(redis_url, prefix)
    for _ in range(3):
        await ensure_group(async_redis, settings.keys.raw, "cleaner")
    groups = await async_redis.xinfo_groups(settings.keys.raw)
    assert [group["name"] for group in groups] == [b"cleaner"]


async def test_a_restarted_pipeline_picks_up_where_it_left_off(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix)
    first = [{"text": f"First batch article number {n}. " * 5, "title": f"first {n}"} for n in range(20)]
    second = [{"text": f"Second batch article number {n}. " * 5, "title": f"second {n}"} for n in range(20)]
    for document in first:
        sync_redis.xadd(settings.keys.raw, {"data": json.dumps(document)})
    pipeline = await run_pipeline(settings, redis_url)
    await wait_for_length(sync_redis, settings.keys.published, 20)
    await pipeline.stop()

    # While nothing runs, scrapers go on publishing.
    for document in second:
        sync_redis.xadd(settings.keys.raw, {"data": json.dumps(document)})
    pipeline = await run_pipeline(settings, redis_url)
    await wait_for_length(sync_redis, settings.keys.published, 40)
    # The last batch's forward acknowledges its input in the same step that adds the events.
    for stage in PIPELINE:
        await eventually_async(
            lambda stage=stage: sync_redis.xpending(stage.input_stream(settings.keys), stage.name)["pending"] == 0,
            10,
            f"{stage.name} has nothing pending",
        )
    await pipeline.stop()

    titles = sorted(event["data"]["headline"] for event in published_events(sync_redis, settings))
    assert titles == sorted(d["title"] for d in first + second)
    for stage in STAGE_NAMES:
        summary = sync_redis.xpending(stage_named(stage).input_stream(settings.keys), stage)
        assert summary["pending"] == 0


async def test_an_html_page_is_published_as_plain_text_never_html(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix)
    page = (
        "<html lang='en'><head><title>Storm closes ports</title><script>var tracking = '<b>x</b>';</script>"
        "</head><body><nav><a href='/'>Home</a></nav><article><h1>Storm closes ports</h1>"
        "<p>A <b>severe</b> storm closed three ports on the coast on Tuesday, officials said.</p>"
        "<p>Shipping companies said <i>delays</i> could last until the weekend &amp; beyond.</p>"
        "<p>The coast guard rescued 12 sailors from two fishing boats near the harbour entrance.</p>"
        "</article><footer>© News Ltd</footer></body></html>"
    )
    sync_redis.xadd(settings.keys.raw, {"data": json.dumps({"url": "https://news.example/storm", "html": page})})
    event = await publish_one(settings, redis_url, sync_redis)
    article = event["data"]
    assert "html" not in article and "text" not in article
    assert "severe storm closed three ports" in article["body"]
    assert "delays could last until the weekend & beyond" in article["body"]
    blocks = [article["body"][b["start"] : b["end"]] for b in article["blocks"]]
    assert blocks and "\n\n".join(blocks) == article["body"]
    for field in (article["body"], article["headline"]):
        assert "<" not in field and ">" not in field and "&amp;" not in field
    assert "tracking" not in article["body"]
    assert event["source"] == "https://news.example/storm"
