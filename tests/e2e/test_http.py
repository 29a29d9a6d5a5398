"""A worker's HTTP endpoints over real HTTP: metrics, liveness, readiness."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis

from tests.e2e.test_processes import Workers
from tests.support import RedisServer, eventually, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def listening_port(log: Path) -> int | None:
    for line in log.read_text().splitlines():
        if line.startswith("{") and json.loads(line)["event"] == "http_listening":
            return int(json.loads(line)["port"])
    return None


def test_metrics_health_and_readiness_of_a_running_worker(private_redis: RedisServer, tmp_path: Path) -> None:
    workers = Workers(tmp_path)
    prefix = "http"
    # A consumer that read an entry and went silent: its entry stays pending (claim idle time 30 s), which
    # only the worker's reclaim loop can report, in the `group_pending` gauge.
    client = redis.Redis.from_url(private_redis.url)
    client.xgroup_create("{http}:raw", "cleaner", id="$", mkstream=True)
    client.xadd("{http}:raw", {"data": json.dumps({"title": "Held", "text": "Held by a silent consumer."})})
    assert len(client.xreadgroup("cleaner", "silent", {"{http}:raw": ">"}, count=1)[0][1]) == 1
    workers.start(worker_env(private_redis.url, prefix, NEWSWIRE_RECLAIM_INTERVAL_MS="200"), "run", "all")
    try:
        log = next(tmp_path.glob("run-all-*.log"))
        eventually(lambda: listening_port(log) is not None, 60, "the HTTP port in the log (NEWSWIRE_HTTP_PORT=0)")
        port = listening_port(log)
        assert port
        article = {"title": "Weather", "text": "Rain is expected in the north today."}
        client.xadd("{http}:raw", {"data": json.dumps(article)})
        client.xadd("{http}:raw", {"data": "not json"})
        eventually(lambda: client.xlen("{http}:published") == 1 and client.xlen("{http}:dlq") == 1, 30, "both outcomes")
        eventually(
            lambda: 'newswire_group_pending{stage="cleaner"} 1.0' in get(port, "/metrics")[1],
            10,
            "the reclaim loop reports the silent consumer's pending entry",
        )
        status, body = get(port, "/metrics")
        assert status == 200
        assert 'newswire_articles_processed_total{stage="cleaner"} 1.0' in body
        assert 'newswire_articles_dead_lettered_total{error_type="invalid_json",stage="cleaner"} 1.0' in body
        assert 'newswire_article_age_seconds_count{stage="publisher"} 1.0' in body
        assert 'newswire_processing_seconds_bucket{le="+Inf",stage="enricher"}' in body
        assert 'newswire_group_pending{stage="enricher"} 0.0' in body
        assert get(port, "/healthz") == (200, "ok\n")
        assert get(port, "/readyz")[0] == 200
        assert get(port, "/nothing")[0] == 404

        private_redis.stop()
        status, reason = get(port, "/readyz")
        assert status == 503 and "redis unreachable" in reason
        assert get(port, "/healthz")[0] == 200  # alive, just not ready: no restart for a Redis outage
        private_redis.start()
        eventually(lambda: get(port, "/readyz")[0] == 200, 30, "ready again after Redis came back")
    finally:
        workers.stop_all()


def test_a_taken_port_is_one_clear_error(redis_url: str, prefix: str) -> None:
    import socket
    import subprocess
    import sys

    from tests.support import REPO

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = worker_env(redis_url, prefix, NEWSWIRE_HTTP_PORT=str(port), NEWSWIRE_HTTP_HOST="127.0.0.1")
        result = subprocess.run([sys.executable, "-m", "newswire.cli", "run", "cleaner"], env=env,
                                capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 2
    assert f"cannot serve metrics and health on 127.0.0.1:{port}" in result.stderr
    assert "NEWSWIRE_HTTP_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_default_port_falls_back_to_a_free_one(redis_url: str, prefix: str, tmp_path: Path) -> None:
    """With NEWSWIRE_HTTP_PORT unset, a second worker on the host takes a free port instead of stopping."""
    import socket

    env = worker_env(redis_url, prefix, NEWSWIRE_HTTP_HOST="127.0.0.1")
    del env["NEWSWIRE_HTTP_PORT"]
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("127.0.0.1", 9100))
            holder.listen()
        except OSError:
            pass  # something else holds the default port already: the same situation
        workers = Workers(tmp_path)
        workers.start(env, "run", "cleaner")
        try:
            log = next(tmp_path.glob("run-cleaner-*.log"))
            port = eventually(lambda: listening_port(log), 60, "the worker's HTTP port in its log")
            assert port != 9100
            listening = next(json.loads(line) for line in log.read_text().splitlines()
                             if line.startswith("{") and json.loads(line)["event"] == "http_listening")
            assert listening["default_port_taken"] == 9100
            assert get(port, "/healthz") == (200, "ok\n")
        finally:
            workers.stop_all()
