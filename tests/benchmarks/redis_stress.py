"""Redis under stress: drain time at maxmemory, failover time with Sentinel, throughput with 1 vs 3 partitions.

Run: .venv/bin/python tests/benchmarks/redis_stress.py [--only drain|failover|partitions] [--articles 3000]

Every server is started here on 127.0.0.1 (the machine's redis-server 7 when present), the workers are
real `newswire run <stage>` processes, one per stage.
  drain       maxmemory 48mb noeviction; 60 KB HTML pages flooded with raw XADD until Redis refuses them,
              and for 10 s more (as scrapers retrying would); then the time until every accepted page
              is published or dead-lettered.
  failover    primary + replica + 3 Sentinels (down-after-milliseconds 1000); articles flow; the primary
              is SIGKILLed; the time from the kill to the first event the new primary added to the
              published stream (entry ids are the new primary's clock, on the same machine).
  partitions  a 3-primary cluster; the same articles through NEWSWIRE_PARTITIONS=1 and =3 (one worker per
              stage serving all partitions), real transforms and identity transforms; articles/s.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from newswire.client import connect, publish_raw  # noqa: E402
from newswire.runtime.settings import Settings  # noqa: E402
from tests.benchmarks.throughput import env_for, start, stop  # noqa: E402
from tests.e2e.redis_topologies import Cluster, RedisProcess, SentinelSet, server_binary  # noqa: E402
from tests.e2e.test_memory_pressure import html_page  # noqa: E402

STAGES = ("cleaner", "enricher", "publisher")
NEWSWIRE = [sys.executable, "-m", "newswire.cli"]


def workers(url: str, prefix: str, **extra: str) -> list[subprocess.Popen[bytes]]:
    env = env_for(url, prefix, NEWSWIRE_BLOCK_MS="200", NEWSWIRE_RECLAIM_INTERVAL_MS="500", **extra)
    return [start([*NEWSWIRE, "run", stage], env) for stage in STAGES]


def wait_for(condition: Any, timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(what)
        time.sleep(0.05)
    return time.monotonic() - started


def bench_drain(root: Path) -> dict[str, Any]:
    server = RedisProcess(root / "drain", "--maxmemory", "48mb", "--maxmemory-policy", "noeviction")
    server.start()
    url = f"redis://127.0.0.1:{server.port}/0"
    client = server.client()
    processes = workers(url, "drain")
    try:
        time.sleep(8)  # models load
        rng = random.Random(48)
        accepted = refused = 0
        first_refusal: float | None = None
        while first_refusal is None or time.monotonic() - first_refusal < 10:
            page = {"url": f"https://flood.example/{accepted + refused}", "html": html_page(accepted, rng)}
            try:
                client.xadd("{drain}:raw", {"data": json.dumps(page)})
                accepted += 1
            except redis.OutOfMemoryError:
                refused += 1
                first_refusal = first_refusal or time.monotonic()
                time.sleep(0.01)
        flood_end = time.monotonic()
        peak = int(client.info("memory")["used_memory"])

        def done() -> bool:
            return int(client.xlen("{drain}:published")) + int(client.xlen("{drain}:dlq")) >= accepted

        wait_for(done, 900, "drain")
        drain_s = time.monotonic() - flood_end
        alive = all(process.poll() is None for process in processes)
        return {
            "maxmemory_mb": 48,
            "accepted_pages": accepted,
            "refused_xadds": refused,
            "used_memory_at_flood_end_mb": round(peak / 2**20, 1),
            "drain_s": round(drain_s, 1),
            "published": int(client.xlen("{drain}:published")),
            "dead_lettered": int(client.xlen("{drain}:dlq")),
            "workers_alive": alive,
        }
    finally:
        stop(processes)
        client.close()
        server.stop()


def bench_failover(root: Path, rounds: int) -> dict[str, Any]:
    times = [failover_round(root / f"failover-{number}") for number in range(rounds)]
    return {"down_after_ms": 1000, "kill_to_first_new_event_s": times}


def failover_round(directory: Path) -> float:
    sentinels = SentinelSet(directory)
    sentinels.start()
    settings = Settings(redis_url=sentinels.url, prefix="fo")  # type: ignore[arg-type]
    processes = workers(sentinels.url, "fo")
    stop_flag = threading.Event()
    producer = threading.Thread(target=produce, args=(settings, stop_flag), daemon=True)
    producer.start()
    reader = connect(settings, socket_timeout=2, socket_connect_timeout=1)
    try:
        wait_for(lambda: int(reader.xlen("{fo}:published")) > 100, 120, "flowing")
        old = sentinels.primary_port()
        killed_ms = int(time.time() * 1000)
        sentinels.primary.kill()
        wait_for(lambda: first_event_after(reader, killed_ms) is not None, 120, "an event from the new primary")
        first = first_event_after(reader, killed_ms)
        assert first is not None and sentinels.primary_port() != old
        return round((first - killed_ms) / 1000, 2)
    finally:
        stop_flag.set()
        producer.join(10)
        reader.close()
        stop(processes)
        sentinels.stop()


def produce(settings: Settings, stop_flag: threading.Event) -> None:
    """One small article at a time, as a scraper would, carrying on through the failover."""
    client = connect(settings, socket_timeout=2, socket_connect_timeout=1)
    number = 0
    while not stop_flag.is_set():
        try:
            list(publish_raw(client, settings, [{"id": f"f{number}", "text": f"Report {number}."}]))
            number += 1
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, OSError):
            time.sleep(0.05)
        time.sleep(0.01)
    client.close()


def first_event_after(reader: Any, killed_ms: int) -> int | None:
    """The id time (ms) of the first published event added after the kill, if any yet."""
    try:
        newest = reader.xrevrange("{fo}:published", count=200)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return None
    after = [ms for ms in (int(entry_id.split(b"-")[0]) for entry_id, _ in newest) if ms > killed_ms]
    return min(after) if after else None


def bench_partitions(root: Path, articles: int) -> dict[str, Any]:
    cluster = Cluster(root / "cluster")
    cluster.start()
    rows: dict[str, Any] = {}
    try:
        for identity in (False, True):
            for partitions in (1, 3):
                label = f"{'identity' if identity else 'real'} transforms, {partitions} partition(s)"
                rows[label] = partition_run(cluster, partitions, identity, articles)
                print(label, rows[label], file=sys.stderr, flush=True)
    finally:
        cluster.stop()
    return {"articles": articles, "articles_per_s": rows}


def partition_run(cluster: Cluster, partitions: int, identity: bool, articles: int) -> float:
    for node in cluster.nodes:  # a fresh run: no streams, revisions or indexes of the last one
        node_client = node.client()
        node_client.flushall()
        node_client.close()
    # {newswire:0..2} hash to slots on the three primaries of an even split.
    settings = Settings(redis_url=cluster.url, prefix="newswire", partitions=partitions)  # type: ignore[arg-type]
    client = connect(settings)
    documents = [
        {"id": f"b{n}", "title": f"Bench {n}", "text": f"Report {n}: the council met on the budget. " * 8}
        for n in range(articles)
    ]
    list(publish_raw(client, settings, documents))
    extra = {"NEWSWIRE_PARTITIONS": str(partitions)}
    if identity:
        extra["NEWSWIRE_IDENTITY_TRANSFORMS"] = "true"
    processes = workers(cluster.url, "newswire", **extra)
    keysets = settings.partition_keys()

    def published() -> int:
        return sum(int(client.xlen(k.published)) for k in keysets)

    try:
        # Timed from the first published event, so model loading is not counted.
        wait_for(lambda: published() > 0, 180, "first event")
        started, first_count = time.monotonic(), published()
        wait_for(lambda: published() >= articles, 900, "every article")
        return round((articles - first_count) / (time.monotonic() - started), 1)
    finally:
        stop(processes)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["drain", "failover", "partitions"])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--failover-rounds", type=int, default=3)
    arguments = parser.parse_args()
    if shutil.which("redis-cli") is None:
        print("note: redis-cli not found; the cluster is created with CLUSTER ADDSLOTSRANGE/MEET", file=sys.stderr)
    print(f"redis-server: {server_binary()}", file=sys.stderr)
    root = Path(tempfile.mkdtemp(prefix="newswire-stress-"))
    report: dict[str, Any] = {}
    try:
        if arguments.only in (None, "drain"):
            report["drain"] = bench_drain(root)
            print(json.dumps({"drain": report["drain"]}), flush=True)
        if arguments.only in (None, "failover"):
            report["failover"] = bench_failover(root, arguments.failover_rounds)
            print(json.dumps({"failover": report["failover"]}), flush=True)
        if arguments.only in (None, "partitions"):
            report["partitions"] = bench_partitions(root, arguments.articles)
            print(json.dumps({"partitions": report["partitions"]}), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
