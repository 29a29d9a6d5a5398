"""The Scrapy pipeline's delivery: over real HTTP against a scripted server (retries, refusals, splits), and
straight into a real Redis that is full, then down."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from scrapy.settings import Settings as ScrapySettings

from newswire.runtime.pressure import CACHE_S
from newswire.scrapy import Delivery, NewswirePipeline
from tests.support import RedisServer


class ScriptedIngest:
    """Answers each POST with the next scripted (status, headers, body), then 202; records what it got."""

    def __init__(self, script: list[tuple[int, dict[str, str], dict[str, Any] | None]]) -> None:
        self.script = list(script)
        self.requests: list[tuple[dict[str, str], list[dict[str, Any]]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = gzip.decompress(self.rfile.read(int(self.headers["Content-Length"])))
                articles = json.loads(body)
                outer.requests.append((dict(self.headers), articles))
                status, headers, document = outer.script.pop(0) if outer.script else (202, {}, None)
                if status == 202:
                    document = {"accepted": len(articles), "articles": [], "replayed": False}
                payload = json.dumps(document).encode() if document is not None else b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def scripted() -> Iterator[list[ScriptedIngest]]:
    servers: list[ScriptedIngest] = []
    yield servers
    for server in servers:
        server.server.shutdown()
        server.server.server_close()


def pipeline(url: str, **settings: object) -> NewswirePipeline:
    values = {"NEWSWIRE_INGEST_URL": url, "NEWSWIRE_INGEST_KEY": "nwk_00000000_test", **settings}
    crawler = SimpleNamespace(settings=ScrapySettings(values), stats=None)
    return NewswirePipeline(crawler)


def start(scripted: list[ScriptedIngest], script: list[tuple[int, dict[str, str], dict[str, Any] | None]]) -> str:
    server = ScriptedIngest(script)
    server.thread.start()
    scripted.append(server)
    return server.url


ARTICLES = [{"url": f"https://example.com/{n}", "text": f"Article {n}"} for n in range(4)]


def test_hiccups_are_retried_with_one_idempotency_key(scripted: list[ScriptedIngest]) -> None:
    url = start(scripted, [(503, {"Retry-After": "0"}, {"detail": "Redis down"}),
                           (429, {"Retry-After": "0"}, {"detail": "slow down"}),
                           (502, {}, None)])
    delivery = Delivery()
    pipeline(url, NEWSWIRE_SCRAPY_MAX_RETRIES=3)._deliver_http(list(ARTICLES), delivery)
    assert (delivery.published, delivery.retries, delivery.throttled, delivery.failed) == (4, 3, 1, 0)
    keys = {headers["Idempotency-Key"] for headers, _ in scripted[0].requests}
    assert len(scripted[0].requests) == 4 and len(keys) == 1
    assert scripted[0].requests[0][0]["Authorization"] == "Bearer nwk_00000000_test"


def test_refused_articles_are_left_out_and_the_rest_resent(scripted: list[ScriptedIngest]) -> None:
    problem = {"detail": "1 of 4 articles are not valid", "errors": [
        {"index": 2, "field": "text", "error_type": "wrong_type", "detail": "`text` should be a valid string"}]}
    url = start(scripted, [(400, {}, problem)])
    delivery = Delivery()
    pipeline(url)._deliver_http(list(ARTICLES), delivery)
    assert delivery.published == 3
    assert [(document["url"], error_type) for document, error_type, _ in delivery.refused] == [
        ("https://example.com/2", "wrong_type")]
    assert [article["url"] for article in scripted[0].requests[1][1]] == [a["url"] for a in ARTICLES if a is not
                                                                          ARTICLES[2]]


def test_a_batch_too_large_is_split_and_giving_up_is_counted(scripted: list[ScriptedIngest]) -> None:
    url = start(scripted, [(413, {}, {"detail": "the body is larger than ..."})])
    delivery = Delivery()
    pipeline(url)._deliver_http(list(ARTICLES), delivery)
    assert delivery.published == 4
    assert [len(articles) for _, articles in scripted[0].requests] == [4, 2, 2]

    down = pipeline("http://127.0.0.1:9", NEWSWIRE_SCRAPY_MAX_RETRIES=1)
    down._wait = lambda attempt, retry_after: None  # type: ignore[method-assign]
    failed = Delivery()
    down._deliver_http(list(ARTICLES), failed)
    assert (failed.published, failed.failed, failed.retries) == (0, 4, 1)


def test_straight_into_redis_survives_an_outage_and_the_high_water_mark(private_redis: RedisServer) -> None:
    """Redis mode: refused articles are left out, an outage and a full Redis are waited out, nothing is lost."""
    client = redis.Redis.from_url(private_redis.url)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", str(used + used // 4))  # above the 50 % high-water mark set below
    redis_pipeline = NewswirePipeline(SimpleNamespace(settings=ScrapySettings({
        "NEWSWIRE_REDIS_URL": private_redis.url, "NEWSWIRE_PREFIX": "scrapy", "NEWSWIRE_HIGH_WATER_PERCENT": "50",
    }), stats=None))
    assert redis_pipeline.redis is not None
    hiccups = ["full", "down"]

    def wait(attempt: int, retry_after: float | None) -> None:
        hiccup = hiccups.pop(0)
        if hiccup == "full":
            assert retry_after is not None  # the high-water mark says when to come back
            client.config_set("maxmemory", "0")
            private_redis.stop()  # ... and the next attempt finds Redis down
            # The real wait (Retry-After, 5 s) outlasts the producers' cached memory reading; this one must too.
            time.sleep(CACHE_S)
        else:
            private_redis.start()

    delivery = Delivery()
    articles = [*ARTICLES, {"url": "https://example.com/empty", "title": "no text"}]
    redis_pipeline.redis.deliver(articles, delivery, max_retries=3, wait=wait)
    assert (delivery.published, delivery.throttled, delivery.retries, delivery.failed) == (4, 1, 2, 0)
    assert [(document["url"], error_type) for document, error_type, _ in delivery.refused] == [
        ("https://example.com/empty", "missing_content")]
    stored = redis.Redis.from_url(private_redis.url).xrange("{scrapy}:raw")
    assert sorted(json.loads(fields[b"data"])["url"] for _id, fields in stored) == [a["url"] for a in ARTICLES]
    redis_pipeline.redis.close()
