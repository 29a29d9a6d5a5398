"""Trace context from the scraper's entry to the published CloudEvent, with and without OpenTelemetry spans."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from newswire.runtime.app import Pipeline
from newswire.stages import PIPELINE, STAGE_NAMES
from tests.conftest import make_settings
from tests.support import eventually_async

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
ARTICLE = {"title": "Traced", "text": "A scraper sent this article with a trace context.\n\nSecond paragraph."}


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter


async def publish_one(redis_url: str, prefix: str, client: redis.Redis, otel: bool) -> dict[bytes, bytes]:
    settings = make_settings(redis_url, prefix, otel_enabled=otel)
    client.xadd(settings.keys.raw, {"data": json.dumps(ARTICLE), "traceparent": TRACEPARENT})
    pipeline = Pipeline(settings, list(PIPELINE), redis_url)
    await pipeline.start()
    try:
        await eventually_async(lambda: client.xlen(settings.keys.published) >= 1, 30, "one published event")
    finally:
        await pipeline.stop()
    [(_, fields)] = client.xrange(settings.keys.published)
    return fields


async def test_the_scrapers_traceparent_reaches_the_event_untouched_when_tracing_is_off(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    event = await publish_one(redis_url, prefix, sync_redis, otel=False)
    assert event[b"traceparent"].decode() == TRACEPARENT


async def test_with_tracing_each_stage_adds_a_span_to_the_scrapers_trace(
    redis_url: str, prefix: str, sync_redis: redis.Redis, spans: InMemorySpanExporter
) -> None:
    spans.clear()
    event = await publish_one(redis_url, prefix, sync_redis, otel=True)
    finished = {span.name: span for span in spans.get_finished_spans()}
    cleaner, enricher, publisher = (finished[f"newswire.{stage}"] for stage in STAGE_NAMES)
    for span in (cleaner, enricher, publisher):
        assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(cleaner.parent.span_id, "016x") == "00f067aa0ba902b7"  # the scraper's span
    assert enricher.parent.span_id == cleaner.context.span_id
    assert publisher.parent.span_id == enricher.context.span_id
    _, trace_id, span_id, _ = event[b"traceparent"].decode().split("-")
    assert (trace_id, span_id) == (TRACE_ID, format(publisher.context.span_id, "016x"))
