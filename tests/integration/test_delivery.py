"""The delivery mechanism against a real Redis: atomic forward, reclaim races, dead letters, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
import redis
import redis.asyncio

from newswire.errors import ArticleRefused
from newswire.runtime.delivery import Entry, Forward, Outcome, StageWorker, ensure_group, trim_processed
from newswire.runtime.metrics import StageMetrics
from newswire.runtime.settings import Settings
from newswire.runtime.stage import Stage
from tests.conftest import make_settings
from tests.support import eventually_async


class EchoStage:
    """Forwards each entry's `n` field; refuses `bad`; raises on `boom` (a bug)."""

    def __init__(self, on_process: Callable[[Entry], None] | None = None) -> None:
        self.seen: list[bytes] = []
        self.on_process = on_process

    def warm_up(self) -> None:
        """Nothing to load."""

    def process(self, entry: Entry) -> Outcome:
        self.seen.append(entry.id)
        if self.on_process is not None:
            self.on_process(entry)
        value = entry.fields[b"n"]
        if value == b"bad":
            raise ArticleRefused("invalid_json", "the `data` field is not valid JSON")
        if value == b"boom":
            raise RuntimeError("a bug in the transform")
        return Forward(value.decode(), [("n", value)])


# The runtime runs whatever stage it is given: here one declared by the test, in the cleaner's place.
ECHO = Stage("cleaner", input="raw", output="cleaned", processor=lambda _settings: EchoStage())


@contextlib.asynccontextmanager
async def running(worker: StageWorker) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(worker.run())
    try:
        yield task
    finally:
        worker.stop()
        await asyncio.wait_for(task, 15)


def worker_for(client: redis.asyncio.Redis, settings: Settings, stage: EchoStage, name: str) -> StageWorker:
    return StageWorker(client, settings, ECHO, stage, name, StageMetrics(ECHO.name))


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 20) -> None:
    await eventually_async(predicate, timeout_s)


def idle_ms(client: redis.Redis, stream: str) -> int:
    """Idle time of the oldest entry pending in the cleaner group."""
    rows = client.xpending_range(stream, "cleaner", min="-", max="+", count=1)
    return int(rows[0]["time_since_delivered"]) if rows else 0


def consumer_idle_ms(client: redis.Redis, stream: str, name: bytes) -> int:
    consumers = {c["name"]: c for c in client.xinfo_consumers(stream, "cleaner")}
    return int(consumers[name]["idle"]) if name in consumers else 0


async def test_a_batch_is_forwarded_once_and_acknowledged(
    redis_url: str, prefix: str, async_redis: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix, batch_size=7)
    for n in range(50):
        sync_redis.xadd(settings.keys.raw, {"n": str(n)})
    worker = worker_for(async_redis, settings, EchoStage(), "w1")
    async with running(worker):
        await wait_until(lambda: sync_redis.xlen(settings.keys.cleaned) >= 50)
    outputs = [int(fields[b"n"]) for _, fields in sync_redis.xrange(settings.keys.cleaned)]
    assert outputs == list(range(50))
    assert sync_redis.xpending(settings.keys.raw, "cleaner")["pending"] == 0


