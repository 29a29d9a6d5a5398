"""HTTP endpoints of a worker: /metrics (Prometheus), /healthz (liveness), /readyz (readiness).

Served from a thread, so a long batch in the event loop never makes a probe time out; the
liveness check instead looks at the loop's heartbeat, so a wedged loop does fail it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from newswire.runtime.connection import sync_client
from newswire.runtime.logging import flush_logs
from newswire.runtime.metrics import REGISTRY
from newswire.runtime.pressure import MemoryAlarm, read_memory_sync

log = structlog.get_logger("newswire.http")

# A loop that has not ticked for this long is stuck (a batch takes well under a second).
_LIVENESS_LIMIT_S = 60.0


class Heartbeat:
    """Ticks from the event loop; read from the HTTP thread."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    async def beat(self, interval_s: float = 1.0) -> None:
        while True:
            self.last = time.monotonic()
            flush_logs()
            await asyncio.sleep(interval_s)

    def age(self) -> float:
        return time.monotonic() - self.last


class ReadinessProbe:
    """Ready when Redis answers, has memory left, every stage's consumer group exists (on every partition), and
    no worker of this process is backing off because Redis refused a write for lack of memory."""

    def __init__(self, redis_url: str, groups: Sequence[tuple[str, str]], alarm: MemoryAlarm | None = None) -> None:
        self.client = sync_client(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.groups = groups
        self.alarm = alarm

    def check(self) -> tuple[bool, str]:
        try:
            self.client.ping()
            for stream, group in self.groups:
                names = {g["name"].decode() for g in self.client.xinfo_groups(stream)}
                if group not in names:
                    return False, f"consumer group {group} does not exist on {stream}"
            refused = self.alarm.reason() if self.alarm is not None else None
            if refused is not None:
                return False, refused
            memory = read_memory_sync(self.client)
        except redis.ResponseError as exc:
            return False, f"redis error: {exc}"
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            return False, f"redis unreachable: {type(exc).__name__}"
        if memory.maxmemory and memory.used_bytes >= memory.maxmemory:
            where = f" on {memory.node}" if memory.node else ""
            return False, (
                f"redis out of memory{where}: {memory.used_bytes} bytes used of {memory.maxmemory} maxmemory; "
                "new writes are refused while the workers drain"
            )
        return True, "ready"


def _handler(heartbeat: Heartbeat, ready: Callable[[], tuple[bool, str]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                age = heartbeat.age()
                alive = age < _LIVENESS_LIMIT_S
                self._send(200 if alive else 503, (b"ok\n" if alive else b"event loop stalled\n"))
            elif path == "/readyz":
                ok, reason = ready()
                self._send(200 if ok else 503, reason.encode() + b"\n")
            else:
                self._send(404, b"not found: try /metrics, /healthz or /readyz\n")

        def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Probes every few seconds would drown the article lines."""

    return Handler


class PortInUse(Exception):
    """The HTTP port is taken (another worker on this host?)."""


class HealthServer:
    """The worker's HTTP server, in a daemon thread."""

    def __init__(
        self, host: str, port: int, heartbeat: Heartbeat, probe: ReadinessProbe, *, fall_back: bool = False
    ) -> None:
        """Bind now; with `fall_back` (the port is the default, not chosen) a taken port means a free one."""
        handler = _handler(heartbeat, probe.check)
        self.fell_back_from: int | None = None
        try:
            self.server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            if fall_back and port != 0:
                self.server = ThreadingHTTPServer((host, 0), handler)
                self.fell_back_from = port
            else:
                raise PortInUse(
                    f"cannot serve metrics and health on {host}:{port} ({exc.strerror}); another worker on this "
                    "host may hold it: give each its own NEWSWIRE_HTTP_PORT, or 0 for a free one"
                ) from None
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="newswire-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()
        log.info(
            "http_listening",
            port=self.port,
            endpoints=["/metrics", "/healthz", "/readyz"],
            **({"default_port_taken": self.fell_back_from} if self.fell_back_from is not None else {}),
        )

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
