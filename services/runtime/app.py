"""The composition root: one FastStream application per process, running the chosen stages.

FastStream owns the application's lifecycle (start-up and shutdown hooks, SIGINT/SIGTERM) and the
Redis connection (its RedisBroker); newswire's own StageWorker owns delivery, because the
guarantees in DESIGN.md need batched reads, XAUTOCLAIM and an atomic acknowledge-and-forward
that FastStream's stream subscriber does not give.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog
from faststream import FastStream
from faststream.redis import RedisBroker
from redis.asyncio import Redis

from services.runtime.delivery import StageProcessor, StageWorker
from services.runtime.http import HealthServer, Heartbeat, ReadinessProbe
from services.runtime.metrics import StageMetrics
from services.runtime.passthrough import PassThroughStage
from services.runtime.settings import STAGES, Settings

log = structlog.get_logger("newswire.app")


def build_stage(stage: str, settings: Settings) -> StageProcessor:
    """The processor of one stage, or the identity one when benchmarking the delivery alone."""
    if settings.identity_transforms:
        return PassThroughStage(stage)
    # Imported here so `run cleaner` does not load the enricher's models.
    if stage == "cleaner":
        from services.cleaner.wiring import CleanerStage

        return CleanerStage(settings)
    if stage == "enricher":
        from services.enricher.wiring import EnricherStage

        return EnricherStage(settings)
    if stage == "publisher":
        from services.publisher.wiring import PublisherStage

        return PublisherStage(settings)
    raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")


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


@dataclass
class Pipeline:
    """The stages of this process, their workers and the FastStream app that runs them."""

    settings: Settings
    stages: Sequence[str]
    redis_url: str
    on_ready: Callable[[Redis], None] | None = None
    workers: list[StageWorker] = field(default_factory=list)
    failed: bool = False

    def __post_init__(self) -> None:
        if self.settings.otel_enabled:
            from services.runtime.tracing import configure_tracing

            configure_tracing("newswire-" + "-".join(self.stages))
        self.processors = [build_stage(stage, self.settings) for stage in self.stages]
        for processor in self.processors:
            warm_up = getattr(processor, "warm_up", None)
            if callable(warm_up):
                warm_up()
        self.broker = RedisBroker(self.redis_url, **redis_client_options(self.settings, self.redis_url))  # type: ignore[arg-type]
        self.app = FastStream(self.broker, logger=None)
        self.app.after_startup(self._start_workers)
        self.app.on_shutdown(self._drain)
        self._tasks: list[asyncio.Task[None]] = []
        self.consumer = consumer_name(self.settings)
        # Bound now, before anything starts, so a taken port is one clear error rather than a failed start-up.
        self.heartbeat = Heartbeat()
        keys = self.settings.keys
        probe = ReadinessProbe(self.redis_url, [(keys.input_of(p.stage), p.stage) for p in self.processors])
        self.http = HealthServer(self.settings.http_host, self.settings.http_port, self.heartbeat, probe)

    async def _start_workers(self) -> None:
        client: Redis = await self.broker.connect()
        self._tasks.append(asyncio.create_task(self.heartbeat.beat(), name="heartbeat"))
        self.http.start()
        for processor in self.processors:
            worker = StageWorker(client, self.settings, processor, self.consumer, StageMetrics(processor.stage))
            self.workers.append(worker)
            task = asyncio.create_task(worker.run(), name=f"{processor.stage}-worker")
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
        worker_tasks = [task for task in self._tasks if task.get_name() != "heartbeat"]
        if worker_tasks:
            _done, pending = await asyncio.wait(worker_tasks, timeout=self.settings.shutdown_timeout_s)
            for task in pending:
                log.warning("worker_drain_timeout", task=task.get_name())
                task.cancel()
        for task in self._tasks:
            if task.get_name() == "heartbeat":
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
