"""The pipeline over TLS (`rediss://`), against a redis-server built with TLS (skipped where there is none)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import redis

from tests.e2e.test_processes import Workers
from tests.support import eventually, free_port, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def tls_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    server_binary, openssl = shutil.which("redis-server"), shutil.which("openssl")
    if server_binary is None or openssl is None:
        pytest.skip("needs a system redis-server and openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [server_binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
         "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    client = redis.Redis.from_url(url)
    try:
        eventually(lambda: _answers(client), 10, "the TLS redis-server")
    except AssertionError:
        process.kill()
        pytest.skip("this redis-server was built without TLS")
    return process, url


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except (redis.ConnectionError, OSError):
        return False


def test_the_pipeline_runs_over_tls(tmp_path: Path) -> None:
    server, url = tls_redis(tmp_path)
    workers = Workers(tmp_path)
    try:
        client = redis.Redis.from_url(url)
        process = workers.start(worker_env(url, "tls"), "run", "all")
        client.xadd("{tls}:raw", {"data": json.dumps({"title": "Secure", "text": "Sent over TLS.\n\nSecond part."})})
        eventually(lambda: client.xlen("{tls}:published") == 1, 60, "the event over TLS")
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        workers.stop_all()
        server.kill()
        server.wait(10)
