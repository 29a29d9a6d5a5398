"""The delivery mechanism against a real Redis: atomic forward, reclaim races, dead letters, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
import redis
import redis.asyncio
from structlog.testing import capture_logs

from newswire.errors import ArticleRefused
from newswire.runtime.delivery import (
    Entry,
    Forward,
    Outcome,
    PublishRevision,
    StageWorker,
    ensure_group,
    trim_processed,
)
from newswire.runtime.metrics import REDIS_OUT_OF_MEMORY_ERRORS, StageMetrics
from newswire.runtime.pressure import MemoryAlarm
from newswire.runtime.settings import Settings
from newswire.runtime.stage import Stage
from newswire.stages import stage_named
from tests.conftest import make_settings
from tests.support import RedisServer, eventually_async


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


class PreparingStage(EchoStage):
    """Echo with a per-batch prepare step (as the enricher's batched entity recognition); the step fails when the
    batch holds `prep-boom`."""

    def __init__(self) -> None:
        super().__init__()
        self.prepared: list[list[bytes]] = []

    def prepare(self, entries: Sequence[Entry]) -> None:
        self.prepared.append([entry.id for entry in entries])
        if any(entry.fields[b"n"] == b"prep-boom" for entry in entries):
            raise RuntimeError("a bug in the batch step")

    def process(self, entry: Entry) -> Outcome:
        if entry.fields[b"n"] == b"prep-boom":
            return Forward("prep-boom", [("n", b"prep-boom")])
        return super().process(entry)


async def test_a_batch_step_sees_the_batch_before_its_entries_are_processed(
    redis_url: str, prefix: str, async_redis: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix, max_deliveries=2)
    await ensure_group(async_redis, settings.keys.raw, "cleaner")
    for n in range(5):
        sync_redis.xadd(settings.keys.raw, {"n": str(n)})
    stage = PreparingStage()
    worker = worker_for(async_redis, settings, stage, "w")
    batch = await worker._read()
    # An entry past its deliveries is set aside unprocessed: the batch step does not see it either.
    batch[4] = Entry(batch[4].id, batch[4].fields, deliveries=3)
    await worker.handle_batch(batch)
    assert stage.prepared == [[entry.id for entry in batch[:4]]]
    assert stage.seen == [entry.id for entry in batch[:4]]
    assert [f[b"n"] for _, f in sync_redis.xrange(settings.keys.cleaned)] == [b"0", b"1", b"2", b"3"]
    assert [f[b"error_type"] for _, f in sync_redis.xrange(settings.keys.dlq)] == [b"max_deliveries"]


async def test_a_failing_batch_step_loses_nothing(
    redis_url: str, prefix: str, async_redis: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix)
    for value in ("1", "prep-boom", "bad", "2"):
        sync_redis.xadd(settings.keys.raw, {"n": value})
    stage = PreparingStage()
    worker = worker_for(async_redis, settings, stage, "w")
    with capture_logs() as logs:
        async with running(worker):
            await wait_until(
                lambda: sync_redis.xlen(settings.keys.cleaned) >= 3 and sync_redis.xlen(settings.keys.dlq) >= 1
            )
    # Every entry was still processed on its own: forwarded, or refused for its own reason.
    assert [f[b"n"] for _, f in sync_redis.xrange(settings.keys.cleaned)] == [b"1", b"prep-boom", b"2"]
    assert [f[b"error_type"] for _, f in sync_redis.xrange(settings.keys.dlq)] == [b"invalid_json"]
    assert sync_redis.xpending(settings.keys.raw, "cleaner")["pending"] == 0
    assert any(entry["event"] == "batch_preparation_failed" for entry in logs)


# -- memory pressure, partitions, retention by bytes (a private Redis with a maxmemory) ------------


class IndexingStage(EchoStage):
    """Echo with a per-batch resolve step that writes shared state (as the near-duplicate index does)."""

    def __init__(self) -> None:
        super().__init__()
        self.resolved = 0

    async def resolve(self, redis: redis.asyncio.Redis, outcomes: list[Outcome]) -> list[Outcome]:
        await redis.set(f"index:{self.resolved}", "x" * 100)
        self.resolved += 1
        return outcomes


def fill_memory(client: redis.Redis) -> None:
    """Set maxmemory just below what Redis uses, so every memory-growing write is refused (noeviction)."""
    client.config_set("maxmemory-policy", "noeviction")
    client.set("ballast", "b" * 2_000_000)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", max(1024 * 1024, used - 64 * 1024))
    assert int(client.info("memory")["used_memory"]) > int(client.config_get("maxmemory")["maxmemory"])


async def test_out_of_memory_is_back_pressure_then_the_worker_resumes(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = private_redis.url
    sync = redis.Redis.from_url(url)
    client = redis.asyncio.Redis.from_url(url)
    settings = make_settings(url, "oom")
    keys = settings.keys
    stage = IndexingStage()
    alarm = MemoryAlarm()
    worker = StageWorker(client, settings, ECHO, stage, "w1", StageMetrics(ECHO.name), alarm=alarm)
    await ensure_group(client, keys.raw, "cleaner")
    for n in range(20):
        sync.xadd(keys.raw, {"n": str(n)})
    fill_memory(sync)
    refused_before = REDIS_OUT_OF_MEMORY_ERRORS.labels(stage="cleaner", operation="resolve")._value.get()
    try:
        with capture_logs() as logs:
            async with running(worker) as task:
                # Redis refuses the resolve step's writes: the batch stays pending, the worker stays up.
                await wait_until(lambda: alarm.active("cleaner"), 10)
                assert "redis out of memory" in (alarm.reason() or "")
                assert sync.xpending(keys.raw, "cleaner")["pending"] > 0 or sync.xlen(keys.cleaned) > 0
                assert not task.done()
                # Memory frees (an operator raises maxmemory): the worker resumes by itself.
                sync.config_set("maxmemory", 0)
                await wait_until(lambda: sync.xlen(keys.cleaned) == 20 and not alarm.active("cleaner"), 20)
                assert sync.xpending(keys.raw, "cleaner")["pending"] == 0
        assert REDIS_OUT_OF_MEMORY_ERRORS.labels(stage="cleaner", operation="resolve")._value.get() > refused_before
        events = [entry["event"] for entry in logs]
        assert events.count("redis_out_of_memory") == 1
        assert events.count("redis_memory_recovered") == 1
    finally:
        sync.config_set("maxmemory", 0)
        sync.close()
        await client.aclose()


async def test_the_pipeline_drains_at_maxmemory_skipping_a_resolve_step_redis_keeps_refusing(
    private_redis: RedisServer,
) -> None:
    url = private_redis.url
    sync = redis.Redis.from_url(url)
    client = redis.asyncio.Redis.from_url(url)
    settings = make_settings(url, "drain")
    keys = settings.keys
    worker = StageWorker(client, settings, ECHO, IndexingStage(), "w1", StageMetrics(ECHO.name))
    await ensure_group(client, keys.raw, "cleaner")
    for n in range(30):
        # Pages of 5 KB: each fills a stream node, the unit approximate trimming frees.
        sync.xadd(keys.raw, {"n": str(n), "page": "p" * 5000})
    fill_memory(sync)
    try:
        async with running(worker):
            # The forward script still acknowledges and forwards at maxmemory (XACK is its first write),
            # and the optional per-batch state is skipped after repeated refusals: everything drains.
            await wait_until(lambda: sync.xlen(keys.cleaned) == 30, 30)
            # Acknowledged input is trimmed promptly, which is what frees memory.
            await wait_until(lambda: sync.xlen(keys.raw) <= 1, 10)
    finally:
        sync.config_set("maxmemory", 0)
        sync.close()
        await client.aclose()


async def test_a_worker_serves_every_partition_and_revision_state_stays_in_its_partition(
    redis_url: str, prefix: str, sync_redis: redis.Redis, async_redis: redis.asyncio.Redis
) -> None:
    settings = make_settings(redis_url, prefix, partitions=3)
    partition_keys = settings.partition_keys()
    assert [k.raw for k in partition_keys] == [f"{{{prefix}:{p}}}:raw" for p in range(3)]
    workers = [
        StageWorker(async_redis, settings, ECHO, EchoStage(), "w1", StageMetrics(ECHO.name, k.partition), keys=k)
        for k in partition_keys
    ]
    for keys in partition_keys:
        for n in range(10):
            sync_redis.xadd(keys.raw, {"n": f"{keys.partition}-{n}"})
    async with contextlib.AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(running(worker))
        await wait_until(lambda: all(sync_redis.xlen(k.cleaned) == 10 for k in partition_keys))
    for keys in partition_keys:
        values = {fields[b"n"].decode() for _id, fields in sync_redis.xrange(keys.cleaned)}
        assert values == {f"{keys.partition}-{n}" for n in range(10)}
    # The publisher names revision state under the shared prefix; a partition's worker keeps it in its own slot.
    revision = PublishRevision("a1", f"{settings.keys.revisions}:abc", "h", [("id", ""), ("data", "}")])
    assert workers[2]._in_partition(revision).revision_key == f"{partition_keys[2].revisions}:abc"


async def test_the_published_stream_is_trimmed_to_its_byte_budget(
    redis_url: str, prefix: str, sync_redis: redis.Redis, async_redis: redis.asyncio.Redis
) -> None:
    budget = 200_000
    settings = make_settings(redis_url, prefix, published_max_bytes=budget)
    stage = stage_named("publisher")
    worker = StageWorker(async_redis, settings, stage, EchoStage(), "w1", StageMetrics(stage.name))
    for n in range(400):
        sync_redis.xadd(settings.keys.published, {"data": "e" * 2000, "n": str(n)})
    assert int(sync_redis.memory_usage(settings.keys.published)) > 3 * budget
    await worker._trim_output_to_budget()
    used = int(sync_redis.memory_usage(settings.keys.published))
    # Approximate trimming (whole stream nodes): within the budget plus one node's worth.
    assert used <= budget * 1.3, used
    newest = sync_redis.xrevrange(settings.keys.published, count=1)[0][1][b"n"]
    assert newest == b"399", "the newest events are the ones kept"