async def test_a_slow_worker_whose_entry_was_reclaimed_adds_nothing(
    redis_url: str, prefix: str, async_redis: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    """Two consumers race on one entry: only the one whose XACK removes it from the pending list forwards."""
    settings = make_settings(redis_url, prefix)
    await ensure_group(async_redis, settings.keys.raw, "cleaner")
    sync_redis.xadd(settings.keys.raw, {"n": "1"})
    slow = worker_for(async_redis, settings, EchoStage(), "slow")
    fast = worker_for(async_redis, settings, EchoStage(), "fast")

    held = await slow._read()  # the slow worker reads the entry, then stalls past the claim idle time
    assert len(held) == 1
    await wait_until(lambda: idle_ms(sync_redis, settings.keys.raw) > settings.claim_idle_ms)
    assert await fast.reclaim_once() == 1  # the other worker reclaims and forwards it
    await slow.handle_batch(held)  # the slow one wakes up and tries to forward too

    assert sync_redis.xlen(settings.keys.cleaned) == 1
    assert sync_redis.xpending(settings.keys.raw, "cleaner")["pending"] == 0


async def test_forwarding_again_after_a_lost_reply_adds_nothing(
    redis_url: str, prefix: str, async_redis: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix)
    await ensure_group(async_redis, settings.keys.raw, "cleaner")
    sync_redis.xadd(settings.keys.raw, {"n": "1"})
    worker = worker_for(async_redis, settings, EchoStage(), "w")
    batch = await worker._read()
    await worker.handle_batch(batch)
    await worker.handle_batch(batch)  # what a retry after a dropped connection does
    assert sync_redis.xlen(settings.keys.cleaned) == 1


async def test_entries_of_a_dead_consumer_are_reclaimed(
    redis_url: str, prefix: str, async_redis: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix)
    await ensure_group(async_redis, settings.keys.raw, "cleaner")
    for n in range(30):
        sync_redis.xadd(settings.keys.raw, {"n": str(n)})
    # A consumer reads everything and dies without acknowledging.
    sync_redis.xreadgroup("cleaner", "dead-consumer", {settings.keys.raw: ">"}, count=100)
    worker = worker_for(async_redis, settings, EchoStage(), "survivor")
    async with running(worker):
        await wait_until(lambda: sync_redis.xlen(settings.keys.cleaned) >= 30)
    assert sorted(int(f[b"n"]) for _, f in sync_redis.xrange(settings.keys.cleaned)) == list(range(30))
    assert sync_redis.xpending(settings.keys.raw, "cleaner")["pending"] == 0


async def test_bad_input_is_dead_lettered_with_its_reason_and_the_worker_goes_on(
    redis_url: str, prefix: str, async_redis: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix)
    for value in ("1", "bad", "2"):
        sync_redis.xadd(settings.keys.raw, {"n": value, "traceparent": "kept as sent"})
    worker = worker_for(async_redis, settings, EchoStage(), "w")
    async with running(worker):
        await wait_until(
            lambda: sync_redis.xlen(settings.keys.cleaned) >= 2 and sync_redis.xlen(settings.keys.dlq) >= 1
        )
    [(_, dead)] = sync_redis.xrange(settings.keys.dlq)
    raw_ids = [entry_id for entry_id, _ in sync_redis.xrange(settings.keys.raw)]
    assert dead[b"n"] == b"bad"
    assert dead[b"traceparent"] == b"kept as sent"
    assert dead[b"stage"] == b"cleaner"
    assert dead[b"error_type"] == b"invalid_json"
    assert dead[b"error"] == b"the `data` field is not valid JSON"
    assert dead[b"attempts"] == b"1"
    assert dead[b"source_stream"] == settings.keys.raw.encode()
    assert dead[b"source_id"] == raw_ids[1]
    assert dead[b"failed_at"].startswith(b"20")


async def test_an_entry_that_keeps_failing_is_dead_lettered_after_max_deliveries(
    redis_url: str, prefix: str, async_redis: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix, max_deliveries=3, claim_idle_ms=100, reclaim_interval_ms=100)
    sync_redis.xadd(settings.keys.raw, {"n": "boom"})
    sync_redis.xadd(settings.keys.raw, {"n": "7"})
    stage = EchoStage()
    worker = worker_for(async_redis, settings, stage, "w")
    async with running(worker):
        await wait_until(lambda: sync_redis.xlen(settings.keys.dlq) >= 1)
    [(_, dead)] = sync_redis.xrange(settings.keys.dlq)
    assert dead[b"error_type"] == b"max_deliveries"
    assert dead[b"attempts"] == b"4"
    boom_id = sync_redis.xrange(settings.keys.raw)[0][0]
    # Processed on its 3 allowed deliveries, then set aside without a 4th try.
    assert stage.seen.count(boom_id) == 3
    assert [f[b"n"] for _, f in sync_redis.xrange(settings.keys.cleaned)] == [b"7"]
    assert sync_redis.xpending(settings.keys.raw, "cleaner")["pending"] == 0


async def test_shutdown_leaves_nothing_pending_under_the_stopped_consumer(
    redis_url: str, prefix: str, async_redis: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix, claim_idle_ms=60_000)
    sync_redis.xadd(settings.keys.raw, {"n": "boom"})  # stays pending: its processing fails
    sync_redis.xadd(settings.keys.raw, {"n": "1"})
    worker = worker_for(async_redis, settings, EchoStage(), "leaving")
    async with running(worker):
        await wait_until(lambda: sync_redis.xlen(settings.keys.cleaned) >= 1)
    consumers = {c["name"]: c["pending"] for c in sync_redis.xinfo_consumers(settings.keys.raw, "cleaner")}
    assert b"leaving" not in consumers
    # The failed entry was handed to the group, already idle enough for any live worker to reclaim at once.
    assert consumers == {b"cleaner-handoff": 1}
    successor = worker_for(async_redis, settings, EchoStage(), "successor")
    assert await successor.reclaim_once() == 1


async def test_departed_consumers_with_nothing_pending_are_removed(
    redis_url: str, prefix: str, async_redis: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix, claim_idle_ms=100)
    await ensure_group(async_redis, settings.keys.raw, "cleaner")
    # A consumer that holds nothing (an XREADGROUP that found nothing does not register one on Redis 7.0).
    sync_redis.xgroup_createconsumer(settings.keys.raw, "cleaner", "gone")
    assert [c["name"] for c in sync_redis.xinfo_consumers(settings.keys.raw, "cleaner")] == [b"gone"]
    await wait_until(lambda: consumer_idle_ms(sync_redis, settings.keys.raw, b"gone") > 2 * settings.claim_idle_ms)
    worker = worker_for(async_redis, settings, EchoStage(), "alive")
    await worker._remove_departed_consumers()
    assert sync_redis.xinfo_consumers(settings.keys.raw, "cleaner") == []


async def test_streams_are_trimmed_only_below_what_every_group_has_acknowledged(
    redis_url: str, prefix: str, async_redis: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix)
    stream = settings.keys.raw
    await ensure_group(async_redis, stream, "cleaner")
    await ensure_group(async_redis, stream, "audit")
    ids = [sync_redis.xadd(stream, {"n": str(n)}) for n in range(300)]
    read = sync_redis.xreadgroup("cleaner", "c", {stream: ">"}, count=300)
    sync_redis.xack(stream, "cleaner", *[entry_id for entry_id, _ in read[0][1]])
    sync_redis.xreadgroup("audit", "a", {stream: ">"}, count=150)  # 150 pending, 150 undelivered
    await trim_processed(async_redis, stream)
    remaining = [entry_id for entry_id, _ in sync_redis.xrange(stream)]
    assert remaining[-300:] == ids[-len(remaining) :]
    assert ids[0] in remaining  # the audit group still holds the first entry pending


@pytest.mark.parametrize("kill_count", [2])
async def test_workers_reconnect_after_their_connections_are_killed(
    redis_url: str, prefix: str, sync_redis: redis.Redis, kill_count: int
) -> None:
    settings = make_settings(redis_url, prefix)
    client = redis.asyncio.Redis.from_url(redis_url, client_name=f"{prefix}-worker")
    worker = worker_for(client, settings, EchoStage(), "w")
    async with running(worker):
        for round_number in range(kill_count):
            for n in range(100):
                sync_redis.xadd(settings.keys.raw, {"n": str(round_number * 100 + n)})
            await wait_until(lambda: any(c["name"] == f"{prefix}-worker" for c in sync_redis.client_list()))
            victims = [c["id"] for c in sync_redis.client_list() if c["name"] == f"{prefix}-worker"]
            for client_id in victims:
                sync_redis.client_kill_filter(_id=client_id)
        await wait_until(lambda: sync_redis.xlen(settings.keys.cleaned) >= 100 * kill_count)
    await client.aclose()
    outputs = sorted(int(f[b"n"]) for _, f in sync_redis.xrange(settings.keys.cleaned))
    assert outputs == list(range(100 * kill_count))
