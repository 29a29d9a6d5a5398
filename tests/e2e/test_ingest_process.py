"""`newswire run ingest` as a real process: serves, stops cleanly on SIGTERM, refuses a taken port in one sentence."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.test_ingest_scrapy import ingest_port, newswire
from tests.e2e.test_processes import Workers
from tests.support import REPO, eventually, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_run_ingest_serves_and_exits_0_on_sigterm(
    redis_url: str, prefix: str, sync_redis: redis.Redis, tmp_path: Path
) -> None:
    env = worker_env(redis_url, prefix, NEWSWIRE_INGEST_PORT="0", NEWSWIRE_HTTP_HOST="127.0.0.1")
    key = json.loads(newswire(env, "ingest", "keys", "create", "process-test", "--json").stdout)["key"]
    workers = Workers(tmp_path)
    process = workers.start(env, "run", "ingest")
    try:
        log = next(tmp_path.glob("run-ingest-*.log"))
        port = eventually(lambda: ingest_port(log), 60, "the ingest API's port in the log")
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/readyz").status_code == 200
        answer = httpx.post(f"{base}/v1/articles", json={"text": "Over HTTP."},
                            headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 202
        assert sync_redis.xlen(f"{{{prefix}}}:raw") == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert '"event":"ingest_stopped"' in log.read_text()
    finally:
        workers.stop_all()


def test_a_taken_ingest_port_stops_it_with_one_sentence(redis_url: str, prefix: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = worker_env(redis_url, prefix, NEWSWIRE_INGEST_PORT=str(port), NEWSWIRE_HTTP_HOST="127.0.0.1")
        result = subprocess.run([sys.executable, "-m", "newswire.cli", "run", "ingest"], env=env,
                                capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("give it another NEWSWIRE_INGEST_PORT, or 0 for a free one")
    assert "Traceback" not in result.stderr
