"""Serving the ingest API with uvicorn: alone (`newswire run ingest`) or inside `newswire run all`.

The socket is bound when the server is made, so a taken port is one clear error before anything
starts, and port 0 is resolved to the real port for the `ingest_listening` log line. newswire, not
uvicorn, handles SIGTERM/SIGINT: uvicorn would re-raise the signal after its graceful shutdown and
the process would not exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator
from typing import Any

import structlog
import uvicorn

from newswire.ingest.app import IngestState, create_app
from newswire.runtime.connection import async_client
from newswire.runtime.http import PortInUse
from newswire.runtime.logging import flush_logs
from newswire.runtime.settings import Settings

log = structlog.get_logger("newswire.ingest")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling (the caller stops it with `should_exit`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int, *, fall_back: bool) -> tuple[socket.socket, int | None]:
    """A listening socket; with `fall_back` (the port is the default, not chosen) a taken port means a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if not (fall_back and port != 0):
            sock.close()
            raise PortInUse(
                f"cannot serve the ingest API on {host}:{port} ({exc.strerror}); give it another "
                "NEWSWIRE_INGEST_PORT, or 0 for a free one"
            ) from None
        sock.bind((host, 0))
        return sock, port
    return sock, None


class IngestServer:
    """The ingest API's HTTP server and its Redis client, started and stopped on the running event loop."""

    def __init__(self, settings: Settings, redis_url: str) -> None:
        self.settings = settings
        self.redis_url = redis_url
        self.socket, self.fell_back_from = bind(
            settings.http_host, settings.ingest_port, fall_back="ingest_port" not in settings.model_fields_set
        )
        self.client: Any = None
        self.server: _Server | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    async def start(self) -> None:
        """Serve until `stop`; returns once the server accepts connections."""
        self.client = async_client(self.redis_url, socket_timeout=5, socket_connect_timeout=5)
        app = create_app(self.settings, IngestState.build(self.settings, self.client))
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            access_log=False,
            # newswire logs what matters itself (ingest_listening, ingest_request, ingest_stopped).
            log_level="warning",
            server_header=False,
            http="httptools",
            timeout_graceful_shutdown=int(self.settings.shutdown_timeout_s),
            # Longer than the Retry-After of a 429 (5 s), so a client that waits as told finds its connection open.
            timeout_keep_alive=30,
        )
        self.server = _Server(config)
        self._tasks.append(asyncio.create_task(self.server.serve(sockets=[self.socket]), name="ingest-http"))
        self._tasks.append(asyncio.create_task(_flush_logs_every_second(), name="ingest-log-flush"))
        while not self.server.started:
            if self._tasks[0].done():
                await self._tasks[0]  # raises what stopped it
                raise RuntimeError("the ingest server stopped during start-up")
            await asyncio.sleep(0.01)
        log.info(
            "ingest_listening",
            host=self.settings.http_host,
            port=self.port,
            endpoints=["/v1/articles", "/v1/articles:batch", "/healthz", "/readyz", "/metrics", "/openapi.json"],
            **({"default_port_taken": self.fell_back_from} if self.fell_back_from is not None else {}),
        )
        # Tests and operators wait for this line to learn the port (0 picks one): write it out now.
        flush_logs()

    async def stop(self) -> None:
        """Stop accepting, finish the requests in flight (up to NEWSWIRE_SHUTDOWN_TIMEOUT_S), close Redis."""
        if self.server is not None:
            self.server.should_exit = True
        for task in self._tasks:
            if task.get_name() == "ingest-log-flush":
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        self.socket.close()
        log.info("ingest_stopped")
        flush_logs()

    async def run_until_signalled(self) -> bool:
        """`newswire run ingest`: serve until SIGTERM or SIGINT, then stop gracefully; True if it failed instead."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        await self.start()
        serving = self._tasks[0]
        waiter = asyncio.create_task(stopping.wait())
        await asyncio.wait([serving, waiter], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        failed = not stopping.is_set()
        if failed:
            log.error("ingest_server_stopped_unexpectedly",
                      error=repr(serving.exception()) if not serving.cancelled() else "cancelled")
        await self.stop()
        return failed


async def _flush_logs_every_second() -> None:
    while True:
        await asyncio.sleep(1.0)
        flush_logs()
