"""Test support for the ingest API: a real server (uvicorn, real HTTP on 127.0.0.1) in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

from newswire.ingest.keys import create_key, new_key
from newswire.ingest.server import IngestServer
from newswire.runtime.connection import sync_client
from newswire.runtime.settings import Settings


class ThreadedIngest:
    """An IngestServer on its own event loop in a thread, so a test can call it with a blocking client."""

    def __init__(self, settings: Settings, redis_url: str) -> None:
        self.settings = settings
        self.server = IngestServer(settings, redis_url)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-ingest", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def __enter__(self) -> ThreadedIngest:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def make_key(redis_url: str, settings: Settings, name: str = "test-scraper", **options: Any) -> str:
    """Create an API key directly in Redis; the secret."""
    made = new_key(name, **options)
    client = sync_client(redis_url)
    try:
        create_key(client, settings.keys, made)
    finally:
        client.close()
    return made[0]
