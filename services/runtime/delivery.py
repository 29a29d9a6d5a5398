"""Redis delivery for one stage: batched reads, atomic acknowledge-and-forward, reclaim, dead letters.

The guarantee (README, "How delivery works"): each accepted input entry yields exactly one output or exactly one
dead letter. Reading is at-least-once (XREADGROUP, then XAUTOCLAIM of entries idle too long);
forwarding is idempotent because `forward.lua` adds an output only when its XACK removed the
entry from the pending list. Everything here is tested against a real Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol, runtime_checkable

import structlog
from redis.asyncio import Redis
from redis.exceptions import ClusterDownError, ReadOnlyError, ResponseError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from newswire.errors import ArticleRefused
from newswire.runtime.logging import flush_logs
from newswire.runtime.metrics import StageMetrics
from newswire.runtime.pressure import MemoryAlarm, is_out_of_memory, read_memory
from newswire.runtime.settings import Settings, StreamKeys
from newswire.runtime.stage import Stage
from newswire.runtime.tracing import StageTracer

log = structlog.get_logger("newswire.delivery")

Fields = dict[bytes, bytes]
FieldPairs = Sequence[tuple[str | bytes, str | bytes]]

# Redis cannot be reached, or is changing hands: a failover in progress (a primary turned replica answers
# READONLY; a cluster without a primary for a slot answers CLUSTERDOWN or TRYAGAIN). All are waited out.
_REDIS_DOWN = (
    RedisConnectionError, RedisTimeoutError, ConnectionError, OSError, ReadOnlyError, ClusterDownError, TryAgainError
)
# Out-of-memory refusals of a batch's resolve step before the batch is forwarded without it.
_RESOLVE_OOM_ATTEMPTS = 5
# Input trimmed at most this often after forwarding, so memory freed by progress is returned promptly.
_TRIM_INTERVAL_S = 1.0


@dataclass(slots=True)
class Entry:
    """One stream entry as read, with how many times it has been delivered."""

    id: bytes
    fields: Fields
    deliveries: int = 1


@dataclass(slots=True)
class Forward:
    """Add `fields` to the stage's output stream."""

    article_id: str | None
    fields: FieldPairs


@dataclass(slots=True)
class PublishRevision:
    """Add an event to the published stream unless the same content was published under `revision_key`."""

    article_id: str
    revision_key: str
    content_hash: str
    fields: FieldPairs
    received_at: float | None = None
    near_duplicate: bool = False


@dataclass(slots=True)
class Refuse:
    """Dead-letter the entry: bad input, or delivered too many times."""

    article_id: str | None
    error_type: str
    reason: str


Outcome = Forward | PublishRevision | Refuse


class StageProcessor(Protocol):
    """The per-entry work of a stage: decode, call the pure transform, encode."""

    def warm_up(self) -> None:
        """Load models and lexicons before the first entry, so the first article is not slow."""
        ...

    def process(self, entry: Entry) -> Outcome:
        """Return what to do with the entry; raise ArticleRefused for bad input."""
        ...


class BatchResolver(Protocol):
    """A stage that needs Redis once per batch before forwarding (the publisher's near-duplicate index)."""

    async def resolve(self, redis: Redis, outcomes: list[Outcome]) -> list[Outcome]:
        """Return the outcomes to forward, in the same order."""
        ...


@runtime_checkable
class BatchResolverStage(StageProcessor, BatchResolver, Protocol):
    """A stage processor with a per-batch `resolve` step."""


class BatchPreparer(Protocol):
    """A stage that does part of its work for a whole batch at once, before the entries are processed one by one
    (the enricher's entity recogniser, cheaper per article on many)."""

    def prepare(self, entries: Sequence[Entry]) -> None:
        """Work on `entries` ahead of `process`; `process` must still work for an entry this did not prepare."""
        ...


@runtime_checkable
class BatchPreparingStage(StageProcessor, BatchPreparer, Protocol):
    """A stage processor with a per-batch `prepare` step."""


@dataclass(slots=True)
class _Processed:
    entry: Entry
    outcome: Outcome
    seconds: float


