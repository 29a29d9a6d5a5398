"""`newswire demo`: the whole pipeline on the bundled sample article, in one process."""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from typing import Any

import typer
import uvloop
from redis.asyncio import Redis

from newswire.client import decode_event
from newswire.runtime.app import Pipeline
from newswire.runtime.settings import Settings
from newswire.stages import PIPELINE


class DemoTimeout(Exception):
    """The sample article was not published in time."""


def sample_article() -> dict[str, Any]:
    """The sample as a scraper would send it: scraped text with its page debris, no URL."""
    text = resources.files("newswire.demo").joinpath("sample.ar.txt").read_text(encoding="utf-8")
    return {"text": text, "source": "alaraby.co.uk"}


def run_demo(settings: Settings, url: str, *, timeout_s: float) -> dict[str, Any]:
    """Empty the demo streams, run every stage, publish the sample, return the published event."""
    return uvloop.run(_demo(settings, url, timeout_s))


async def _demo(settings: Settings, url: str, timeout_s: float) -> dict[str, Any]:
    keys = settings.keys
    client = Redis.from_url(url)
    async for key in client.scan_iter(match=f"{{{settings.prefix}}}:*"):
        await client.delete(key)
    ready = asyncio.Event()
    pipeline = Pipeline(settings, list(PIPELINE), url, on_ready=lambda _client: ready.set())
    running = asyncio.create_task(pipeline.run())
    try:
        await asyncio.wait_for(ready.wait(), timeout=timeout_s)
        await client.xadd(keys.raw, {"data": json.dumps(sample_article(), ensure_ascii=False)})
        event = await _first_event(client, keys.published, keys.dlq, timeout_s, running)
    finally:
        pipeline.app.exit()
        await running
        await client.aclose()
    return event


async def _first_event(
    client: Redis, published: str, dlq: str, timeout_s: float, running: asyncio.Task[None]
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if running.done():
            raise DemoTimeout("the pipeline stopped before publishing the sample; see the log above")
        reply: Any = await client.xread({published: "0", dlq: "0"}, count=1, block=500)
        for stream, entries in reply or []:
            fields = entries[0][1]
            if stream.decode() == dlq:
                raise DemoTimeout(
                    f"the sample article was refused by the {fields[b'stage'].decode()}: {fields[b'error'].decode()}"
                )
            return decode_event(fields)
    raise DemoTimeout(f"no published event after {timeout_s:.0f} s")


def print_event(event: dict[str, Any]) -> None:
    """The published event as JSON on standard output, and a short summary on standard error."""
    article = event["data"]
    typer.echo(json.dumps(event, ensure_ascii=False, indent=2))
    typer.echo(
        f"\ntitle: {article.get('headline') or article.get('title')}\nlanguage: {article.get('language')}\n"
        f"event id: {event.get('id')}  ({len(article.get('body', ''))} characters of clean body)",
        err=True,
    )
