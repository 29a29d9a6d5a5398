"""A Scrapy item pipeline that publishes items into newswire: over the HTTP ingest API, or straight into Redis.

In the Scrapy project's settings::

    ITEM_PIPELINES = {"newswire.scrapy.NewswirePipeline": 800}
    NEWSWIRE_INGEST_URL = "https://ingest.example.com"   # with an API key ...
    NEWSWIRE_INGEST_KEY = "nwk_..."
    # NEWSWIRE_REDIS_URL = "redis://..."                 # ... or Redis itself

Items (dicts, Item classes, dataclasses, attrs: anything itemadapter reads) are mapped to raw articles:
the raw-article fields (`url`, `html` or `text`, `title`, `source`, `language`, `published_at`,
`fetched_at`, `id`, `metadata`) are taken as they are, every other field goes under `metadata`.
Items are sent in batches (`NEWSWIRE_SCRAPY_BATCH_SIZE`, or after `NEWSWIRE_SCRAPY_FLUSH_S` seconds),
from a thread so the crawl goes on. Connection errors, 429 and 5xx answers are retried with backoff
(`Retry-After` honoured); over HTTP every batch carries an `Idempotency-Key`, so a retry never adds an
article twice. Refused articles are counted in the crawl stats (`newswire/refused/<error_type>`) and
logged with their URL and reason; the item itself is returned unchanged for the next pipeline.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

try:
    from itemadapter import ItemAdapter
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
    from twisted.internet import threads
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("newswire.scrapy needs Scrapy: pip install 'newswire[scrapy]'") from exc

logger = logging.getLogger("newswire.scrapy")

RAW_FIELDS = ("id", "url", "title", "text", "html", "source", "language", "published_at", "fetched_at")
_RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_MAX_WAIT_S = 60.0


class Unauthorized(Exception):
    """The ingest API refused the key (401): nothing can be published with it."""


@dataclass
class Delivery:
    """What became of a batch."""

    published: int = 0
    refused: list[tuple[dict[str, Any], str, str]] = field(default_factory=list)
    failed: int = 0
    retries: int = 0
    throttled: int = 0
    unauthorized: str | None = None


def item_to_article(item: Any, default_source: str | None = None) -> dict[str, Any]:
    """A raw article from a Scrapy item: known fields as they are, the others under `metadata`."""
    values = dict(ItemAdapter(item).items())
    article: dict[str, Any] = {}
    metadata: dict[str, Any] = dict(values.pop("metadata", None) or {})
    for name, value in values.items():
        if value is None:
            continue
        if name in RAW_FIELDS:
            article[name] = value.isoformat() if isinstance(value, datetime | date) else value
        else:
            metadata[name] = value
    if metadata:
        # Whatever JSON cannot hold (a Selector, a Decimal) is kept as its text.
        article["metadata"] = json.loads(json.dumps(metadata, default=str))
    if default_source and not article.get("source"):
        article["source"] = default_source
    article.setdefault("fetched_at", datetime.now(UTC).isoformat(timespec="seconds"))
    return article


def _setting(settings: Any, name: str, default: Any = None) -> Any:
    """A Scrapy setting, else the environment variable of the same name."""
    value = settings.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    return default if value in (None, "") else value


class HttpSender:
    """Posts batches to the ingest API's `/v1/articles:batch` (gzip JSON, Idempotency-Key per batch)."""

    def __init__(self, base_url: str, key: str, timeout_s: float, user_agent: str) -> None:
        self.url = base_url.rstrip("/") + "/v1/articles:batch"
        self.key = key
        self.timeout_s = timeout_s
        self.user_agent = user_agent

    def post(self, documents: list[dict[str, Any]], idempotency_key: str) -> tuple[int, dict[str, str], Any]:
        """(status, headers, parsed JSON body); raises OSError for connection failures."""
        body = gzip.compress(json.dumps(documents, ensure_ascii=False).encode())
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Authorization": f"Bearer {self.key}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Idempotency-Key": idempotency_key,
            "User-Agent": self.user_agent,
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, dict(response.headers), json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                document = json.loads(raw) if raw else None
            except ValueError:
                document = None
            return error.code, dict(error.headers), document


class NewswirePipeline:
    """Publishes every item to newswire (see the module docstring for the settings)."""

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.batch_size = int(_setting(settings, "NEWSWIRE_SCRAPY_BATCH_SIZE", 100))
        self.flush_s = float(_setting(settings, "NEWSWIRE_SCRAPY_FLUSH_S", 5.0))
        self.max_retries = int(_setting(settings, "NEWSWIRE_SCRAPY_MAX_RETRIES", 8))
        self.default_source = _setting(settings, "NEWSWIRE_SOURCE")
        ingest_url = _setting(settings, "NEWSWIRE_INGEST_URL")
        redis_url = _setting(settings, "NEWSWIRE_REDIS_URL")
        self.http: HttpSender | None = None
        self.redis: RedisSender | None = None
        if ingest_url:
            key = _setting(settings, "NEWSWIRE_INGEST_KEY")
            if not key:
                raise NotConfigured("NEWSWIRE_INGEST_URL is set but NEWSWIRE_INGEST_KEY is not; set the API key")
            self.http = HttpSender(ingest_url, key, float(_setting(settings, "NEWSWIRE_SCRAPY_TIMEOUT_S", 30.0)),
                                   str(settings.get("USER_AGENT") or "newswire-scrapy"))
        elif redis_url:
            self.redis = RedisSender(settings)
        else:
            raise NotConfigured("set NEWSWIRE_INGEST_URL and NEWSWIRE_INGEST_KEY, or NEWSWIRE_REDIS_URL")
        self._buffer: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()
        self._stopped = threading.Event()
        self._unauthorized = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> NewswirePipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if self._unauthorized:
            self.stats.inc_value("newswire/failed")
            return item
        self._buffer.append(item_to_article(item, self.default_source))
        if len(self._buffer) >= self.batch_size or time.monotonic() - self._last_flush >= self.flush_s:
            await self._flush()
        return item

    async def close_spider(self) -> None:
        while self._buffer:
            await self._flush()
        self._stopped.set()
        if self.redis is not None:
            self.redis.close()

    async def _flush(self) -> None:
        batch, self._buffer = self._buffer[: self.batch_size], self._buffer[self.batch_size :]
        self._last_flush = time.monotonic()
        if not batch:
            return
        delivery = await maybe_deferred_to_future(threads.deferToThread(self._deliver, batch))
        self._record(delivery)

    def _deliver(self, batch: list[dict[str, Any]]) -> Delivery:
        """In a thread: send a batch, with retries; never raises for what the server or Redis answered."""
        delivery = Delivery()
        try:
            if self.http is not None:
                self._deliver_http(batch, delivery)
            elif self.redis is not None:
                self.redis.deliver(batch, delivery, self.max_retries, self._wait)
        except Unauthorized as exc:
            delivery.failed += len(batch) - delivery.published - len(delivery.refused)
            delivery.unauthorized = str(exc)
        return delivery

    def _deliver_http(self, batch: list[dict[str, Any]], delivery: Delivery) -> None:
        """Send `batch`; drop refused articles and resend the rest; split batches the server finds too large."""
        assert self.http is not None
        idempotency_key = str(uuid.uuid4())
        for attempt in range(self.max_retries + 1):
            try:
                status, headers, problem = self.http.post(batch, idempotency_key)
            except OSError as exc:
                if attempt == self.max_retries:
                    break
                delivery.retries += 1
                logger.warning("newswire ingest unreachable (%s); retrying", exc)
                self._wait(attempt, None)
                continue
            if status == 202:
                delivery.published += len(batch)
                return
            errors = (problem or {}).get("errors") or [] if isinstance(problem, dict) else []
            indexed = [error for error in errors if isinstance(error.get("index"), int)]
            if status in (400, 403, 413) and indexed:
                bad = {error["index"]: error for error in indexed}
                for index, error in bad.items():
                    delivery.refused.append((batch[index], error.get("error_type", "refused"), error["detail"]))
                rest = [document for index, document in enumerate(batch) if index not in bad]
                if rest:
                    self._deliver_http(rest, delivery)
                return
            if status == 413 and len(batch) > 1:
                half = len(batch) // 2
                self._deliver_http(batch[:half], delivery)
                self._deliver_http(batch[half:], delivery)
                return
            if status == 401:
                raise Unauthorized(_detail(problem, status))
            if status == 422:
                idempotency_key = str(uuid.uuid4())
                continue
            if status not in _RETRIED_STATUSES or attempt == self.max_retries:
                reason = _detail(problem, status)
                for document in batch:
                    delivery.refused.append((document, f"http_{status}", reason))
                return
            delivery.retries += 1
            delivery.throttled += status == 429
            logger.info("newswire ingest answered %s (%s); retrying", status, _detail(problem, status))
            self._wait(attempt, headers.get("Retry-After") or headers.get("retry-after"))
        delivery.failed += len(batch)
        logger.error("newswire: gave up on %d articles after %d attempts", len(batch), self.max_retries + 1)

    def _wait(self, attempt: int, retry_after: str | float | None) -> None:
        """Sleep before a retry: Retry-After when given, else exponential backoff with jitter."""
        if retry_after is not None:
            try:
                delay = float(retry_after)
            except ValueError:
                delay = 1.0
        else:
            delay = random.uniform(0.5, 1.0) * min(_MAX_WAIT_S, 0.5 * 2**attempt)
        self._stopped.wait(min(delay, _MAX_WAIT_S))

    def _record(self, delivery: Delivery) -> None:
        if delivery.unauthorized is not None and not self._unauthorized:
            self._unauthorized = True
            logger.error("newswire refused the API key (%s); closing the spider", delivery.unauthorized)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="newswire_unauthorized"))
        self.stats.inc_value("newswire/published", delivery.published)
        self.stats.inc_value("newswire/retries", delivery.retries)
        self.stats.inc_value("newswire/throttled", delivery.throttled)
        if delivery.failed:
            self.stats.inc_value("newswire/failed", delivery.failed)
        for document, error_type, reason in delivery.refused:
            self.stats.inc_value("newswire/refused")
            self.stats.inc_value(f"newswire/refused/{error_type}")
            logger.warning("newswire refused %s (%s): %s", document.get("url") or "an item", error_type, reason)


class RedisSender:
    """Validates articles as the cleaner does, then adds them with `newswire.client.publish_raw` (routing,
    high-water mark)."""

    def __init__(self, scrapy_settings: Any) -> None:
        from pydantic import ValidationError

        from newswire.runtime.connection import sync_client
        from newswire.runtime.settings import Settings

        values = {
            name: _setting(scrapy_settings, f"NEWSWIRE_{name.upper()}")
            for name in Settings.model_fields
            if _setting(scrapy_settings, f"NEWSWIRE_{name.upper()}") is not None
        }
        try:
            self.settings = Settings(**values)
        except ValidationError as exc:
            # Loud, not NotConfigured: a crawl whose items silently go nowhere is worse than one that stops.
            first = exc.errors()[0]
            name = "NEWSWIRE_" + str(first["loc"][0]).upper() if first["loc"] else "a NEWSWIRE_ setting"
            raise ValueError(f"{name} is invalid: {first['msg']}") from None
        assert self.settings.redis_url is not None
        self.client = sync_client(self.settings.redis_url.get_secret_value(), socket_timeout=10,
                                  socket_connect_timeout=5)

    def deliver(self, batch: list[dict[str, Any]], delivery: Delivery, max_retries: int, wait: Any) -> None:
        import redis

        from newswire.cleaner.intake import read_raw_entry
        from newswire.client import HeadroomExceeded, publish_raw
        from newswire.errors import ArticleRefused

        valid = []
        for document in batch:
            try:
                read_raw_entry({b"data": json.dumps(document).encode()}, max_bytes=self.settings.max_article_bytes)
                valid.append(document)
            except ArticleRefused as refused:
                delivery.refused.append((document, refused.error_type, refused.reason))
        for attempt in range(max_retries + 1):
            sent = 0
            retry_after: float | None = None
            try:
                for _entry in publish_raw(self.client, self.settings, list(valid)):
                    sent += 1
            except HeadroomExceeded as exc:
                delivery.throttled += 1
                retry_after = exc.headroom.retry_after_s
                logger.info("newswire: %s", exc)
            except (redis.ConnectionError, redis.TimeoutError, redis.OutOfMemoryError) as exc:
                logger.warning("newswire: Redis unavailable (%s); retrying", exc)
            # What publish_raw yielded is in Redis; the rest is sent again.
            delivery.published += sent
            valid = valid[sent:]
            if not valid:
                return
            if attempt < max_retries:
                delivery.retries += 1
                wait(attempt, retry_after)
        delivery.failed += len(valid)
        logger.error("newswire: gave up on %d articles after %d attempts", len(valid), max_retries + 1)

    def close(self) -> None:
        self.client.close()


def _detail(problem: Any, status: int) -> str:
    if isinstance(problem, dict) and problem.get("detail"):
        return str(problem["detail"])
    return f"HTTP {status}"

