"""Memory pressure: the high-water mark producers respect, and out-of-memory as back-pressure for workers.

Producers (`newswire publish`, `newswire.client`, the HTTP ingest) call `check_headroom` before adding
articles and refuse them while Redis's memory is above `NEWSWIRE_HIGH_WATER_PERCENT` of `maxmemory`
(or the raw backlog above `NEWSWIRE_MAX_RAW_BACKLOG`): the memory above the mark is the pipeline's, so
it can always carry what Redis accepted to the published stream. Scrapers using a raw `XADD` get
Redis's own OOM error once memory is full.

Workers never stop on an OOM error: `MemoryAlarm` records it (the entry stays pending, the worker backs
off and retries), logs once when it starts and once when it ends, counts it, and makes `/readyz` answer
not ready with the reason until a write succeeds again.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from redis.exceptions import OutOfMemoryError, RedisClusterException, RedisError, ResponseError

from newswire.runtime.connection import is_cluster
from newswire.runtime.metrics import (
    REDIS_HIGH_WATER,
    REDIS_MAXMEMORY,
    REDIS_MEMORY_USED,
    REDIS_OUT_OF_MEMORY,
    REDIS_OUT_OF_MEMORY_ERRORS,
)

if TYPE_CHECKING:
    from newswire.runtime.settings import Settings

log = structlog.get_logger("newswire.pressure")

# How long one INFO memory reading is trusted: producers call `check_headroom` per article or per chunk.
CACHE_S = 1.0
# What a refused producer is told to wait: about the time the workers need to free a batch's worth.
RETRY_AFTER_S = 5.0


def is_out_of_memory(exc: BaseException) -> bool:
    """Redis refused a write because `maxmemory` is reached (`-OOM`, also from a script or a pipeline)."""
    return isinstance(exc, OutOfMemoryError) or (
        isinstance(exc, ResponseError) and "command not allowed when used memory" in str(exc)
    )


@dataclass(frozen=True, slots=True)
class MemoryReading:
    """Redis memory as INFO reports it; for a cluster, the fullest primary's."""

    used_bytes: int
    maxmemory: int
    node: str | None = None

    @property
    def percent(self) -> float | None:
        return None if not self.maxmemory else 100.0 * self.used_bytes / self.maxmemory


@dataclass(frozen=True, slots=True)
class Headroom:
    """Whether producers may add new articles now; when not, why and when to try again."""

    ok: bool
    reason: str = ""
    retry_after_s: float = 0.0
    memory: MemoryReading | None = None
    high_water_bytes: int | None = None
    raw_backlog: int | None = None


class HeadroomExceeded(Exception):
    """Redis is above the high-water mark (or the raw backlog above its limit): new articles are refused."""

    def __init__(self, headroom: Headroom) -> None:
        super().__init__(headroom.reason)
        self.headroom = headroom


def _mib(value: int) -> str:
    return f"{value / 1048576:.1f} MiB"


def _parse_memory(info: Any) -> MemoryReading:
    """INFO memory from one server, or a cluster's {node: info}: the fullest node (by share of its maxmemory)."""
    if "used_memory" in info:
        return MemoryReading(int(info["used_memory"]), int(info.get("maxmemory") or 0))
    readings = [
        MemoryReading(int(node_info["used_memory"]), int(node_info.get("maxmemory") or 0), str(node))
        for node, node_info in info.items()
    ]
    return max(readings, key=lambda r: (r.percent or 0.0, r.used_bytes))


def _cluster_info(client: Any) -> dict[str, Any]:
    """INFO memory of each primary of a cluster, by `host:port` (asked one node at a time: one reply shape)."""
    return {node.name: client.info("memory", target_nodes=node) for node in client.get_primaries()}


async def _cluster_info_async(client: Any) -> dict[str, Any]:
    if not client.get_primaries():
        await client.initialize()  # the asyncio cluster client learns its nodes on first use
    return {node.name: await client.info("memory", target_nodes=node) for node in client.get_primaries()}


def judge(settings: Settings, memory: MemoryReading, raw_backlog: int | None) -> Headroom:
    """The decision, from readings (pure, so it is tested without Redis)."""
    high_water = int(memory.maxmemory * settings.high_water_percent / 100) if memory.maxmemory else None
    if high_water is not None and memory.used_bytes >= high_water:
        where = f" on {memory.node}" if memory.node else ""
        reason = (
            f"Redis memory{where} is {_mib(memory.used_bytes)} of {_mib(memory.maxmemory)} maxmemory, above the "
            f"{settings.high_water_percent:g}% high-water mark (NEWSWIRE_HIGH_WATER_PERCENT) kept for the pipeline "
            f"to drain; retry in {RETRY_AFTER_S:g} s"
        )
        return Headroom(False, reason, RETRY_AFTER_S, memory, high_water, raw_backlog)
    if settings.max_raw_backlog and raw_backlog is not None and raw_backlog >= settings.max_raw_backlog:
        reason = (
            f"{raw_backlog} raw articles are waiting for the cleaner, at or above NEWSWIRE_MAX_RAW_BACKLOG "
            f"({settings.max_raw_backlog}); retry in {RETRY_AFTER_S:g} s"
        )
        return Headroom(False, reason, RETRY_AFTER_S, memory, high_water, raw_backlog)
    return Headroom(True, memory=memory, high_water_bytes=high_water, raw_backlog=raw_backlog)


