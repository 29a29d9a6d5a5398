"""The pipeline page's data: `newswire stats` figures sampled every few seconds, with a short throughput history."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
import structlog

from newswire.cli.stats import collect
from newswire.runtime.settings import Settings
from newswire.stages import STAGE_NAMES

log = structlog.get_logger("newswire.console")

HISTORY_S = 15 * 60


def snapshot(client: redis.Redis, settings: Settings, now: float | None = None) -> dict[str, Any]:
    """`newswire stats` figures (every stream and group of every partition, dead letters, throughput, memory),
    with each group's consumers and their idle time."""
    figures = collect(client, settings, time.time() if now is None else now)
    figures.setdefault("time", time.time() if now is None else now)
    for stream in figures.get("streams", []):
        for group in stream.get("groups", []):
            group["consumer_list"] = consumers(client, stream["key"], group["group"])
    return figures


def finished_minutes(client: redis.Redis, settings: Settings, now: float) -> list[tuple[float, dict[str, float]]]:
    """Each stage's throughput in the last two whole minutes, from the counters the stages keep (3 minutes),
    so a console that has just started already draws a little history."""
    points = []
    for minutes_ago in (2, 1):
        start = (now // 60 - minutes_ago) * 60
        rates = {}
        for stage in STAGE_NAMES:
            counters = client.mget([keys.rate(stage, start) for keys in settings.partition_keys()])
            rates[stage] = round(sum(int(count or 0) for count in counters) / 60, 2)
        points.append((start + 60, rates))
    return points


def consumers(client: redis.Redis, key: str, group: str) -> list[dict[str, Any]]:
    """Each consumer of a group with its pending count and the seconds since it last read."""
    try:
        rows: Any = client.xinfo_consumers(key, group)
    except redis.ResponseError:
        return []
    return [
        {
            "name": row["name"].decode() if isinstance(row["name"], bytes) else str(row["name"]),
            "pending": int(row.get("pending", 0)),
            "idle_s": round(int(row.get("idle", 0)) / 1000, 1),
        }
        for row in rows
    ]


@dataclass(slots=True)
class PipelineMonitor:
    """Samples the pipeline every `interval_s` and keeps the latest figures and a throughput history.

    One sampler per console process, whatever the number of open pages: each page's live stream waits
    for the next sample instead of querying Redis itself.
    """

    read: Callable[[], dict[str, Any]]
    interval_s: float = 2.0
    latest: dict[str, Any] | None = None
    error: str | None = None
    history: deque[tuple[float, dict[str, float]]] = field(default_factory=deque)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _version: int = 0

    async def run(self, seed: Callable[[], list[tuple[float, dict[str, float]]]] | None = None) -> None:
        """Sample until cancelled; a Redis outage is shown on the page and logged once, not raised."""
        if seed is not None:
            try:
                self.history.extend(await asyncio.to_thread(seed))
            except (redis.RedisError, OSError) as exc:
                log.warning("console_history_unavailable", error=str(exc))
        while True:
            await self.sample()
            await asyncio.sleep(self.interval_s)

    async def sample(self) -> None:
        try:
            figures = await asyncio.to_thread(self.read)
        except (redis.RedisError, OSError) as exc:
            if self.error is None:
                log.warning("console_redis_unavailable", error=str(exc))
            self.error = f"Redis did not answer: {type(exc).__name__}"
        else:
            if self.error is not None:
                log.info("console_redis_available")
            self.error = None
            self.latest = figures
            rates = {stage: float(rate or 0.0) for stage, rate in (figures.get("throughput_per_s") or {}).items()}
            self.history.append((figures["time"], rates))
            while self.history and self.history[0][0] < figures["time"] - HISTORY_S:
                self.history.popleft()
        async with self._changed:
            self._version += 1
            self._changed.notify_all()

    async def next_version(self, seen: int, timeout_s: float) -> int:
        """Wait until a sample newer than `seen` exists (or the timeout passes); return the current version."""
        async with self._changed:
            if self._version == seen:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout_s)
            return self._version

    def payload(self) -> dict[str, Any]:
        """What the page shows: the latest figures, the throughput history and any error."""
        return {
            "figures": self.latest,
            "error": self.error,
            "history": {
                "times": [round(at, 1) for at, _ in self.history],
                "stages": {stage: [rates.get(stage, 0.0) for _, rates in self.history] for stage in STAGE_NAMES},
            },
        }
