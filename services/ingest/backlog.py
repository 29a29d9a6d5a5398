"""The raw backlog as this process sees it between two readings, so concurrent requests cannot overshoot the limit.

`check_headroom` reads the backlog at most once a second. Between readings, this process counts
what it is writing (reserved before the write) and what it wrote since the reading was taken, and
refuses a request that would pass NEWSWIRE_MAX_RAW_BACKLOG. Replicas each count their own writes,
so with N replicas the limit can be passed by at most what the others add within one reading.
Successive readings also tell how fast the cleaner drains the backlog, so a refused client is told
to come back when there should be room for its request, not after a fixed time.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from newswire.runtime.pressure import RETRY_AFTER_S, Headroom

# A client told to retry sooner than this would mostly be refused again.
MIN_RETRY_AFTER_S = 1.0


class BacklogEstimate:
    """Readings from `read` (one at a time) plus this process's writes since."""

    def __init__(self, read: Callable[[], Awaitable[Headroom]], clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._clock = clock
        self.drain_per_s: float | None = None
        self._lock = asyncio.Lock()
        self._reading: Headroom | None = None
        self._reading_at = 0.0
        self._in_flight = 0
        self._written: deque[tuple[float, int]] = deque()

    async def headroom(self) -> tuple[Headroom, int]:
        """The current reading and the backlog estimate (reading + writes it cannot have seen)."""
        async with self._lock:
            started = self._clock()
            reading = await self._read()
            if reading is not self._reading:
                # A new reading was taken after `started`: writes completed before then are in it.
                self._learn_drain_rate(reading, started)
                self._reading, self._reading_at = reading, started
                while self._written and self._written[0][0] < started:
                    self._written.popleft()
        unseen = self._in_flight + sum(cost for at, cost in self._written if at >= self._reading_at)
        return reading, (reading.raw_backlog or 0) + unseen

    def retry_after_s(self, excess: int) -> float:
        """When `excess` more articles should have drained: between 1 s and the producers' usual 5 s."""
        if not self.drain_per_s:
            return RETRY_AFTER_S
        return round(min(RETRY_AFTER_S, max(MIN_RETRY_AFTER_S, excess / self.drain_per_s)), 1)

    def _learn_drain_rate(self, reading: Headroom, started: float) -> None:
        previous = self._reading
        if previous is None or previous.raw_backlog is None or reading.raw_backlog is None:
            return
        elapsed = started - self._reading_at
        if elapsed <= 0:
            return
        added = sum(cost for at, cost in self._written if self._reading_at <= at < started)
        drained = previous.raw_backlog + added - reading.raw_backlog
        if drained <= 0:
            return
        rate = drained / elapsed
        self.drain_per_s = rate if self.drain_per_s is None else (self.drain_per_s + rate) / 2

    def reserve(self, cost: int) -> None:
        self._in_flight += cost

    def release(self, cost: int, *, written: bool) -> None:
        self._in_flight -= cost
        if written:
            self._written.append((self._clock(), cost))


def reader(client: Any, settings: Any) -> Callable[[], Awaitable[Headroom]]:
    from newswire.runtime.pressure import check_headroom

    async def read() -> Headroom:
        return await check_headroom(client, settings)

    return read
