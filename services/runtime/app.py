"""The composition root: one FastStream application per process, running the chosen stages.

FastStream owns the application's lifecycle (start-up and shutdown hooks, SIGINT/SIGTERM) and holds the
Redis connection in its broker; the redis-py client itself is newswire's (`newswire.runtime.connection`),
plugged into the broker's connection slot, so one code path serves a single server, Sentinel
(`redis+sentinel://`) and Cluster (`redis+cluster://`). newswire's own StageWorker owns delivery, because the
guarantees in the README ("How delivery works") need batched reads with a per-batch atomic
acknowledge-and-forward script, reclaim with delivery counts and a dead-letter cap, and a drain
that hands pending entries over on shutdown, which FastStream's per-message stream subscriber
does not combine. The stages to run are given (`newswire.stages` builds them); nothing here
imports a stage.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from faststream import FastStream
from faststream.redis import RedisBroker
from faststream.redis.configs.state import ConnectionState
from redis.asyncio import Redis

from newswire.runtime.connection import async_client
from newswire.runtime.delivery import StageProcessor, StageWorker
from newswire.runtime.http import HealthServer, Heartbeat, ReadinessProbe
from newswire.runtime.metrics import StageMetrics
from newswire.runtime.passthrough import PassThroughStage
from newswire.runtime.pressure import MemoryAlarm, report_memory
from newswire.runtime.settings import Settings
from newswire.runtime.stage import Stage

log = structlog.get_logger("newswire.app")

# Tasks that run beside the workers and are cancelled, not drained, at shutdown.
_HOUSEKEEPING = ("heartbeat", "memory")


def build_processor(stage: Stage, settings: Settings) -> StageProcessor:
    """The processor of one stage, or the identity one when benchmarking the delivery alone."""
    if settings.identity_transforms:
        return PassThroughStage()
    return stage.processor(settings)


def consumer_name(settings: Settings) -> str:
    """Unique per process, stable for its life: host, pid and a random suffix (pids repeat in containers)."""
    return settings.consumer_name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def redis_client_options(settings: Settings, url: str) -> dict[str, object]:
    """Connection options for every Redis client of a worker."""
    options: dict[str, object] = {
        # Longer than a blocking read, so a quiet stream is not mistaken for a dead connection.
        "socket_timeout": settings.block_ms / 1000 + 10,
        "socket_connect_timeout": 5,
        "health_check_interval": 30,
    }
    if not url.startswith("unix://"):
        options["socket_keepalive"] = True
    return options


class _OwnClient(ConnectionState[Any]):
    """FastStream's connection slot holding newswire's redis-py client (one server, Sentinel or Cluster)."""

    __slots__ = ("_url",)

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        super().__init__(options)
        self._url = url

    async def connect(self) -> Any:
        if self._client is None:
            self._client = async_client(self._url, **self._options)
            self._connected = True
        return self._client


class NewswireBroker(RedisBroker):
    """A FastStream RedisBroker whose connection is `newswire.runtime.connection.async_client(url)`."""

    def __init__(self, url: str, **options: Any) -> None:
        self._own_client = _OwnClient(url, options)
        # FastStream parses this URL for its own records only; the real one (password included) stays private.
        super().__init__("redis://localhost:6379", specification_url="redis://newswire")

    def _make_connection_state(self, connection_options: dict[str, Any], kwargs: dict[str, Any]) -> Any:
        return self._own_client


@dataclass
class Pipeline:
    """The stages of this process, their workers and the FastStream app that runs them."""

    settings: Settings
    stages: Sequence[Stage]
    redis_url: str
    on_ready: Callable[[Redis], None] | None = None
    workers: list[StageWorker] = field(default_factory=list)
    failed: bool = False

    def __post_init__(self) -> None:
        if self.settings.otel_enabled:
            from newswire.runtime.tracing import configure_tracing

            configure_tracing("newswire-" + "-".join(stage.name for stage in self.stages))
        self.processors = [build_processor(stage, self.settings) for stage in self.stages]
        for processor in self.processors:
            processor.warm_up()
        self.broker = NewswireBroker(self.redis_url, **redis_client_options(self.settings, self.redis_url))
        self.app = FastStream(self.broker, logger=None)
        self.app.after_startup(self._start_workers)
        self.app.on_shutdown(self._drain)
        self._tasks: list[asyncio.Task[None]] = []
        self.consumer = consumer_name(self.settings)
        # Bound now, before anything starts, so a taken port is one clear error rather than a failed start-up.
        self.heartbeat = Heartbeat()
        self.alarm = MemoryAlarm()
        groups = [
            (stage.input_stream(keys), stage.name) for keys in self.settings.partition_keys() for stage in self.stages
        ]
        probe = ReadinessProbe(self.redis_url, groups, self.alarm)
        # Only a port the operator chose is worth stopping for; the default one falls back to a free port.
        self.http = HealthServer(
            self.settings.http_host,
            self.settings.http_port,
            self.heartbeat,
            probe,
            fall_back="http_port" not in self.settings.model_fields_set,
        )

    async def _start_workers(self) -> None:
        client: Redis = await self.broker.connect()
        self._tasks.append(asyncio.create_task(self.heartbeat.beat(), name="heartbeat"))
        interval = self.settings.reclaim_interval_ms / 1000
        self._tasks.append(asyncio.create_task(report_memory(client, self.settings, interval), name="memory"))
        self.http.start()
        partitioned = self.settings.partitions > 1
        # One worker per stage and partition: each waits on its own partition, so all are served alike
        # and a partition whose Redis node is slow or away holds up no other.
        for stage, processor in zip(self.stages, self.processors, strict=True):
            for keys in self.settings.partition_keys():
                metrics = StageMetrics(stage.name, keys.partition)
                worker = StageWorker(
                    client, self.settings, stage, processor, self.consumer, metrics, keys=keys, alarm=self.alarm
                )
                self.workers.append(worker)
                name = f"{stage.name}-{keys.partition}-worker" if partitioned else f"{stage.name}-worker"
                task = asyncio.create_task(worker.run(), name=name)
                task.add_done_callback(self._worker_done)
                self._tasks.append(task)
        if self.on_ready is not None:
            self.on_ready(client)

    def _worker_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        # A bug in the delivery loop itself: stop the process loudly so the supervisor restarts it.
        self.failed = True
        log.error("worker_crashed", task=task.get_name(), exc_info=task.exception())
        self.app.exit()

    async def _drain(self) -> None:
        """SIGTERM: stop reading, finish and forward the batches in hand, leave the groups."""
        for worker in self.workers:
            worker.stop()
        worker_tasks = [task for task in self._tasks if task.get_name() not in _HOUSEKEEPING]
        if worker_tasks:
            _done, pending = await asyncio.wait(worker_tasks, timeout=self.settings.shutdown_timeout_s)
            for task in pending:
                log.warning("worker_drain_timeout", task=task.get_name())
                task.cancel()
        for task in self._tasks:
            if task.get_name() in _HOUSEKEEPING:
                task.cancel()
        self.http.stop()

    async def run(self) -> None:
        """Run until SIGINT/SIGTERM (FastStream's signal handling), then drain."""
        await self.app.run()

    async def start(self) -> None:
        """Start without installing signal handlers (embedding, tests)."""
        await self.app.start()

    async def stop(self) -> None:
        """Drain the workers and close the connection."""
        await self.app.stop()
