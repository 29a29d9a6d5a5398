"""Redis restarted (AOF on) under running workers: they reconnect, log the outage once, and lose nothing."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import redis

from tests.e2e.test_processes import Workers
from tests.support import RedisServer, eventually, pipeline_settled, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_workers_survive_a_redis_restart_mid_run(private_redis: RedisServer, tmp_path: Path) -> None:
    prefix = "restart"
    tag = "{" + prefix + "}"
    workers = Workers(tmp_path)
    process = workers.start(worker_env(private_redis.url, prefix, NEWSWIRE_BLOCK_MS="200"), "run", "all")
    try:
        client = redis.Redis.from_url(private_redis.url)
        pipe = client.pipeline(transaction=False)
        for n in range(3000):
            pipe.xadd(f"{tag}:raw", {"data": json.dumps({"id": f"a{n}", "text": f"Article {n} text.", "title": "T"})})
        pipe.execute()
        client.close()
        eventually(lambda: redis.Redis.from_url(private_redis.url).xlen(f"{tag}:published") >= 300, 60, "progress")

        private_redis.restart(down_s=2.0)
        client = redis.Redis.from_url(private_redis.url)
        eventually(lambda: client.xlen(f"{tag}:published") >= 3000, 120, "every article after the restart")
        eventually(lambda: pipeline_settled(client, tag), 30, "every stage done")
        ids = [json.loads(f[b"data"])["article_id"] for _, f in client.xrange(f"{tag}:published")]
        assert sorted(ids) == sorted(f"a{n}" for n in range(3000))
        assert client.xlen(f"{tag}:dlq") == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        workers.stop_all()
    log_lines = [json.loads(line) for path in tmp_path.glob("run-all-*.log") for line in path.read_text().splitlines()
                 if line.startswith("{")]
    outages = [line for line in log_lines if line["event"] == "redis_unavailable"]
    recoveries = [line for line in log_lines if line["event"] == "redis_reconnected"]
    # Once per outage per stage worker, not once per failed call.
    assert 1 <= len(outages) <= 3
    assert len(recoveries) == len(outages)
