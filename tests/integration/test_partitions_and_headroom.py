"""Producers and readers against a real Redis: partition routing, the high-water mark, durable publish, stats."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
import redis

from newswire.cli.stats import collect, render
from newswire.client import HeadroomExceeded, NotDurable, PublishedReader, publish_raw, routing_identity
from newswire.runtime.http import ReadinessProbe
from newswire.runtime.pressure import MemoryAlarm, check_headroom_sync
from tests.conftest import make_settings
from tests.support import REPO, RedisServer, worker_env


def test_articles_are_routed_by_identity_and_read_back_from_every_partition(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix, partitions=3)
    documents = [{"url": f"https://example.com/story/{n}", "text": f"Story {n}."} for n in range(300)]
    entries = list(publish_raw(sync_redis, settings, documents))
    assert [e.partition for e in entries] == [settings.partition_for(routing_identity(d)) for d in documents]
    counts = Counter(entry.partition for entry in entries)
    assert set(counts) == {0, 1, 2} and min(counts.values()) > 60, counts
    for keys in settings.partition_keys():
        assert sync_redis.xlen(keys.raw) == counts[keys.partition or 0]
    # A re-submission (tracking parameters, other fields) goes where the article went before.
    again = {"url": "https://example.com/story/7?utm_source=feed", "text": "Story 7, corrected."}
    [entry] = publish_raw(sync_redis, settings, [again])
    assert entry.partition == entries[7].partition

    # Subscribers read every partition's published stream with one reader and one group.
    for keys in settings.partition_keys():
        for n in range(5):
            sync_redis.xadd(keys.published, {"id": f"{keys.partition}-{n}/r1", "data": "{}"})
    reader = PublishedReader(sync_redis, settings, "readers", "r1", from_start=True)
    seen: list[str] = []
    for _ in range(10):
        for event in reader.read(count=4, block_ms=100):
            seen.append(event.event()["id"])
            reader.ack(event)
    assert sorted(seen) == sorted(f"{p}-{n}/r1" for p in range(3) for n in range(5))
    assert all(sync_redis.xpending(k.published, "readers")["pending"] == 0 for k in settings.partition_keys())
    reader.destroy_group()


def test_producers_are_refused_above_the_high_water_mark(private_redis: RedisServer) -> None:
    client = redis.Redis.from_url(private_redis.url)
    settings = make_settings(private_redis.url, "hw", high_water_percent=50)
    try:
        assert check_headroom_sync(redis.Redis.from_url(private_redis.url), settings).ok
        for n in range(30):  # small writes: a big one would count its query buffer in used_memory for a while
            client.set(f"ballast:{n}", "b" * 50_000)
        used = int(client.info("memory")["used_memory"])
        client.config_set("maxmemory", int(used * 1.5))  # used is about 67% of maxmemory: above 50%
        with pytest.raises(HeadroomExceeded) as refused:
            list(publish_raw(client, settings, [{"text": "One more article."}]))
        assert "NEWSWIRE_HIGH_WATER_PERCENT" in str(refused.value)
        assert refused.value.headroom.retry_after_s > 0
        assert client.xlen(settings.keys.raw) == 0

        env = worker_env(private_redis.url, "hw", NEWSWIRE_HIGH_WATER_PERCENT="50")
        result = subprocess.run(
            [sys.executable, "-m", "newswire.cli", "publish", "-"],
            input='{"text": "From the command line."}\n', env=env, capture_output=True, text=True, timeout=60,
            cwd=REPO,
        )
        assert result.returncode == 3, result.stderr
        assert "high-water mark" in result.stderr and "Traceback" not in result.stderr

        stats = collect(client, settings)
        memory = stats["memory"]
        assert memory["maxmemory_bytes"] == int(used * 1.5)
        assert memory["headroom_bytes"] < 0
        assert memory["biggest_keys"] == [] or memory["biggest_keys"][0]["memory_bytes"] > 0
    finally:
        client.config_set("maxmemory", 0)
        client.close()


def test_a_durable_publish_without_a_replica_says_the_articles_are_not_durable(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix)
    with pytest.raises(NotDurable) as refused:
        list(publish_raw(sync_redis, settings, [{"text": "Needs a replica."}], durable=True, wait_timeout_ms=50))
    assert "0 of 1 replicas" in str(refused.value)
    [entry] = refused.value.entries
    assert sync_redis.xrange(entry.stream)[0][0] == entry.id

    result = subprocess.run(
        [sys.executable, "-m", "newswire.cli", "publish", "--durable", "--wait-timeout-ms", "50", "-"],
        input='{"text": "Also needs a replica."}\n', env=worker_env(redis_url, prefix), capture_output=True,
        text=True, timeout=60, cwd=REPO,
    )
    assert result.returncode == 3, result.stderr
    assert "not durable" in result.stderr and "published 1 article" in result.stderr


def test_stats_cover_every_partition_and_redis_memory(redis_url: str, prefix: str, sync_redis: redis.Redis) -> None:
    settings = make_settings(redis_url, prefix, partitions=2)
    list(publish_raw(sync_redis, settings, [{"id": f"s{n}", "text": "x" * 500} for n in range(40)]))
    stats = collect(sync_redis, settings)
    raw_rows = [row for row in stats["streams"] if row["stream"] == "raw"]
    assert [row["partition"] for row in raw_rows] == [0, 1]
    assert sum(row["length"] for row in raw_rows) == 40
    assert all(row["memory_bytes"] > 0 for row in raw_rows)
    assert stats["memory"]["used_bytes"] > 0
    assert {k["key"] for k in stats["memory"]["biggest_keys"]} >= {row["key"] for row in raw_rows}
    json.dumps(stats)
    table = render(stats)
    assert table.caption is not None and "redis memory" in str(table.caption)


def test_readiness_reports_refused_writes_and_full_memory(private_redis: RedisServer) -> None:
    client = redis.Redis.from_url(private_redis.url)
    client.xgroup_create("{r}:raw", "cleaner", id="0", mkstream=True)
    alarm = MemoryAlarm()
    probe = ReadinessProbe(private_redis.url, [("{r}:raw", "cleaner")], alarm)
    try:
        assert probe.check() == (True, "ready")
        alarm.since["cleaner"] = 0.0
        alarm.refused_ops["cleaner"] = {"forward"}
        ok, reason = probe.check()
        assert not ok and "out of memory" in reason and "cleaner" in reason
        alarm.recovered("cleaner")
        client.set("ballast", "b" * 1_000_000)
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", int(client.info("memory")["used_memory"]) - 100_000)
        ok, reason = probe.check()
        assert not ok and "out of memory" in reason
    finally:
        client.config_set("maxmemory", 0)
        client.close()
