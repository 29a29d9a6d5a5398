"""The raw backlog as this process sees it between two readings, so concurrent requests cannot overshoot the limit.

`check_headroom` reads the backlog at most once a second. Between readings, this process counts
what it is writing (reserved before the write) and what it wrote since the reading was taken, and
refuses a request that would pass NEWSWIRE_MAX_RAW_BACKLOG. Replicas each count their own writes,
so with N replicas the limit can be passed by at most what the others add within one reading.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from newswire.runtime.pressure import Headroom


class BacklogEstimate:
    """Readings from `read` (one at a time) plus this process's writes since."""

    def __init__(self, read: Callable[[], Awaitable[Headroom]]) -> None:
        self._read = read
        self._lock = asyncio.Lock()
        self._reading: Headroom | None = None
        self._reading_at = 0.0
        self._in_flight = 0
        self._written: deque[tuple[float, int]] = deque()

    async def headroom(self) -> tuple[Headroom, int]:
        """The current reading and the backlog estimate (reading + writes it cannot have seen)."""
        async with self._lock:
            started = time.monotonic()
            reading = await self._read()
            if reading is not self._reading:
                # A new reading was taken after `started`: writes completed before then are in it.
                self._reading, self._reading_at = reading, started
                while self._written and self._written[0][0] < started:
                    self._written.popleft()
        unseen = self._in_flight + sum(cost for at, cost in self._written if at >= self._reading_at)
        return reading, (reading.raw_backlog or 0) + unseen

    def reserve(self, cost: int) -> None:
        self._in_flight += cost

    def release(self, cost: int, *, written: bool) -> None:
        self._in_flight -= cost
        if written:
            self._written.append((time.monotonic(), cost))


def reader(client: Any, settings: Any) -> Callable[[], Awaitable[Headroom]]:
    from newswire.runtime.pressure import check_headroom

    async def read() -> Headroom:
        return await check_headroom(client, settings)

    return read
