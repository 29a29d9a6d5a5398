"""End to end with real worker processes: three stages as separate OS processes, signals, the embedded Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis

from tests.support import REPO, eventually, load_gold, pipeline_settled, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NEWSWIRE = [sys.executable, "-m", "newswire.cli"]


class Workers:
    """Worker processes started by a test; whatever is still running at the end is killed."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
        log_path = self.log_dir / f"{'-'.join(args)}-{len(self.processes)}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([*NEWSWIRE, *args], env=env, stdout=log, stderr=log, cwd=REPO)
        self.processes.append(process)
        self.logs.append(log_path)
        return process

    def check_alive(self) -> None:
        """Fail at once, with the end of its log, when a worker has exited (no waiting out a timeout)."""
        for process, log_path in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                command = " ".join(map(str, process.args))
                raise RuntimeError(f"worker {command} exited with {process.returncode}:\n{tail}")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(10)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.stop_all()


def test_three_stage_processes_carry_1000_articles_each_exactly_once(
    redis_url: str, prefix: str, sync_redis: redis.Redis, workers: Workers
) -> None:
    env = worker_env(redis_url, prefix)
    stages = {stage: workers.start(env, "run", stage) for stage in ("cleaner", "enricher", "publisher")}
    tag = "{" + prefix + "}"
    documents = [
        {"id": f"article-{n}", "title": f"Headline {n}", "text": f"Paragraph one of article {n}.\n\nIt says more."}
        for n in range(1000)
    ]
    started = time.monotonic()
    pipe = sync_redis.pipeline(transaction=False)
    for document in documents:
        pipe.xadd(f"{tag}:raw", {"data": json.dumps(document)})
    pipe.execute()
    eventually(
        lambda: sync_redis.xlen(f"{tag}:published") >= 1000, 180, "1,000 published events", watch=workers.check_alive
    )
    elapsed = time.monotonic() - started
    # Once every stage has acknowledged everything upstream, anything extra would be there.
    eventually(lambda: pipeline_settled(sync_redis, tag), 30, "every stage done", watch=workers.check_alive)

    events = sync_redis.xrange(f"{tag}:published")
    ids = [json.loads(fields[b"data"])["article_id"] for _, fields in events]
    assert sorted(ids) == sorted(d["id"] for d in documents)
    assert sync_redis.xlen(f"{tag}:dlq") == 0
    print(f"\n1,000 articles through 3 worker processes in {elapsed:.2f} s: {1000 / elapsed:.0f} articles/s")

    for process in stages.values():
        process.send_signal(signal.SIGTERM)
    for stage, process in stages.items():
        assert process.wait(30) == 0, f"{stage} did not exit cleanly on SIGTERM"
    for stage, stream in (("cleaner", "raw"), ("enricher", "cleaned"), ("publisher", "enriched")):
        assert sync_redis.xpending(f"{tag}:{stream}", stage)["pending"] == 0
        assert sync_redis.xinfo_consumers(f"{tag}:{stream}", stage) == []


def test_run_all_exits_zero_on_sigterm_with_nothing_pending(
    redis_url: str, prefix: str, sync_redis: redis.Redis, workers: Workers
) -> None:
    tag = "{" + prefix + "}"
    for n in range(200):
        sync_redis.xadd(f"{tag}:raw", {"data": json.dumps({"text": f"Article {n} body.", "title": f"T{n}"})})
    process = workers.start(worker_env(redis_url, prefix), "run", "all")
    eventually(lambda: sync_redis.xlen(f"{tag}:published") >= 50, 60, "the first events", watch=workers.check_alive)
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    drain_s = time.monotonic() - began
    print(f"\nrun all drained and exited in {drain_s:.2f} s after SIGTERM")
    for stage, stream in (("cleaner", "raw"), ("enricher", "cleaned"), ("publisher", "enriched")):
        assert sync_redis.xpending(f"{tag}:{stream}", stage)["pending"] == 0


def test_the_embedded_redis_does_not_outlive_a_killed_newswire(tmp_path: Path, workers: Workers) -> None:
    data_dir = tmp_path / "data"
    env = worker_env(None, "embedded", NEWSWIRE_DATA_DIR=str(data_dir))
    process = workers.start(env, "run", "all")
    socket_path = data_dir / "redis.sock"
    eventually(socket_path.exists, 60, "the embedded Redis socket")
    client = redis.Redis(unix_socket_path=str(socket_path))
    eventually(lambda: client.exists("{embedded}:raw") == 1, 60, "the raw stream and its group")
    children = [p for p in psutil.Process(process.pid).children() if "redis-server" in p.name()]
    assert len(children) == 1
    server = children[0]

    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    gone, alive = psutil.wait_procs([server], timeout=10)
    assert server in gone and not alive, "the embedded redis-server outlived its parent"


def test_demo_prints_the_sample_article_with_an_embedded_redis(tmp_path: Path) -> None:
    env = worker_env(None, "newswire", NEWSWIRE_DATA_DIR=str(tmp_path / "data"))
    del env["NEWSWIRE_PREFIX"]
    started = time.monotonic()
    result = subprocess.run([*NEWSWIRE, "demo"], env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    event = json.loads(result.stdout)
    article = event["data"]
    gold = load_gold()
    assert article["language"] == "ar"
    assert article["headline"] == gold["cleaned"]["title"]
    assert gold["cleaned"]["body_paragraphs_in_order"][0] in article["body"]
    assert event["specversion"] == "1.0"
    print(f"\nnewswire demo took {elapsed:.1f} s")


def test_ctrl_c_with_the_embedded_redis_drains_before_the_server_stops(tmp_path: Path) -> None:
    """Ctrl-C signals the whole foreground process group; the embedded server must outlast the drain."""
    data_dir = tmp_path / "data"
    env = worker_env(None, "ctrlc", NEWSWIRE_DATA_DIR=str(data_dir))
    log_path = tmp_path / "run-all.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([*NEWSWIRE, "run", "all"], env=env, stdout=log, stderr=log, cwd=REPO,
                                   start_new_session=True)
    try:
        socket_path = data_dir / "redis.sock"
        eventually(socket_path.exists, 60, "the embedded Redis socket")
        client = redis.Redis(unix_socket_path=str(socket_path))
        for n in range(300):
            client.xadd("{ctrlc}:raw", {"data": json.dumps({"title": f"T{n}", "text": f"Article {n}.\n\nBody."})})
        eventually(lambda: client.exists("{ctrlc}:published") == 1, 60, "the first event")
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert b"leave_group_failed" not in log_path.read_bytes()
    # Start the embedded Redis again on the same data: nothing is left pending in any group.
    stats = subprocess.run([*NEWSWIRE, "stats", "--json"], env=env, capture_output=True, text=True, timeout=60,
                           cwd=REPO, check=True)
    groups = [group for stream in json.loads(stats.stdout)["streams"] for group in stream["groups"]]
    assert groups and all(group["pending"] == 0 and group["consumers"] == 0 for group in groups)
