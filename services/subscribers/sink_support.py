"""What every sink shares: transient-error retries, its dead-letter stream, throughput counts, signals."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import redis
import structlog

from newswire.runtime.http import Heartbeat
from newswire.runtime.logging import flush_logs
from newswire.subscribers.sink_metrics import SINK_EVENTS, SINK_RETRIES

if TYPE_CHECKING:
    from newswire.runtime.connection import SyncRedis
    from newswire.subscribers.reader import PublishedEntry

log = structlog.get_logger("newswire.sink")

T = TypeVar("T")


# Redis errors a sink waits out (an outage, a failover) rather than crashing on.
REDIS_TRANSIENT: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError)


class Stopped(Exception):
    """The sink was asked to stop while waiting to retry; the batch stays unacknowledged."""


def backoff_delay(attempt: int, *, base_s: float, cap_s: float) -> float:
    """Exponential backoff with full jitter: attempt 1 waits up to `base_s`, each next one up to twice more."""
    return random.uniform(0, min(cap_s, base_s * 2 ** (attempt - 1)))


def retry_transient(
    action: Callable[[], T],
    stop: threading.Event,
    *,
    what: str,
    errors: tuple[type[BaseException], ...],
    on_error: Callable[[], None] | None = None,
    base_s: float = 0.5,
    cap_s: float = 30.0,
    stats: SinkStats | None = None,
) -> T:
    """Run `action` until it succeeds, backing off on `errors` (logged once when they start and once when
    they end); raise Stopped when `stop` is set while waiting."""
    attempt = 0
    while True:
        try:
            result = action()
        except errors as exc:
            attempt += 1
            if attempt == 1:
                log.warning(f"{what}_failing", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            if on_error is not None:
                on_error()
            if stats is not None:
                SINK_RETRIES.labels(stats.sink).inc()
                stats.tick()
            if stop.wait(backoff_delay(attempt, base_s=base_s, cap_s=cap_s)):
                raise Stopped from exc
            continue
        if attempt:
            log.info(f"{what}_recovered", attempts=attempt + 1)
        return result


class RedisOutage:
    """Backs off while Redis is unreachable, logging the outage once when it starts and once when it ends."""

    def __init__(self) -> None:
        self.attempts = 0

    def failed(self, exc: Exception, stop: threading.Event) -> None:
        self.attempts += 1
        if self.attempts == 1:
            log.warning("redis_unavailable", error=str(exc))
        stop.wait(backoff_delay(self.attempts, base_s=0.2, cap_s=5.0))

    def recovered(self) -> None:
        if self.attempts:
            log.info("redis_available_again", attempts=self.attempts)
            self.attempts = 0


class SinkDeadLetters:
    """A sink's own dead-letter stream: the original entry's fields plus why it could not be delivered."""

    def __init__(self, client: SyncRedis, stream: str, sink: str) -> None:
        self.client = client
        self.stream = stream
        self.sink = sink

    def add(self, entry: PublishedEntry, *, error_type: str, error: str, attempts: int) -> None:
        fields: dict[str, bytes | str] = {name.decode(): value for name, value in entry.fields.items()}
        fields.update(
            {
                "sink": self.sink,
                "error_type": error_type,
                "error": error,
                "attempts": str(attempts),
                "failed_at": datetime.now(UTC).isoformat(),
            }
        )
        # A replayed dead letter that fails again keeps pointing at the published entry it came from.
        fields.setdefault("source_stream", entry.stream)
        fields.setdefault("source_id", entry.entry_id)
        self.client.xadd(self.stream, fields)  # type: ignore[arg-type]
        log.warning("event_dead_lettered", sink=self.sink, event_id=entry.event_id, error_type=error_type,
                    error=error, dead_letter_stream=self.stream)


@dataclass
class SinkStats:
    """Counts of what a sink did: Prometheus counters, and a log line every `interval_s` with the rate.

    `tick()` marks the sink alive for /healthz; it is called on every read and while waiting to retry.
    """

    sink: str = "sink"
    interval_s: float = 10.0
    heartbeat: Heartbeat | None = None
    written: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    _last_log: float = field(default_factory=time.monotonic)
    _last_written: int = 0
    # Webhook deliveries count from several threads.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, *, written: int, skipped: int = 0, dead_lettered: int = 0) -> None:
        for outcome, number in (("delivered", written), ("filtered", skipped), ("dead_lettered", dead_lettered)):
            if number:
                SINK_EVENTS.labels(self.sink, outcome).inc(number)
        with self._lock:
            self._count(written, skipped, dead_lettered)
        self.tick()

    def tick(self) -> None:
        """Mark the sink alive and write out buffered log lines (after every read, batch and retry wait)."""
        if self.heartbeat is not None:
            self.heartbeat.last = time.monotonic()
        flush_logs()

    def _count(self, written: int, skipped: int, dead_lettered: int) -> None:
        self.written += written
        self.skipped += skipped
        self.dead_lettered += dead_lettered
        now = time.monotonic()
        if now - self._last_log >= self.interval_s:
            rate = (self.written - self._last_written) / (now - self._last_log)
            log.info("sink_progress", delivered=self.written, filtered_out=self.skipped,
                     dead_lettered=self.dead_lettered, per_second=round(rate, 1))
            self._last_log, self._last_written = now, self.written


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the sink finishes (or abandons, unacknowledged) its batch and exits."""
    stop = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        log.info("sink_stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop
