"""`newswire sink webhook`: each published event POSTed to an endpoint, signed, retried, in order per article.

Requests are CloudEvents in HTTP binary mode: the attributes as `ce-*` headers, `data` as the body
(`Content-Type: application/json`). They are signed as Standard Webhooks (https://www.standardwebhooks.com):

    webhook-id: <event id>            the same on every retry of one event: deduplicate on it
    webhook-timestamp: <unix seconds>  when this attempt was signed
    webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">

A receiver recomputes the signature with the shared secret and refuses requests whose timestamp is
more than five minutes from its clock (the replay window); `verify_signature` does both. A secret given as
`whsec_<base64>` is the base64-decoded key (the Standard Webhooks format); any other string is used as
UTF-8 bytes.

Delivery: 2xx is success. Timeouts, connection errors, 408, 425, 429 and 5xx are retried with exponential
backoff and jitter (a `Retry-After` in seconds is honoured, within the cap); any other status, or
`max_attempts` failed attempts, sends the event to the endpoint's dead-letter stream. Events of one article
are sent one after the other in stream order; different articles go out in parallel. Each event is
acknowledged once delivered or dead-lettered, so a sink killed mid-batch re-sends at most the events it had
not acknowledged (at-least-once: deduplicate on `webhook-id`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import httpx
import structlog

from newswire.subscribers.filters import EventFilter
from newswire.subscribers.reader import PublishedEntry
from newswire.subscribers.sink_metrics import SINK_RETRIES, SINK_WRITE_SECONDS
from newswire.subscribers.sink_support import (
    REDIS_TRANSIENT,
    SinkDeadLetters,
    SinkStats,
    Stopped,
    backoff_delay,
    retry_transient,
)

if TYPE_CHECKING:
    from newswire.runtime.connection import SyncRedis

log = structlog.get_logger("newswire.sink.webhook")

REPLAY_WINDOW_S = 300
# The CloudEvents attributes sent as `ce-` headers (datacontenttype becomes Content-Type).
_ATTRIBUTES = ("specversion", "id", "source", "type", "time", "subject", "dataschema", "traceparent")
_RETRIED_STATUSES = frozenset({408, 425, 429})
# CloudEvents HTTP binding: header values percent-encode space, `"`, `%` and anything outside printable ASCII.
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


class InvalidSignature(Exception):
    """A webhook request whose signature or timestamp does not check out."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: `whsec_<base64>` decoded, any other string as UTF-8."""
    if secret.startswith("whsec_"):
        encoded = secret[len("whsec_"):]
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return secret.encode()


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value of one request."""
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_signature(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
    tolerance_s: int = REPLAY_WINDOW_S,
) -> None:
    """For receivers: raise InvalidSignature unless the request was signed with `secret` within the window."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id, stamp, signatures = (lowered.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (message_id and stamp and signatures):
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise InvalidSignature("webhook-timestamp is not an integer") from None
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        raise InvalidSignature("webhook-timestamp is outside the replay window")
    expected = signature(secret_key(secret), message_id, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in signatures.split()):
        raise InvalidSignature("no matching signature")


def _header_value(value: str) -> str:
    return quote(value, safe=_HEADER_SAFE)


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One event as an HTTP request: headers (without the signature) and body bytes."""

    event_id: str
    subject: str
    headers: dict[str, str]
    body: bytes


def build_request(entry: PublishedEntry, render: Callable[[dict[str, Any]], bytes] | None = None,
                  dataschema: str | None = None) -> WebhookRequest:
    """The CloudEvents binary-mode request of a published entry; `render` replaces the body (e.g. ninjs)."""
    fields = {name.decode(): value.decode() for name, value in entry.fields.items()}
    body = entry.fields.get(b"data", b"")
    if render is not None:
        body = render({**fields, "data": json.loads(body)})
    headers = {"content-type": fields.get("datacontenttype", "application/json")}
    for attribute in _ATTRIBUTES:
        value = fields.get(attribute)
        if value:
            headers[f"ce-{attribute}"] = _header_value(value)
    if dataschema is not None:
        headers["ce-dataschema"] = dataschema
    if "traceparent" in fields:
        headers["traceparent"] = fields["traceparent"]
    return WebhookRequest(fields.get("id", ""), fields.get("subject", ""), headers, body)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Timeouts and retries of one endpoint."""

    timeout_s: float = 10.0
    max_attempts: int = 6
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one request: delivered, or why not and whether to retry."""

    delivered: bool
    retry: bool
    error: str
    retry_after_s: float | None = None


class WebhookEndpoint:
    """POSTs signed requests to one URL."""

    def __init__(self, url: str, secret: str | None, policy: DeliveryPolicy, concurrency: int) -> None:
        self.url = url
        self.key = secret_key(secret) if secret else None
        self.policy = policy
        self.client = httpx.Client(
            timeout=policy.timeout_s,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            follow_redirects=False,
            headers={"user-agent": "newswire-webhook"},
        )

    def attempt(self, request: WebhookRequest) -> Attempt:
        headers = dict(request.headers)
        if self.key is not None:
            stamp = int(time.time())
            headers["webhook-id"] = request.event_id
            headers["webhook-timestamp"] = str(stamp)
            headers["webhook-signature"] = signature(self.key, request.event_id, stamp, request.body)
        try:
            response = self.client.post(self.url, content=request.body, headers=headers)
        except httpx.TimeoutException:
            return Attempt(False, True, f"timed out after {self.policy.timeout_s:g} s")
        except httpx.TransportError as exc:
            return Attempt(False, True, f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if 200 <= status < 300:
            return Attempt(True, False, "")
        retry = status in _RETRIED_STATUSES or status >= 500
        return Attempt(False, retry, f"HTTP {status}", _retry_after(response.headers.get("retry-after")))

    def close(self) -> None:
        self.client.close()


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class EntrySource(Protocol):
    """Where a sink's entries come from: the published stream's group, or a dead-letter stream to replay."""

    def ensure_group(self) -> None: ...

    def batches(self, stop: threading.Event) -> Iterator[list[PublishedEntry]]: ...

    def acknowledge(self, entries: list[PublishedEntry]) -> None: ...


class DeadLetterReplay:
    """The dead letters present when it starts, oldest first; each is deleted once delivered or re-dead-lettered
    (a new dead letter, after the snapshot, is not replayed again in the same run)."""

    def __init__(self, client: SyncRedis, stream: str, batch_size: int) -> None:
        self.client = client
        self.stream = stream
        self.batch_size = batch_size
        last: Any = client.xrevrange(stream, count=1)
        self.last_id = last[0][0].decode() if last else None

    def ensure_group(self) -> None:
        """Nothing to create: dead letters are read with XRANGE."""

    def batches(self, stop: threading.Event) -> Iterator[list[PublishedEntry]]:
        if self.last_id is None:
            return
        start = "-"
        while not stop.is_set():
            reply: Any = self.client.xrange(self.stream, min=start, max=self.last_id, count=self.batch_size)
            if not reply:
                return
            yield [PublishedEntry(self.stream, entry_id.decode(), fields) for entry_id, fields in reply]
            start = "(" + reply[-1][0].decode()

    def acknowledge(self, entries: list[PublishedEntry]) -> None:
        self.client.xdel(self.stream, *(entry.entry_id for entry in entries))


class WebhookSink:
    """Published stream -> one webhook endpoint, in order per article, with retries and dead letters."""

    def __init__(
        self,
        reader: EntrySource,
        endpoint: WebhookEndpoint,
        event_filter: EventFilter,
        dead_letters: SinkDeadLetters,
        *,
        concurrency: int = 8,
        render: Callable[[dict[str, Any]], bytes] | None = None,
        dataschema: str | None = None,
        stats: SinkStats | None = None,
    ) -> None:
        self.reader = reader
        self.endpoint = endpoint
        self.event_filter = event_filter
        self.dead_letters = dead_letters
        self.render = render
        self.dataschema = dataschema
        self.stats = stats or SinkStats("webhook")
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook")

    def prepare(self) -> None:
        self.reader.ensure_group()

    def run(self, stop: threading.Event) -> None:
        for batch in self.reader.batches(stop):
            self.handle(batch, stop)

    def handle(self, batch: list[PublishedEntry], stop: threading.Event) -> None:
        """Deliver a batch: one worker per article, its events in order; acknowledge each when done."""
        by_article: dict[str, list[PublishedEntry]] = {}
        skipped = []
        for entry in batch:
            try:
                data = json.loads(entry.fields[b"data"])
            except (KeyError, ValueError):
                self._dead_letter(entry, "bad_event", "the entry has no `data` field holding JSON", 0, stop)
                continue
            if isinstance(data, dict) and self.event_filter.accepts(data):
                subject = entry.fields.get(b"subject", b"").decode() or entry.event_id
                by_article.setdefault(subject, []).append(entry)
            else:
                skipped.append(entry)
        if skipped:
            self._acknowledge(skipped, stop)
            self.stats.count(written=0, skipped=len(skipped))
        futures = [self.pool.submit(self._deliver_in_order, entries, stop) for entries in by_article.values()]
        failure: BaseException | None = None
        for future in futures:
            exc = future.exception()
            if exc is not None and failure is None:
                failure = exc
        if failure is not None:
            raise failure

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.endpoint.close()

    def _acknowledge(self, entries: list[PublishedEntry], stop: threading.Event) -> None:
        retry_transient(lambda: self.reader.acknowledge(entries), stop, what="redis_acknowledge",
                        errors=REDIS_TRANSIENT, stats=self.stats)

    def _deliver_in_order(self, entries: list[PublishedEntry], stop: threading.Event) -> None:
        for entry in entries:
            self._deliver(entry, stop)

    def _deliver(self, entry: PublishedEntry, stop: threading.Event) -> None:
        try:
            request = build_request(entry, self.render, self.dataschema)
        except ValueError as exc:
            self._dead_letter(entry, "bad_event", f"cannot render the event: {exc}", 0, stop)
            return
        attempts = 0
        while True:
            if stop.is_set():
                raise Stopped
            attempts += 1
            started = time.monotonic()
            outcome = self.endpoint.attempt(request)
            SINK_WRITE_SECONDS.labels(self.stats.sink).observe(time.monotonic() - started)
            if outcome.delivered:
                self._acknowledge([entry], stop)
                self.stats.count(written=1)
                return
            if not outcome.retry or attempts >= self.endpoint.policy.max_attempts:
                kind = "refused" if not outcome.retry else "max_attempts"
                self._dead_letter(entry, kind, outcome.error, attempts, stop)
                return
            policy = self.endpoint.policy
            delay = backoff_delay(attempts, base_s=policy.backoff_base_s, cap_s=policy.backoff_cap_s)
            if outcome.retry_after_s is not None:
                delay = min(max(delay, outcome.retry_after_s), policy.backoff_cap_s)
            log.info("webhook_retry", event_id=request.event_id, attempt=attempts, error=outcome.error,
                     delay_s=round(delay, 2))
            SINK_RETRIES.labels(self.stats.sink).inc()
            self.stats.tick()
            if stop.wait(delay):
                raise Stopped

    def _dead_letter(
        self, entry: PublishedEntry, error_type: str, error: str, attempts: int, stop: threading.Event
    ) -> None:
        retry_transient(lambda: self.dead_letters.add(entry, error_type=error_type, error=error, attempts=attempts),
                        stop, what="redis_dead_letter", errors=REDIS_TRANSIENT, stats=self.stats)
        self._acknowledge([entry], stop)
        self.stats.count(written=0, dead_lettered=1)
