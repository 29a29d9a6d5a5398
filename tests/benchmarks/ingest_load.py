"""Load test of the HTTP ingest API with locust (headless, bounded, 127.0.0.1 only), beside plain XADD.

Run: NEWSWIRE_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python tests/benchmarks/ingest_load.py \
         [--seconds 20] [--users 32] [--batch 100]
Needs `pip install -e '.[bench]'` (locust). Without NEWSWIRE_REDIS_URL a private redis-server is started.

Scenarios, each on fresh streams, against one `newswire run ingest` process (one uvicorn worker):
  xadd     plain redis-py in this process: one XADD per round trip, and pipelines of --batch XADDs; articles/s
           and per-call latency p50/p99. The floor any producer pays.
  single   locust, --users users posting one article per request (POST /v1/articles) with no think time.
  batch    the same with --batch articles per request (POST /v1/articles:batch).
  pressure NEWSWIRE_MAX_RAW_BACKLOG=2000 and a consumer in the `cleaner` group acknowledging 1,000 articles/s:
           users post batches and, on 429, wait Retry-After and resend the same request (same Idempotency-Key).
           Reported: 429s, accepted articles/s, and whether the raw stream holds exactly the accepted
           articles (none lost, none twice).
Every article is the 6 KB Arabic sample text with its own URL.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import redis

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from newswire.ingest.keys import create_key, new_key  # noqa: E402
from newswire.runtime.settings import StreamKeys  # noqa: E402
from tests.support import SAMPLE_TEXT, RedisServer, delete_prefix, unique_prefix  # noqa: E402

LOCUSTFILE = Path(__file__).with_name("ingest_locustfile.py")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Ingest:
    """`newswire run ingest` as a separate process on 127.0.0.1, port 0."""

    def __init__(self, url: str, prefix: str, log_dir: Path, **extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
        env.update(NEWSWIRE_REDIS_URL=url, NEWSWIRE_PREFIX=prefix, NEWSWIRE_INGEST_PORT="0",
                   NEWSWIRE_HTTP_HOST="127.0.0.1", NEWSWIRE_LOG_FORMAT="json", **extra)
        self.log = log_dir / f"ingest-{prefix}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "newswire.cli", "run", "ingest"], env=env,
                                            stdout=log, stderr=log, cwd=REPO)
        deadline = time.monotonic() + 60
        self.port = 0
        while not self.port:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"newswire run ingest did not start; see {self.log}")
            for line in self.log.read_text().splitlines():
                if line.startswith("{") and json.loads(line).get("event") == "ingest_listening":
                    self.port = int(json.loads(line)["port"])
            time.sleep(0.1)

    def cpu_s(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def plain_xadd(client: redis.Redis, stream: str, count: int, batch: int) -> dict[str, float]:
    """One producer process: XADD per round trip, then pipelines of `batch`; CPU of this process per article."""
    text = SAMPLE_TEXT.read_text(encoding="utf-8")

    def data(n: int) -> str:
        return json.dumps({"url": f"https://xadd.example/{n}", "title": f"t{n}", "text": text, "source": "load"},
                          ensure_ascii=False)

    latencies = []
    started = time.perf_counter()
    for n in range(count):
        t0 = time.perf_counter()
        client.xadd(stream, {"data": data(n)})
        latencies.append(time.perf_counter() - t0)
    single_rate = count / (time.perf_counter() - started)
    started = time.perf_counter()
    cpu_started = time.process_time()
    for first in range(0, count, batch):
        pipe = client.pipeline(transaction=False)
        for n in range(first, min(count, first + batch)):
            pipe.xadd(stream, {"data": data(count + n)})
        pipe.execute()
    return {
        "single_articles_per_s": single_rate,
        "single_p50_ms": percentile(latencies, 0.5) * 1000,
        "single_p99_ms": percentile(latencies, 0.99) * 1000,
        "pipelined_articles_per_s": count / (time.perf_counter() - started),
        "pipelined_client_cpu_ms_per_article": (time.process_time() - cpu_started) * 1000 / count,
    }


def run_locust(port: int, key: str, mode: str, users: int, seconds: int, batch: int, record: Path,
               retry: bool = False) -> dict[str, Any]:
    env = dict(os.environ, INGEST_KEY=key, INGEST_MODE=mode, INGEST_BATCH=str(batch), INGEST_RECORD=str(record),
               INGEST_RETRY="1" if retry else "0")
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users),
               "-r", str(users), "-t", f"{seconds}s", "--stop-timeout", "30", "--host", f"http://127.0.0.1:{port}",
               "--only-summary", "--loglevel", "WARNING"]
    process = psutil.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu = 0.0
    while process.poll() is None:
        times = process.cpu_times()
        cpu = times.user + times.system
        time.sleep(0.2)
    result: dict[str, Any] = json.loads(record.read_text())
    result["locust_cpu_s"] = cpu
    return result


def summarise(result: dict[str, Any], per_request: int) -> dict[str, Any]:
    requests = result["requests"]
    ok = [(latency, end) for status, latency, end in requests if status == 202]
    statuses: dict[str, int] = {}
    for status, _latency, _end in requests:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    ends = [end for _status, _latency, end in requests]
    starts = [end - latency for _status, latency, end in requests]
    wall = max(ends) - min(starts) if requests else float("nan")
    latencies = [latency for latency, _end in ok]
    return {
        "statuses": statuses,
        "accepted_requests_per_s": len(ok) / wall,
        "accepted_articles_per_s": len(ok) * per_request / wall,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "seconds": wall,
        "locust_cpu_share": result["locust_cpu_s"] / wall,
    }


def raw_urls(client: redis.Redis, stream: str) -> list[str]:
    urls = []
    for _id, fields in client.xrange(stream):
        urls.append(json.loads(fields[b"data"])["url"])
    return urls


def check_exactly_once(client: redis.Redis, stream: str, accepted: list[str]) -> dict[str, int | bool]:
    stored = raw_urls(client, stream)
    return {
        "accepted": len(accepted),
        "in_redis": len(stored),
        "duplicates_in_redis": len(stored) - len(set(stored)),
        "accepted_but_missing": len(set(accepted) - set(stored)),
        "in_redis_not_accepted": len(set(stored) - set(accepted)),
        "exactly_once": sorted(stored) == sorted(accepted),
    }


class Drain(threading.Thread):
    """Stands in for the cleaner: reads the raw stream with its group and acknowledges `rate` entries/s."""

    def __init__(self, url: str, stream: str, rate: float) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(url)
        self.stream, self.rate = stream, rate
        self.stopping = threading.Event()
        self.max_backlog = 0
        self.client.xgroup_create(stream, "cleaner", id="0", mkstream=True)

    def run(self) -> None:
        step = 0.05
        while not self.stopping.is_set():
            started = time.monotonic()
            reply = self.client.xreadgroup("cleaner", "drain", {self.stream: ">"}, count=int(self.rate * step))
            for _stream, entries in reply or []:
                if entries:
                    self.client.xack(self.stream, "cleaner", *[entry_id for entry_id, _ in entries])
            lag = next((g.get("lag") or 0 for g in self.client.xinfo_groups(self.stream)
                        if g["name"] == b"cleaner"), 0)
            self.max_backlog = max(self.max_backlog, int(lag))
            time.sleep(max(0.0, step - (time.monotonic() - started)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--xadd", type=int, default=5000, help="articles for the plain XADD baseline")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ingest-load-"))
    server = None
    url = os.environ.get("NEWSWIRE_REDIS_URL")
    if not url:
        server = RedisServer(work / "redis")
        server.start()
        url = server.url
    client = redis.Redis.from_url(url)
    report: dict[str, Any] = {"users": args.users, "seconds": args.seconds, "batch": args.batch}
    prefixes = []
    try:
        prefix = unique_prefix()
        prefixes.append(prefix)
        report["xadd"] = plain_xadd(client, StreamKeys(prefix).raw, args.xadd, args.batch)
        delete_prefix(client, prefix)
        print("xadd", json.dumps(report["xadd"]), flush=True)

        for mode in ("single", "batch"):
            prefix = unique_prefix()
            prefixes.append(prefix)
            secret, record = new_key(f"load-{mode}", rate=0)
            create_key(client, StreamKeys(prefix), (secret, record))
            ingest = Ingest(url, prefix, work)
            try:
                cpu_before = ingest.cpu_s()
                result = run_locust(ingest.port, secret, mode, args.users, args.seconds, args.batch,
                                    work / f"{mode}.json")
                server_cpu = ingest.cpu_s() - cpu_before
            finally:
                ingest.stop()
            report[mode] = summarise(result, 1 if mode == "single" else args.batch)
            articles = len(result["accepted"])
            report[mode]["server_cpu_ms_per_article"] = server_cpu * 1000 / articles if articles else None
            report[mode]["server_cpu_share"] = server_cpu / report[mode]["seconds"]
            report[mode]["check"] = check_exactly_once(client, StreamKeys(prefix).raw, result["accepted"])
            delete_prefix(client, prefix)
            print(mode, json.dumps(report[mode]), flush=True)

        prefix = unique_prefix()
        prefixes.append(prefix)
        secret, record = new_key("load-pressure", rate=0)
        create_key(client, StreamKeys(prefix), (secret, record))
        drain = Drain(url, StreamKeys(prefix).raw, rate=1000)
        drain.start()
        ingest = Ingest(url, prefix, work, NEWSWIRE_MAX_RAW_BACKLOG="2000")
        try:
            result = run_locust(ingest.port, secret, "batch", args.users, args.seconds, args.batch,
                                work / "pressure.json", retry=True)
        finally:
            ingest.stop()
            drain.stopping.set()
            drain.join(10)
        report["pressure"] = summarise(result, args.batch)
        report["pressure"]["max_backlog_seen"] = drain.max_backlog
        report["pressure"]["check"] = check_exactly_once(client, StreamKeys(prefix).raw, result["accepted"])
        print("pressure", json.dumps(report["pressure"]), flush=True)
    finally:
        for prefix in prefixes:
            delete_prefix(client, prefix)
        client.close()
        if server is not None:
            server.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