@dataclass
class ConnectionWatch:
    """Logs a Redis outage once when it starts and once when it ends, and paces retries."""

    stage: str
    down_since: float | None = None
    attempt: int = 0
    _log: structlog.stdlib.BoundLogger = field(default_factory=lambda: log)

    async def failed(self, exc: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
        self.attempt += 1
        # A second failure in a row is an outage; one alone is usually a pooled connection that went stale
        # (Redis restarted, or a failover) and the immediate retry on a fresh one succeeds.
        if self.attempt == 2:
            self._log.warning("redis_unavailable", stage=self.stage, error=f"{type(exc).__name__}: {exc}")
        # Full jitter keeps a fleet of workers from reconnecting in lockstep.
        await asyncio.sleep(random.uniform(0, min(5.0, 0.05 * 2**self.attempt)))

    def succeeded(self) -> None:
        if self.down_since is not None:
            if self.attempt >= 2:
                self._log.warning(
                    "redis_reconnected", stage=self.stage, outage_s=round(time.monotonic() - self.down_since, 3)
                )
            self.down_since = None
            self.attempt = 0


class ForwardScript:
    """The acknowledge-and-forward Lua script, loaded once and called by SHA."""

    def __init__(self, redis: Redis) -> None:
        source = resources.files("newswire.runtime").joinpath("forward.lua").read_text()
        self._script = redis.register_script(source)

    async def __call__(
        self,
        *,
        input_stream: str,
        output_stream: str,
        dlq_stream: str,
        rate_key: str,
        group: str,
        output_maxlen: int,
        revision_ttl_s: int,
        items: Sequence[tuple[bytes, Outcome, FieldPairs]],
    ) -> str:
        """Run the script; return one status letter per item (see forward.lua)."""
        keys: list[str] = [input_stream, output_stream, dlq_stream, rate_key]
        args: list[str | bytes | int] = [group, output_maxlen, revision_ttl_s]
        for entry_id, outcome, pairs in items:
            if isinstance(outcome, PublishRevision):
                keys.append(outcome.revision_key)
                args += [entry_id, "pub", len(pairs), len(keys), outcome.content_hash, outcome.article_id]
            else:
                args += [entry_id, "dlq" if isinstance(outcome, Refuse) else "out", len(pairs)]
            for name, value in pairs:
                args += [name, value]
        statuses = await self._script(keys=keys, args=args)
        return statuses.decode() if isinstance(statuses, bytes) else str(statuses)


class StageWorker:
    """Carries one stage's entries from its input stream to its output stream, as one consumer."""

    def __init__(
        self,
        redis: Redis,
        settings: Settings,
        stage: Stage,
        processor: StageProcessor,
        consumer: str,
        metrics: StageMetrics,
        *,
        keys: StreamKeys | None = None,
        alarm: MemoryAlarm | None = None,
    ) -> None:
        """One consumer of one partition (`keys`, default the unpartitioned stream set) of a stage."""
        self.redis = redis
        self.settings = settings
        self.processor = processor
        self.stage = stage.name
        self.group = stage.name
        self.consumer = consumer
        self.metrics = metrics
        self.keys = keys = keys or settings.keys
        self.input_stream = stage.input_stream(keys)
        self.output_stream = stage.output_stream(keys)
        self.dlq_stream = keys.dlq
        self.output_maxlen = stage.retention(settings)
        self.output_max_bytes = stage.retention_bytes(settings)
        # Processors name revision state under the shared prefix; the state lives in the entry's partition.
        self._revision_prefixes = (settings.keys.revisions, keys.revisions)
        self.forward_script = ForwardScript(redis)
        self.watch = ConnectionWatch(self.stage)
        self.alarm = alarm or MemoryAlarm()
        self.tracer = StageTracer(self.stage, settings.otel_enabled)
        self._stopping = asyncio.Event()
        self._trimmed_at = 0.0
        self._log = log.bind(stage=self.stage, consumer=consumer, partition=keys.partition)

    # -- lifecycle ---------------------------------------------------------------------------

    async def ensure_group(self) -> None:
        """Create the stage's consumer group (and the stream) if missing; safe to call from every worker."""
        await ensure_group(self.redis, self.input_stream, self.group)

    def stop(self) -> None:
        """Ask the worker to finish its batch and leave; `run` returns once it has."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        """Read, transform and forward until stopped, reclaiming abandoned entries alongside."""
        while not self.stopping:
            async with self._riding_out_redis("create_group"):
                await self.ensure_group()
                break
        self.alarm.recovered(self.stage, "create_group")
        self._log.info("worker_started", input=self.input_stream, output=self.output_stream)
        reclaimer = asyncio.create_task(self._reclaim_loop(), name=f"{self.stage}-reclaim")
        try:
            while not self.stopping:
                if reclaimer.done():
                    reclaimer.result()  # a bug in the reclaim loop: crash loudly now, not at shutdown
                try:
                    batch = await self._read()
                except _REDIS_DOWN as exc:
                    await self.watch.failed(exc)
                    continue
                except ResponseError as exc:
                    if is_out_of_memory(exc):
                        await self.alarm.refused(self.stage, exc, "read")
                        continue
                    if "NOGROUP" not in str(exc):
                        raise
                    # The stream or group was deleted under us (e.g. FLUSHALL, or a Redis without AOF restarted).
                    self._log.warning("group_missing_recreating", stream=self.input_stream)
                    await self._recreate_group()
                    continue
                self.watch.succeeded()
                self.alarm.recovered(self.stage, "read")
                if batch:
                    await self.handle_batch(batch)
        finally:
            self._stopping.set()
            await reclaimer
            await self._leave_group()
        self._log.info("worker_stopped")

    async def _recreate_group(self) -> None:
        async with self._riding_out_redis("create_group"):
            await self.ensure_group()

    @contextlib.asynccontextmanager
    async def _riding_out_redis(self, step: str) -> AsyncIterator[None]:
        """End the step early when Redis is unreachable (the watch backs off) or at maxmemory (the alarm is
        raised for `step`); the caller tries again later. Any other error reply is a bug and propagates."""
        try:
            yield
        except _REDIS_DOWN as exc:
            await self.watch.failed(exc)
        except ResponseError as exc:
            if not is_out_of_memory(exc):
                raise
            await self.alarm.refused(self.stage, exc, step)

    # -- the hot path ------------------------------------------------------------------------

    async def _read(self) -> list[Entry]:
        reply: Any = await self.redis.xreadgroup(
            self.group,
            self.consumer,
            {self.input_stream: ">"},
            count=self.settings.batch_size,
            block=self.settings.block_ms,
        )
        if not reply:
            return []
        return [Entry(entry_id, fields) for entry_id, fields in reply[0][1]]

    async def handle_batch(self, batch: Sequence[Entry]) -> None:
        """Transform every entry, then acknowledge and forward the whole batch in one script call."""
        processed: list[_Processed] = []
        shared = self._prepare(batch)
        for entry in batch:
            started = time.perf_counter()
            outcome = self._process(entry)
            if outcome is not None:
                processed.append(_Processed(entry, outcome, time.perf_counter() - started + shared))
        if processed and isinstance(self.processor, BatchResolverStage):
            resolved = await self._resolve([item.outcome for item in processed])
            if resolved is None:
                return  # shutting down with Redis away: the entries stay pending and are reclaimed later
            for item, outcome in zip(processed, resolved, strict=True):
                item.outcome = outcome
        if processed:
            await self._forward(processed)
        self.metrics.batch_size.observe(len(batch))
        flush_logs()

    async def _resolve(self, outcomes: list[Outcome]) -> list[Outcome] | None:
        """The processor's per-batch Redis step; None when shutting down with Redis away.

        At maxmemory the step is retried a few times and then skipped for this batch: it only adds
        shared state (source templates, the near-duplicate index), and waiting for memory there could
        wait forever, since only the stages' own progress (trimming what they forwarded) frees memory.
        """
        assert isinstance(self.processor, BatchResolverStage)
        deadline = time.monotonic() + self.settings.shutdown_timeout_s
        refusals = 0
        while True:
            try:
                resolved = await self.processor.resolve(self.redis, outcomes)
                self.watch.succeeded()
                self.alarm.recovered(self.stage, "resolve")
                return resolved
            except (*_REDIS_DOWN, ResponseError) as exc:
                if not _passing(exc):
                    raise
                if self.stopping and time.monotonic() > deadline:
                    self._log.warning("resolve_abandoned_on_shutdown", entries=len(outcomes))
                    return None
                if not is_out_of_memory(exc):
                    await self.watch.failed(exc)
                    continue
                refusals += 1
                if refusals > _RESOLVE_OOM_ATTEMPTS:
                    self.metrics.resolve_skipped.inc(len(outcomes))
                    self._log.warning("resolve_skipped_out_of_memory", entries=len(outcomes))
                    return outcomes
                # The entries stay pending while the step is retried.
                await self.alarm.refused(self.stage, exc, "resolve")

    def _prepare(self, batch: Sequence[Entry]) -> float:
        """The processor's per-batch step, if it has one, over the entries that will be processed; returns its time
        per entry (each entry's processing time includes its share)."""
        if not isinstance(self.processor, BatchPreparingStage):
            return 0.0
        entries = [entry for entry in batch if entry.deliveries <= self.settings.max_deliveries]
        if not entries:
            return 0.0
        started = time.perf_counter()
        try:
            self.processor.prepare(entries)
        except Exception:
            # Nothing is lost: every entry is then processed on its own, and one that breaks the batch's step
            # fails alone (retried, then dead-lettered) while the others go on.
            self._log.exception("batch_preparation_failed", entries=len(entries))
        return (time.perf_counter() - started) / len(entries)

    def _process(self, entry: Entry) -> Outcome | None:
        if entry.deliveries > self.settings.max_deliveries:
            return Refuse(
                None,
                "max_deliveries",
                f"the {self.stage} failed on this entry {entry.deliveries - 1} times "
                "(or its worker died while holding it), so it was set aside",
            )
        try:
            with self.tracer.article_span(entry.fields, entry.id):
                outcome = self.processor.process(entry)
                if self.tracer.enabled and not isinstance(outcome, Refuse):
                    outcome.fields = _with_traceparent(outcome.fields, self.tracer.outgoing(entry.fields))
                return outcome
        except ArticleRefused as refused:
            return Refuse(None, refused.error_type, refused.reason)
        except Exception:
            # A bug or a transient failure: leave the entry pending, so it is retried after the
            # claim idle time and dead-lettered after max_deliveries.
            self.metrics.failures.inc()
            self._log.exception("processing_failed", stream_id=entry.id.decode(), deliveries=entry.deliveries)
            return None

    def _dead_letter_fields(self, entry: Entry, refusal: Refuse) -> FieldPairs:
        return [
            *entry.fields.items(),
            ("stage", self.stage),
            ("error_type", refusal.error_type),
            ("error", refusal.reason),
            ("attempts", str(entry.deliveries)),
            ("source_stream", self.input_stream),
            ("source_id", entry.id),
            ("failed_at", datetime.now(UTC).isoformat()),
        ]

    def _in_partition(self, outcome: Outcome) -> Outcome:
        """The outcome with its revision key in this worker's partition (the same key when unpartitioned)."""
        shared, own = self._revision_prefixes
        if isinstance(outcome, PublishRevision) and shared != own and outcome.revision_key.startswith(shared):
            outcome.revision_key = own + outcome.revision_key[len(shared) :]
        return outcome

    async def _forward(self, processed: Sequence[_Processed]) -> None:
        items = [
            (
                item.entry.id,
                self._in_partition(item.outcome),
                self._dead_letter_fields(item.entry, item.outcome)
                if isinstance(item.outcome, Refuse)
                else item.outcome.fields,
            )
            for item in processed
        ]
        deadline = time.monotonic() + self.settings.shutdown_timeout_s
        while True:
            try:
                statuses = await self.forward_script(
                    input_stream=self.input_stream,
                    output_stream=self.output_stream,
                    dlq_stream=self.dlq_stream,
                    rate_key=self.keys.rate(self.stage, time.time()),
                    group=self.group,
                    output_maxlen=self.output_maxlen,
                    revision_ttl_s=self.settings.dedup_retention_s,
                    items=items,
                )
                self.watch.succeeded()
                self.alarm.recovered(self.stage, "forward")
                break
            except (*_REDIS_DOWN, ResponseError) as exc:
                if not _passing(exc):
                    raise
                # Retrying is safe: the script adds nothing for entries it already acknowledged.
                if self.stopping and time.monotonic() > deadline:
                    self._log.warning("forward_abandoned_on_shutdown", entries=len(items))
                    return
                if is_out_of_memory(exc):
                    await self.alarm.refused(self.stage, exc, "forward")
                else:
                    await self.watch.failed(exc)
        for item, status in zip(processed, statuses, strict=True):
            self._record(item, status)
        await self._trim_if_due()

    async def _trim_if_due(self) -> None:
        """Trim acknowledged input (and the output to its byte budget) at most once a second, so progress frees memory.

        Trimming never needs memory (XTRIM is allowed at maxmemory); a failure here only delays it to the next batch.
        """
        now = time.monotonic()
        if now - self._trimmed_at < _TRIM_INTERVAL_S:
            return
        self._trimmed_at = now
        try:
            await trim_processed(self.redis, self.input_stream)
            await self._trim_output_to_budget()
        except (*_REDIS_DOWN, ResponseError) as exc:
            if not _passing(exc):
                raise
            self._log.debug("trim_deferred", error=f"{type(exc).__name__}: {exc}")

    async def _trim_output_to_budget(self) -> None:
        """Keep the output stream within its byte budget: MEMORY USAGE, then XTRIM MAXLEN ~ to the affordable length."""
        if not self.output_max_bytes:
            return
        used = await self.redis.memory_usage(self.output_stream)
        if not used or used <= self.output_max_bytes:
            return
        length = await self.redis.xlen(self.output_stream)
        if length <= 1:
            return
        keep = max(1, int(length * self.output_max_bytes / used))
        trimmed = await self.redis.xtrim(self.output_stream, maxlen=keep, approximate=True)
        self._log.debug("output_trimmed_to_budget", used_bytes=used, kept=keep, trimmed=trimmed)

    def _record(self, item: _Processed, status: str) -> None:
        """Count and log one article's outcome: the stage's one line per article."""
        outcome = item.outcome
        self.metrics.processing_seconds.observe(item.seconds)
        line = {
            "article_id": outcome.article_id,
            "stream_id": item.entry.id.decode(),
            "duration_ms": round(item.seconds * 1000, 3),
        }
        if status == "s":
            self.metrics.stale.inc()
            self._log.info("article_already_forwarded", **line)
        elif status == "u":
            self.metrics.unchanged.inc()
            self._log.info("article_unchanged", **line)
        elif isinstance(outcome, Refuse):
            self.metrics.dead_lettered.labels(stage=self.stage, error_type=outcome.error_type).inc()
            self._log.info("article_refused", error_type=outcome.error_type, error=outcome.reason, **line)
        else:
            self.metrics.processed.inc()
            if isinstance(outcome, PublishRevision):
                if outcome.received_at is not None:
                    self.metrics.article_age_seconds.observe(max(0.0, time.time() - outcome.received_at))
                if outcome.near_duplicate:
                    self.metrics.near_duplicates.inc()
            self._log.info("article_forwarded", **line)

    # -- reclaiming --------------------------------------------------------------------------

    async def _reclaim_loop(self) -> None:
        interval = self.settings.reclaim_interval_ms / 1000
        while not self.stopping:
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=interval * random.uniform(0.8, 1.2))
                return
            except TimeoutError:
                pass
            async with self._riding_out_redis("reclaim"):
                await self.reclaim_once()
                await self._remove_departed_consumers()
                groups = await trim_processed(self.redis, self.input_stream)
                await self._trim_output_to_budget()
                await self._refresh_gauges(groups)
                self.alarm.recovered(self.stage, "reclaim")
                await self._check_memory_recovered()

    async def _check_memory_recovered(self) -> None:
        """End an out-of-memory episode when Redis has memory again, also if no write of ours has tried since."""
        if not self.alarm.active(self.stage):
            return
        reading = await read_memory(self.redis)
        if not reading.maxmemory or reading.used_bytes < reading.maxmemory:
            self.alarm.recovered(self.stage)

    async def reclaim_once(self) -> int:
        """Claim entries idle longer than the claim idle time (from any consumer) and process them."""
        start: bytes | str = "0-0"
        total = 0
        while not self.stopping:
            reply: Any = await self.redis.xautoclaim(
                self.input_stream,
                self.group,
                self.consumer,
                min_idle_time=self.settings.claim_idle_ms,
                start_id=start,
                count=self.settings.batch_size,
            )
            start, claimed = reply[0], reply[1]
            batch = [Entry(entry_id, fields) for entry_id, fields in claimed if fields is not None]
            vanished = [entry_id for entry_id, fields in claimed if fields is None]
            if vanished:
                # Redis 6.2 returns trimmed entries with no fields; 7.x drops them itself.
                await self.redis.xack(self.input_stream, self.group, *vanished)
            if batch:
                await self._count_deliveries(batch)
                total += len(batch)
                self.metrics.reclaimed.inc(len(batch))
                self._log.info("entries_reclaimed", count=len(batch))
                await self.handle_batch(batch)
            if start in (b"0-0", "0-0"):
                break
        return total

    async def _count_deliveries(self, batch: list[Entry]) -> None:
        rows = await self.redis.xpending_range(
            self.input_stream,
            self.group,
            min=batch[0].id,
            max=batch[-1].id,
            count=len(batch) * 4,
            consumername=self.consumer,
        )
        counts = {row["message_id"]: int(row["times_delivered"]) for row in rows}
        for entry in batch:
            entry.deliveries = counts.get(entry.id, entry.deliveries)

    async def _refresh_gauges(self, groups: list[dict[str, Any]]) -> None:
        """Stream length, lag and pending of this stage's group, refreshed with the reclaim loop, not per message."""
        length = await self.redis.xlen(self.input_stream)
        for group in groups:
            name = group["name"].decode() if isinstance(group["name"], bytes) else group["name"]
            if name == self.group:
                # `lag` exists from Redis 7.0 on; it is None when Redis cannot tell (after deletions).
                self.metrics.set_backlog(length, group.get("lag"), group["pending"])

    async def _remove_departed_consumers(self) -> None:
        """Delete consumers that hold nothing and have not read for a while (dead or scaled-down workers)."""
        departed_after_ms = 2 * self.settings.claim_idle_ms
        for consumer in await self.redis.xinfo_consumers(self.input_stream, self.group):
            name = consumer["name"]
            name = name.decode() if isinstance(name, bytes) else name
            if name != self.consumer and consumer["pending"] == 0 and consumer["idle"] > departed_after_ms:
                await self.redis.xgroup_delconsumer(self.input_stream, self.group, name)
                self._log.info("consumer_removed", removed=name)

    async def _leave_group(self) -> None:
        """On shutdown: hand what is still pending under our name to the group, then delete our consumer.

        Entries are moved to a hand-off consumer with their idle time set to the claim idle time,
        so any live worker's reclaim loop takes them at once; no delivery is counted for this.
        """
        try:
            rows = await self.redis.xpending_range(
                self.input_stream, self.group, min="-", max="+", count=10_000, consumername=self.consumer
            )
            if rows:
                ids: list[Any] = [row["message_id"] for row in rows]
                await self.redis.xclaim(
                    self.input_stream,
                    self.group,
                    f"{self.stage}-handoff",
                    0,
                    ids,
                    idle=self.settings.claim_idle_ms,
                    justid=True,
                )
                self._log.info("pending_handed_off", count=len(ids))
            await self.redis.xgroup_delconsumer(self.input_stream, self.group, self.consumer)
        except _REDIS_DOWN as exc:
            # Whatever we still hold is reclaimed by the others after the claim idle time.
            self._log.warning("leave_group_failed", error=str(exc))


def _passing(exc: BaseException) -> bool:
    """Redis unreachable, failing over or at maxmemory: trouble that passes, worth retrying (unlike other replies)."""
    return isinstance(exc, _REDIS_DOWN) or is_out_of_memory(exc)


def _with_traceparent(fields: FieldPairs, traceparent: bytes | None) -> FieldPairs:
    """The fields with their `traceparent` set to this stage's span (added when the entry had none)."""
    if traceparent is None:
        return fields
    kept = [(name, value) for name, value in fields if name not in ("traceparent", b"traceparent")]
    return [*kept, ("traceparent", traceparent)]


async def ensure_group(redis: Redis, stream: str, group: str) -> None:
    """Create `group` on `stream` from its first entry, creating the stream too; no error when it exists.

    Looked up first (a read), so a worker starting while Redis is at maxmemory, which refuses
    XGROUP CREATE even for an existing group, still starts when its group is there.
    """
    try:
        existing = await redis.xinfo_groups(stream)
    except ResponseError:
        existing = []  # no such stream yet
    names = {g["name"].decode() if isinstance(g["name"], bytes) else g["name"] for g in existing}
    if group in names:
        return
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def trim_processed(redis: Redis, stream: str) -> list[dict[str, Any]]:
    """Trim `stream` below the oldest entry that any of its groups has not yet acknowledged; return XINFO GROUPS."""
    groups: list[dict[str, Any]] = await redis.xinfo_groups(stream)
    if not groups:
        return groups
    floor: tuple[int, int] | None = None
    for group in groups:
        candidates = [_parse_id(group["last-delivered-id"])]
        if group["pending"]:
            summary = await redis.xpending(stream, group["name"])
            # Acknowledged since XINFO GROUPS was read: nothing pending any more.
            if summary["min"] is not None:
                candidates.append(_parse_id(summary["min"]))
        # Entries never delivered to a group are above its last-delivered id, so they are kept.
        low = min(candidates)
        floor = low if floor is None else min(floor, low)
    if floor is not None and floor > (0, 0):
        await redis.xtrim(stream, minid=f"{floor[0]}-{floor[1]}", approximate=True)
    return groups


def _parse_id(value: bytes | str) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)
