"""A failed primary: primary + replica + three Sentinels, the primary SIGKILLed while articles flow.

Workers and the producer use `redis+sentinel://`; nothing is restarted. Every article whose durable
publish returned (WAIT saw the replica) is published, and no event id is in the published stream twice.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis

from newswire.client import NotDurable, connect, publish_raw
from newswire.runtime.settings import Settings
from tests.e2e.redis_topologies import SentinelSet
from tests.e2e.test_processes import Workers
from tests.support import eventually, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BEFORE_KILL = 80
AFTER_KILL = 60


class DurableProducer(threading.Thread):
    """Publishes small articles in chunks of 10 with `durable=True`; remembers those whose publish returned."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.confirmed: list[str] = []
        self.failures = 0
        self.stop = threading.Event()

    def run(self) -> None:
        client = connect(self.settings, socket_timeout=2, socket_connect_timeout=1)
        number = 0
        while not self.stop.is_set():
            chunk = [
                {"id": f"fo-{n}", "title": f"Failover report {n}", "text": f"Report {n} says the river rose again."}
                for n in range(number, number + 10)
            ]
            number += 10
            try:
                for _ in publish_raw(client, self.settings, chunk, durable=True, wait_timeout_ms=1000):
                    pass
                self.confirmed += [article["id"] for article in chunk]
            except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, NotDurable, OSError):
                # Not confirmed: these may or may not survive; only confirmed ones are promised.
                self.failures += 1
                time.sleep(0.1)
            time.sleep(0.02)
        client.close()


def published_ids(client: redis.Redis, tag: str) -> list[str]:
    return [fields[b"id"].decode() for _id, fields in client.xrange(f"{tag}:published")]


def test_a_primary_killed_mid_run_loses_no_durably_published_article(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sentinels = SentinelSet(tmp_path / "sentinel")
    request.addfinalizer(sentinels.stop)  # also when the set-up below fails
    sentinels.start()
    workers = Workers(tmp_path)
    request.addfinalizer(workers.stop_all)
    prefix = "failover"
    tag = "{" + prefix + "}"
    env = worker_env(sentinels.url, prefix, NEWSWIRE_CLAIM_IDLE_MS="3000", NEWSWIRE_RECLAIM_INTERVAL_MS="300",
                     NEWSWIRE_BLOCK_MS="200")
    stages = {stage: workers.start(env, "run", stage) for stage in ("cleaner", "enricher", "publisher")}
    pids = {stage: process.pid for stage, process in stages.items()}
    settings = Settings(redis_url=sentinels.url, prefix=prefix)  # type: ignore[arg-type]
    producer = DurableProducer(settings)
    reader = connect(settings, socket_timeout=5)
    try:
        producer.start()
        eventually(lambda: len(producer.confirmed) >= BEFORE_KILL, 90, f"{BEFORE_KILL} articles durably published")
        eventually(lambda: len(published_ids(reader, tag)) >= BEFORE_KILL // 2, 90, "articles flow through")  # type: ignore[arg-type]
        old_port = sentinels.primary_port()
        sentinels.primary.kill()
        killed_at = len(producer.confirmed)
        eventually(lambda: sentinels.primary_port() != old_port, 60, "the Sentinels promote the replica")
        # Every Sentinel must know before the old primary is back empty (see `agreed_primary_port`).
        eventually(lambda: sentinels.agreed_primary_port() not in (None, old_port), 60, "every Sentinel knows")
        # Durable publishes need a replica again: the machine comes back and the Sentinels make it one.
        sentinels.primary.start()
        eventually(lambda: len(producer.confirmed) >= killed_at + AFTER_KILL, 90, "publishing resumes")
        producer.stop.set()
        producer.join(30)
        confirmed = set(producer.confirmed)

        def all_confirmed_published() -> bool:
            ids = published_ids(reader, tag)  # type: ignore[arg-type]
            missing = confirmed - {event_id.rsplit("/", 1)[0] for event_id in ids}
            assert not missing, f"{len(missing)} durably published articles not published, e.g. {sorted(missing)[:3]}"
            return True

        eventually(all_confirmed_published, 120, "every durably published article is published")
        ids = published_ids(reader, tag)  # type: ignore[arg-type]
        assert len(ids) == len(set(ids)), "an event id is in the published stream twice"
        for stage, process in stages.items():
            assert process.poll() is None and process.pid == pids[stage], f"the {stage} worker exited"
    finally:
        producer.stop.set()
        reader.close()
        workers.stop_all()
        sentinels.stop()