def _backlog_from_groups(groups: Any, length: int) -> int:
    """Raw entries not yet done by the slowest group reading raw (the first stage's); the length without one."""
    backlogs = [
        int(group["lag"]) + int(group["pending"]) if group.get("lag") is not None else length for group in groups
    ]
    return max(backlogs, default=length)


@dataclass
class _Cached:
    at: float
    headroom: Headroom


_cache: weakref.WeakKeyDictionary[Any, _Cached] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _cached(client: Any) -> Headroom | None:
    with _cache_lock:
        hit = _cache.get(client)
    return hit.headroom if hit is not None and time.monotonic() - hit.at < CACHE_S else None


def _remember(client: Any, headroom: Headroom) -> Headroom:
    with _cache_lock:
        _cache[client] = _Cached(time.monotonic(), headroom)
    return headroom


async def check_headroom(redis: Any, settings: Settings) -> Headroom:
    """Whether new articles may be added now (asyncio client); INFO is read at most once a second per client."""
    hit = _cached(redis)
    if hit is not None:
        return hit
    memory = await read_memory(redis)
    backlog = None
    if settings.max_raw_backlog:
        backlog = 0
        for keys in settings.partition_keys():
            length = int(await redis.xlen(keys.raw))
            groups = await redis.xinfo_groups(keys.raw) if length else []
            backlog += _backlog_from_groups(groups, length)
    return _remember(redis, judge(settings, memory, backlog))


def check_headroom_sync(client: Any, settings: Settings) -> Headroom:
    """`check_headroom` for a blocking client (the CLI, `newswire.client`)."""
    hit = _cached(client)
    if hit is not None:
        return hit
    memory = read_memory_sync(client)
    backlog = None
    if settings.max_raw_backlog:
        backlog = 0
        for keys in settings.partition_keys():
            length = int(client.xlen(keys.raw))
            groups = client.xinfo_groups(keys.raw) if length else []
            backlog += _backlog_from_groups(groups, length)
    return _remember(client, judge(settings, memory, backlog))


def read_memory_sync(client: Any) -> MemoryReading:
    """Redis memory now (the fullest primary of a cluster), uncached."""
    if is_cluster(client):
        return _parse_memory(_cluster_info(client))
    return _parse_memory(client.info("memory"))


async def read_memory(redis: Any) -> MemoryReading:
    """Redis memory now (the fullest primary of a cluster), uncached, from an asyncio client."""
    if is_cluster(redis):
        return _parse_memory(await _cluster_info_async(redis))
    return _parse_memory(await redis.info("memory"))


async def report_memory(redis: Any, settings: Settings, interval_s: float) -> None:
    """Keep the Redis memory gauges current (for the alert that fires before the high-water mark)."""
    while True:
        try:
            reading = await read_memory(redis)
            REDIS_MEMORY_USED.set(reading.used_bytes)
            REDIS_MAXMEMORY.set(reading.maxmemory)
            REDIS_HIGH_WATER.set(int(reading.maxmemory * settings.high_water_percent / 100))
        except (ConnectionError, OSError, RedisError, RedisClusterException) as exc:
            log.debug("memory_reading_failed", error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(interval_s)


@dataclass
class MemoryAlarm:
    """Out-of-memory state of a process's workers, shared with `/readyz`.

    `refused` is called on every OOM error (then the caller backs off and retries with the entry still
    pending); `recovered` once the refused kind of write has succeeded (or Redis has memory again). An
    episode of a stage starts with its first refusal and ends when every kind of write refused in it has
    gone through: logged once at each end, whatever the number of retries in between.
    """

    refused_ops: dict[str, set[str]] = field(default_factory=dict)
    since: dict[str, float] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def refused(self, stage: str, exc: BaseException, what: str) -> None:
        REDIS_OUT_OF_MEMORY_ERRORS.labels(stage=stage, operation=what).inc()
        with self._lock:
            starting = stage not in self.since
            if starting:
                self.since[stage] = time.monotonic()
            self.refused_ops.setdefault(stage, set()).add(what)
            attempt = self.attempts[stage] = self.attempts.get(stage, 0) + 1
        if starting:
            REDIS_OUT_OF_MEMORY.labels(stage=stage).set(1)
            log.warning("redis_out_of_memory", stage=stage, operation=what, error=str(exc))
        # Full jitter, capped low: memory frees as soon as another stage trims, so retry soon.
        await asyncio.sleep(random.uniform(0.05, min(2.0, 0.1 * 2 ** min(attempt, 5))))

    def active(self, stage: str) -> bool:
        return stage in self.since

    def recovered(self, stage: str, what: str | None = None) -> None:
        """The write `what` of `stage` went through (None: Redis has memory again, so all of them would)."""
        if stage not in self.since:
            return
        with self._lock:
            ops = self.refused_ops.get(stage, set())
            if what is None:
                ops.clear()
            else:
                ops.discard(what)
            if ops:
                return
            started = self.since.pop(stage, None)
            self.refused_ops.pop(stage, None)
            self.attempts.pop(stage, None)
        if started is not None:
            REDIS_OUT_OF_MEMORY.labels(stage=stage).set(0)
            log.warning("redis_memory_recovered", stage=stage, refused_for_s=round(time.monotonic() - started, 3))

    def reason(self) -> str | None:
        """Why the process is not ready, or None: the stages whose writes Redis is refusing."""
        with self._lock:
            if not self.since:
                return None
            now = time.monotonic()
            parts = [f"{stage} for {now - since:.0f} s" for stage, since in sorted(self.since.items())]
        return (
            "redis out of memory (maxmemory reached): writes refused ("
            + ", ".join(parts)
            + "); entries stay pending and the worker retries"
        )
