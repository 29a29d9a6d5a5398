"""Sink throughput beside the pipeline's own rate, in the same run.

Run: NEWSWIRE_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python tests/benchmarks/sinks.py [--articles 1500]
     [--events 20000] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

1. pipeline: `--articles` distinct Arabic text articles (the bundled sample, numbered) through one worker per
   stage (separate processes), timed from the first raw entry to the last published event.
2. The real published events of step 1, repeated with fresh event ids up to `--events`, are then read by
   `newswire sink postgres` (one process, into a scratch database, dropped afterwards) and by
   `newswire sink webhook` (one process, signed, 8 articles in parallel) posting to a local receiver in another
   process that answers 204. Each is timed from its start to its consumer group holding nothing unread or
   pending, minus its start-up (time to create its group); events/s = events / that time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import redis

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.benchmarks.throughput import (  # noqa: E402
    PY,
    drain_time,
    env_for,
    fill,
    newswire_commands,
    start,
    stop,
    text_articles,
    wait_ready,
)
from tests.subscriber_support import group_caught_up  # noqa: E402
from tests.support import RedisServer, free_port, unique_prefix  # noqa: E402


def receiver(port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def run_pipeline(url: str, client: redis.Redis, prefix: str, articles: int) -> float:
    processes = [start(command, env_for(url, prefix)) for command in newswire_commands(1)]
    try:
        wait_ready(client, prefix, 3)
        fill(client, prefix, text_articles(articles))
        return drain_time(client, prefix, articles)
    finally:
        stop(processes)


def replicate(client: redis.Redis, source: str, target: str, events: int) -> int:
    """Copy the real published events into `target` until it holds `events`, each copy with fresh ids."""
    originals = [fields for _, fields in client.xrange(source)]
    pipe = client.pipeline(transaction=False)
    for n in range(events):
        fields = dict(originals[n % len(originals)])
        copy = n // len(originals)
        if copy:
            subject = fields[b"subject"].decode() + f"-c{copy}"
            fields[b"subject"] = subject.encode()
            fields[b"id"] = (subject + "/r1").encode()
            data = json.loads(fields[b"data"])
            data["article_id"] = subject
            fields[b"data"] = json.dumps(data, ensure_ascii=False).encode()
        pipe.xadd(target, fields)  # type: ignore[arg-type]
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()
    return int(client.xlen(target))


def time_sink(client: redis.Redis, stream: str, group: str, command: list[str], env: dict[str, str],
              events: int) -> tuple[float, float]:
    """(seconds to drain after start-up, start-up seconds) of one sink process."""
    launched = time.monotonic()
    process = start(command, env)
    try:
        while not any(g["name"] == group.encode() for g in client.xinfo_groups(stream)):
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            time.sleep(0.005)
        began = time.monotonic()
        while not group_caught_up(client, stream, group):
            time.sleep(0.01)
        return time.monotonic() - began, began - launched
    finally:
        stop([process])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1500)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    import os

    server = None
    url = os.environ.get("NEWSWIRE_REDIS_URL")
    if not url:
        server = RedisServer(Path(os.environ.get("TMPDIR", "/tmp")) / f"nw-sinks-{uuid.uuid4().hex[:6]}")
        server.start()
        url = server.url
    client = redis.Redis.from_url(url)
    pipeline_prefix, sink_prefix = unique_prefix(), unique_prefix()
    database = f"newswire_bench_{uuid.uuid4().hex[:8]}"
    port = free_port()
    http = multiprocessing.Process(target=receiver, args=(port,), daemon=True)
    try:
        seconds = run_pipeline(url, client, pipeline_prefix, args.articles)
        published = int(client.xlen("{" + pipeline_prefix + "}:published"))
        print(f"pipeline: {published} articles published in {seconds:.1f} s = {published / seconds:.1f} articles/s "
              "(one worker per stage)")
        stream = "{" + sink_prefix + "}:published"
        events = replicate(client, "{" + pipeline_prefix + "}:published", stream, args.events)
        size = sum(len(f[b"data"]) for _, f in client.xrange(stream, count=1000)) / 1000
        print(f"sinks read {events} events (the real ones repeated; data {size / 1024:.1f} KB on average)")

        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        dsn = args.postgres.rsplit("/", 1)[0] + f"/{database}"
        env = env_for(url, sink_prefix, NEWSWIRE_POSTGRES_DSN=dsn, NEWSWIRE_LOG_LEVEL="WARNING")
        drained, startup = time_sink(client, stream, "sink-postgres", [PY, "-m", "newswire.cli", "sink", "postgres"],
                                     env, events)
        with psycopg.connect(dsn) as conn:
            rows = conn.execute("SELECT count(*) FROM newswire.articles").fetchone()
        print(f"sink postgres: {events} events in {drained:.1f} s = {events / drained:.0f} events/s "
              f"({rows[0] if rows else 0} rows; start-up and migration {startup:.1f} s)")

        http.start()
        command = [PY, "-m", "newswire.cli", "sink", "webhook", "--url", f"http://127.0.0.1:{port}/hook",
                   "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--name", "bench"]
        drained, startup = time_sink(client, stream, "webhook-bench", command, env, events)
        print(f"sink webhook: {events} events in {drained:.1f} s = {events / drained:.0f} events/s "
              f"(signed, concurrency 8, local receiver answering 204; start-up {startup:.1f} s)")
    finally:
        if http.is_alive():
            http.terminate()
        for prefix in (pipeline_prefix, sink_prefix):
            for key in client.scan_iter(match="{" + prefix + "}*"):
                client.delete(key)
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
