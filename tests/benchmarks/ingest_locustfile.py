"""Locust users for the ingest load test (driven by tests/benchmarks/ingest_load.py; not a test).

Environment: INGEST_KEY (API key), INGEST_MODE (`single` or `batch`), INGEST_BATCH (articles per batch),
INGEST_RETRY (`1`: on 429/503 or a connection error wait Retry-After and resend the same request, same
Idempotency-Key, until accepted), INGEST_RECORD (file: every request's status, latency and end time, and
every accepted article's url, as JSON, written when locust quits).
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from locust import FastHttpUser, events, task

SAMPLE = (Path(__file__).resolve().parents[2] / "services" / "demo" / "sample.ar.txt").read_text(encoding="utf-8")
KEY = os.environ["INGEST_KEY"]
MODE = os.environ.get("INGEST_MODE", "single")
BATCH = int(os.environ.get("INGEST_BATCH", "100"))
RETRY = os.environ.get("INGEST_RETRY") == "1"
RECORD_FILE = os.environ.get("INGEST_RECORD")
RUN = uuid.uuid4().hex[:8]
_counter = itertools.count()
accepted: list[str] = []
requests: list[tuple[int, float, float]] = []  # (status, latency s, end time)


def article() -> dict[str, Any]:
    n = next(_counter)
    return {"url": f"https://load.example/{RUN}/{n}", "title": f"Load test article {n}", "text": SAMPLE,
            "source": "load-test"}


class IngestUser(FastHttpUser):
    """Posts articles as fast as the server answers (no think time)."""

    def post(self, path: str, body: Any, urls: list[str]) -> None:
        headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json",
                   "Idempotency-Key": str(uuid.uuid4())}
        payload = json.dumps(body, ensure_ascii=False).encode()
        while True:
            started = time.perf_counter()
            with self.client.post(path, data=payload, headers=headers, catch_response=True,
                                  name=f"{MODE} {path}") as response:
                ended = time.perf_counter()
                requests.append((response.status_code, ended - started, time.time()))
                if response.status_code == 202:
                    response.success()
                    accepted.extend(urls)
                    return
                response.failure(f"{response.status_code}: {response.text[:200]}")
                if response.status_code not in (0, 429, 503) or not RETRY:
                    return
            # A well-behaved client: wait as told (a second after a connection error), then resend the same
            # request with the same Idempotency-Key.
            time.sleep(float(response.headers.get("Retry-After", "1")) if response.status_code else 1.0)

    @task
    def publish(self) -> None:
        if MODE == "single":
            document = article()
            self.post("/v1/articles", document, [document["url"]])
        else:
            documents = [article() for _ in range(BATCH)]
            self.post("/v1/articles:batch", documents, [document["url"] for document in documents])


@events.quitting.add_listener
def _write_record(environment: Any, **_kwargs: Any) -> None:
    if RECORD_FILE:
        Path(RECORD_FILE).write_text(json.dumps({"requests": requests, "accepted": accepted}), encoding="utf-8")
