"""Fixtures: a real Redis (NEWSWIRE_REDIS_URL when set, else a private server), isolated streams per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio

from newswire.runtime.settings import Settings
from tests.support import RedisServer, delete_prefix, unique_prefix


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Redis the integration tests use."""
    configured = os.environ.get("NEWSWIRE_REDIS_URL")
    if configured:
        yield configured
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis server of this test alone, for tests that restart or break it."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A stream prefix of this test alone; its keys are deleted afterwards."""
    name = unique_prefix()
    yield name
    client = redis.Redis.from_url(redis_url)
    delete_prefix(client, name)
    client.close()


@pytest.fixture
def sync_redis(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
async def async_redis(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


def make_settings(redis_url: str, prefix: str, **overrides: object) -> Settings:
    """Settings for an in-process worker under test: fast reclaim, short blocks."""
    values: dict[str, object] = {
        "redis_url": redis_url,
        "prefix": prefix,
        "block_ms": 100,
        "claim_idle_ms": 500,
        "reclaim_interval_ms": 200,
        "shutdown_timeout_s": 10,
        "http_port": 0,
        "log_format": "json",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
