"""More than one shard: a 3-primary Redis Cluster with NEWSWIRE_PARTITIONS=3.

3,000 articles go through exactly once, spread over the partitions (each in its own hash slot,
here on its own primary); one primary is paused with DEBUG SLEEP and the other partitions keep
being served meanwhile, by the same worker processes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from newswire.cli.stats import collect
from newswire.client import connect, publish_raw
from newswire.runtime.connection import async_client
from newswire.runtime.pressure import check_headroom, check_headroom_sync
from newswire.runtime.settings import Settings
from tests.e2e.redis_topologies import Cluster
from tests.e2e.test_processes import Workers
from tests.support import eventually, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ARTICLES = 3000
PARTITIONS = 3
PAUSE_S = 3


def test_three_partitions_on_three_primaries_carry_3000_articles_exactly_once(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    cluster = Cluster(tmp_path / "cluster")
    request.addfinalizer(cluster.stop)  # also when the set-up below fails
    cluster.start()
    workers = Workers(tmp_path)
    request.addfinalizer(workers.stop_all)
    prefix = "newswire"  # {newswire:0..2} hash to slots on three different primaries of an even split
    env = worker_env(cluster.url, prefix, NEWSWIRE_PARTITIONS=str(PARTITIONS), NEWSWIRE_CLAIM_IDLE_MS="5000",
                     NEWSWIRE_RECLAIM_INTERVAL_MS="300", NEWSWIRE_BLOCK_MS="200")
    stages = {stage: workers.start(env, "run", stage) for stage in ("cleaner", "enricher", "publisher")}
    settings = Settings(redis_url=cluster.url, prefix=prefix, partitions=PARTITIONS)  # type: ignore[arg-type]
    keys = settings.partition_keys()
    nodes = [cluster.node_for_key(k.raw) for k in keys]
    assert len({node.port for node in nodes}) == PARTITIONS, "the partitions' hash slots are on distinct primaries"
    client = connect(settings)
    try:
        documents = [
            {"url": f"https://shards.example/{n}", "title": f"Shard report {n}", "text": f"Report {n} on the harvest."}
            for n in range(ARTICLES)
        ]
        entries = list(publish_raw(client, settings, documents))
        per_partition = Counter(entry.partition for entry in entries)
        assert len(entries) == ARTICLES and all(per_partition[p] > ARTICLES / 5 for p in range(PARTITIONS))

        def published(partition: int) -> int:
            return int(client.xlen(keys[partition].published))

        eventually(lambda: sum(published(p) for p in range(PARTITIONS)) >= ARTICLES // 10, 120, "articles flow")
        paused, others = 0, [1, 2]
        before = {p: published(p) for p in others}
        sleeper = nodes[paused].client(socket_timeout=PAUSE_S + 10)
        pause = threading.Thread(target=sleeper.execute_command, args=("DEBUG", "SLEEP", PAUSE_S))
        started = time.monotonic()
        pause.start()
        time.sleep(PAUSE_S - 0.5)
        during = {p: published(p) for p in others}
        assert time.monotonic() - started < PAUSE_S, "the progress check ran after the pause"
        assert pause.is_alive()
        pause.join(PAUSE_S + 10)
        sleeper.close()
        moved = {p: during[p] - before[p] for p in others}
        unfinished = [p for p in others if before[p] < per_partition[p]]
        assert all(moved[p] > 0 for p in unfinished), f"partitions stalled while partition {paused} was paused: {moved}"

        eventually(lambda: sum(published(p) for p in range(PARTITIONS)) >= ARTICLES, 180, f"{ARTICLES} published")
        time.sleep(1)  # anything extra (a duplicate) would be added by now
        urls: list[str] = []
        for partition in range(PARTITIONS):
            events = client.xrange(keys[partition].published)
            assert len(events) == per_partition[partition]
            urls += [json.loads(fields[b"data"])["url"] for _id, fields in events]
        assert sorted(urls) == sorted(d["url"] for d in documents), "not every article exactly once"
        assert all(int(client.xlen(k.dlq)) == 0 for k in keys)
        assert all(process.poll() is None for process in stages.values()), "a worker exited"

        # Operators and producers see the cluster as a whole: stats per partition, headroom of the fullest primary.
        stats = collect(client, settings)
        assert sum(row["length"] for row in stats["streams"] if row["stream"] == "published") == ARTICLES
        assert stats["memory"]["node"] in {f"127.0.0.1:{node.port}" for node in cluster.nodes}
        assert check_headroom_sync(client, settings).ok

        async def async_headroom() -> bool:
            async_redis = async_client(cluster.url)
            try:
                return (await check_headroom(async_redis, settings)).ok
            finally:
                await async_redis.aclose()

        assert asyncio.run(async_headroom())
    finally:
        client.close()
        workers.stop_all()
        cluster.stop()
