"""`newswire sink webhook` against a real local HTTP server that fails, times out and recovers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import redis
from cloudevents.core.bindings.http import HTTPMessage, from_binary
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from newswire.subscribers.filters import EventFilter
from newswire.subscribers.reader import PublishedReader
from newswire.subscribers.sink_support import SinkDeadLetters, Stopped
from newswire.subscribers.webhook import (
    DeadLetterReplay,
    DeliveryPolicy,
    InvalidSignature,
    WebhookEndpoint,
    WebhookSink,
    verify_signature,
)
from tests.subscriber_support import add_events, group_caught_up, published_fields
from tests.support import REPO, eventually

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NINJS_SCHEMA = json.loads((REPO / "tests" / "fixtures" / "ninjs" / "ninjs-schema_2.2.json").read_text("utf-8"))


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """What the endpoint does: the first `fail_first` requests get 503; listed events hang, fail or are refused."""

    fail_first: int = 0
    hang_once: set[str] = field(default_factory=set)
    always_fail: set[str] = field(default_factory=set)
    refuse: set[str] = field(default_factory=set)
    hang_s: float = 1.5
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, headers: dict[str, str], body: bytes) -> int:
        """Record the request as it arrives (arrival order is what ordering is about), then decide."""
        event_id = headers.get("ce-id", "")
        with self.lock:
            seen = len(self.requests)
            hang = event_id in self.hang_once
            self.hang_once.discard(event_id)
            if hang:
                status = 0  # no answer in time
            elif seen < self.fail_first or event_id in self.always_fail:
                status = 503
            elif event_id in self.refuse:
                status = 400
            else:
                status = 204
            self.requests.append(Received(headers, body, status))
        if hang:
            time.sleep(self.hang_s)
            return 200  # too late: the sink gave up on this attempt
        return status


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    behaviour = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = behaviour.respond({k.lower(): v for k, v in self.headers.items()}, body)
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sink timed out and closed the connection

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield behaviour, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def run_sink(sink: WebhookSink, stop: threading.Event) -> threading.Thread:
    def work() -> None:
        with contextlib.suppress(Stopped):
            sink.run(stop)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def revision(event_id: str) -> int:
    return int(event_id.rsplit("/r", 1)[1])


def test_signed_cloudevents_retried_in_order_with_dead_letters(
    receiver: tuple[Receiver, str], redis_url: str, prefix: str
) -> None:
    behaviour, url = receiver
    client = redis.Redis.from_url(redis_url)
    stream = "{" + prefix + "}:published"
    # Eight articles with three revisions each, interleaved as they would arrive, plus filtered-out ones.
    events = [
        published_fields(n, revision=r, language="ar", domain="alaraby.co.uk") for r in (1, 2, 3) for n in range(8)
    ]
    others = [published_fields(100 + n, language="en", domain="bbc.co.uk") for n in range(4)]
    broken = {"specversion": "1.0", "id": "broken/r1", "subject": "broken", "data": "{not json"}
    add_events(client, stream, [*events[:12], *others, broken, *events[12:]])
    behaviour.fail_first = 5
    behaviour.hang_once = {"art-2/r1", "art-3/r2"}
    behaviour.always_fail = {"art-4/r2"}
    behaviour.refuse = {"art-5/r1"}

    reader = PublishedReader(client, [stream], "webhook-test", "c1", batch_size=10, block_ms=50,
                             claim_idle_ms=5000, reclaim_interval_s=5.0)
    dead_letter_stream = "{" + prefix + "}:sink-dlq:webhook-test"
    sink = WebhookSink(
        reader,
        WebhookEndpoint(url, SECRET, DeliveryPolicy(timeout_s=0.5, max_attempts=3, backoff_base_s=0.05,
                                                    backoff_cap_s=0.2), concurrency=4),
        EventFilter(source="alaraby.co.uk"),
        SinkDeadLetters(client, dead_letter_stream, "webhook"),
        concurrency=4,
    )
    sink.prepare()
    stop = threading.Event()
    thread = run_sink(sink, stop)
    try:
        eventually(lambda: group_caught_up(client, stream, "webhook-test"), 60, "every event handled")
    finally:
        stop.set()
        thread.join(10)
        sink.close()

    requests = behaviour.requests
    ids = [r.headers["ce-id"] for r in requests]
    assert not [i for i in ids if i.startswith("art-10")], "a filtered-out event was sent"
    delivered = {r.headers["ce-id"] for r in requests if 200 <= r.status < 300}
    expected = {e["id"] for e in events} - {"art-4/r2", "art-5/r1"}
    assert expected <= delivered
    # Failures really happened and were retried: 503s, and the hung requests were sent again.
    assert sum(r.status == 503 for r in requests) >= 5
    assert ids.count("art-2/r1") >= 2 and ids.count("art-3/r2") >= 2
    # Ordering per article: a later revision is never sent before the earlier one is done.
    for n in range(8):
        revisions = [revision(i) for i in ids if i.startswith(f"art-{n}/")]
        assert revisions == sorted(revisions), (n, revisions)
    # Dead letters: the endpoint kept failing one event (3 attempts) and refused another at once.
    dead = {fields[b"id"].decode(): fields for _, fields in client.xrange(dead_letter_stream)}
    assert set(dead) == {"art-4/r2", "art-5/r1", "broken/r1"}
    assert dead["broken/r1"][b"error_type"] == b"bad_event" and "broken/r1" not in ids
    assert (dead["art-4/r2"][b"error_type"], dead["art-4/r2"][b"attempts"]) == (b"max_attempts", b"3")
    assert dead["art-4/r2"][b"error"] == b"HTTP 503"
    assert (dead["art-5/r1"][b"error_type"], dead["art-5/r1"][b"attempts"]) == (b"refused", b"1")
    assert ids.count("art-4/r2") == 3 and ids.count("art-5/r1") == 1
    assert "art-4/r3" in delivered  # the article went on after its dead-lettered revision

    # Once the endpoint is fixed, the dead letters are replayed through the same delivery (and deleted).
    behaviour.always_fail, behaviour.refuse = set(), set()
    before = len(behaviour.requests)
    replay = WebhookSink(
        DeadLetterReplay(client, dead_letter_stream, batch_size=10),
        WebhookEndpoint(url, SECRET, DeliveryPolicy(timeout_s=0.5, max_attempts=3, backoff_base_s=0.05),
                        concurrency=4),
        EventFilter(), SinkDeadLetters(client, dead_letter_stream, "webhook"),
    )
    replay.run(threading.Event())
    replay.close()
    assert sorted(r.headers["ce-id"] for r in behaviour.requests[before:]) == ["art-4/r2", "art-5/r1"]
    [(_, still_dead)] = client.xrange(dead_letter_stream)  # the broken entry cannot be sent: it stays
    assert still_dead[b"id"] == b"broken/r1" and still_dead[b"source_stream"] == stream.encode()
    assert all(r.status == 204 for r in behaviour.requests[before:])

    # Every request is a CloudEvent in binary mode, signed as Standard Webhooks check it.
    verifier = Webhook(SECRET)
    for request in requests:
        event = from_binary(HTTPMessage(request.headers, request.body), JSONFormat())
        assert event.get_id() == request.headers["webhook-id"]
        assert event.get_type() == "org.newswire.article.published"
        assert event.get_data()["article_id"] == event.get_subject()  # type: ignore[index]
        assert request.headers["content-type"] == "application/json"
        verifier.verify(request.body, request.headers)
        verify_signature(SECRET, request.headers, request.body)
    sample = requests[-1]
    with pytest.raises(WebhookVerificationError):
        verifier.verify(sample.body + b" ", sample.headers)
    with pytest.raises(InvalidSignature, match="no matching signature"):
        verify_signature("whsec_" + "A" * 32, sample.headers, sample.body)
    with pytest.raises(InvalidSignature, match="replay window"):
        verify_signature(SECRET, sample.headers, sample.body, now=int(sample.headers["webhook-timestamp"]) + 301)


def http_port(log: Path) -> int | None:
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and json.loads(line).get("event") == "http_listening":
            return int(json.loads(line)["port"])
    return None


def test_the_command_sends_ninjs_with_filters_and_stops_on_sigterm(
    receiver: tuple[Receiver, str], redis_url: str, prefix: str, tmp_path: Path
) -> None:
    behaviour, url = receiver
    client = redis.Redis.from_url(redis_url)
    stream = "{" + prefix + "}:published"
    add_events(client, stream, [
        published_fields(1, language="ar", topics=(("medtop:04000000", None),), entities=(("Q7747", "Putin"),)),
        published_fields(2, language="ar", topics=(("medtop:15000000", None),), entities=(("Q7747", "Putin"),)),
        published_fields(3, language="en", topics=(("medtop:04000000", None),), entities=(("Q7747", "Putin"),)),
        published_fields(4, language="ar", topics=(("medtop:04000000", None),)),
    ])
    env = {**os.environ, "NEWSWIRE_REDIS_URL": redis_url, "NEWSWIRE_PREFIX": prefix, "NEWSWIRE_BLOCK_MS": "100",
           "NEWSWIRE_LOG_FORMAT": "json", "NEWSWIRE_WEBHOOK_SECRET": "plain text secret", "NEWSWIRE_HTTP_PORT": "0"}
    log = tmp_path / "sink.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "newswire.cli", "sink", "webhook", "--url", url, "--name", "ninjs-test",
             "--format", "ninjs", "--language", "ar", "--topic", "medtop:04000000", "--entity", "Q7747"],
            env=env, stdout=output, stderr=output, cwd=REPO,
        )
    try:
        eventually(lambda: behaviour.requests, 30, "a request")
        eventually(lambda: group_caught_up(client, stream, "webhook-ninjs-test"), 30, "every event handled")
        # Like the workers, the sink serves its metrics, liveness and readiness.
        port = eventually(lambda: http_port(log), 30, "the sink's HTTP port logged")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        assert 'newswire_sink_events_total{outcome="delivered",sink="webhook-ninjs-test"} 1.0' in metrics
        assert 'newswire_sink_events_total{outcome="filtered",sink="webhook-ninjs-test"} 3.0' in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    assert code == 0, log.read_text()
    [request] = behaviour.requests
    item = json.loads(request.body)
    jsonschema.Draft202012Validator(NINJS_SCHEMA).validate(item)
    assert item["uri"] == "urn:newswire:article:art-1"
    assert request.headers["ce-dataschema"] == "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json"
    verify_signature("plain text secret", request.headers, request.body)
    assert [g["name"] for g in client.xinfo_groups(stream)] == [b"webhook-ninjs-test"]
