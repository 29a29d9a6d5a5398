"""End to end: `newswire run all` serves the ingest API; a real Scrapy crawl of a local site publishes every page.

The site is served by the test over real HTTP on 127.0.0.1; Scrapy runs in its own process
(`scrapy runspider`), so Twisted never touches the test's event loop.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis

from newswire.runtime.settings import Settings
from tests.e2e.test_processes import Workers
from tests.support import REPO, eventually, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NEWSWIRE = [sys.executable, "-m", "newswire.cli"]
ARTICLES = 9
TOPICS = ["rainfall in the northern valleys", "a new bridge over the river", "the national football league",
          "prices at the central market", "a museum reopening downtown", "the university entrance exams",
          "a power cut in the eastern district", "the harbour expansion plan", "a festival of traditional music"]

SPIDER = '''
import os

import scrapy


class LocalSiteSpider(scrapy.Spider):
    name = "local-site"
    start_urls = [os.environ["SITE_URL"]]

    def parse(self, response):
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, self.parse)
        if response.css("article"):
            yield {
                "url": response.url,
                "html": response.text,
                "title": response.css("h1::text").get(),
                "section": response.css("article::attr(data-section)").get(),
            }
        elif response.url.endswith("/stub"):
            yield {"url": response.url, "title": "A page whose text the spider did not keep"}
'''


def _site_pages() -> dict[str, str]:
    pages = {}
    links = "".join(f'<li><a href="/news/{n}">Story {n}</a></li>' for n in range(ARTICLES))
    pages["/"] = f"<html><body><h1>Local News</h1><ul>{links}</ul><a href='/stub'>stub</a></body></html>"
    pages["/stub"] = "<html><body><p>Nothing here.</p></body></html>"
    for n, topic in enumerate(TOPICS):
        body = "".join(
            f"<p>Reporters followed {topic} all week; paragraph {k} of story {n} adds what residents said about it, "
            f"with figures from the city office and a quote from an official.</p>"
            for k in range(4)
        )
        pages[f"/news/{n}"] = (
            f"<html><head><title>Story {n}</title></head><body><nav><a href='/'>Home</a>"
            f"<a href='/news/{(n + 1) % ARTICLES}'>Next</a></nav><article data-section='city'>"
            f"<h1>Story {n}: {topic}</h1>{body}</article><footer>Copyright Local News</footer></body></html>"
        )
    return pages


@pytest.fixture
def site() -> Iterator[str]:
    pages = _site_pages()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = pages.get(self.path)
            body = (page or "not found").encode()
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def newswire(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NEWSWIRE, *args], env=env, capture_output=True, text=True, timeout=60, cwd=REPO)


def crawl(tmp_path: Path, site: str, env: dict[str, str], **settings: str) -> subprocess.CompletedProcess[str]:
    spider = tmp_path / "local_site.py"
    spider.write_text(SPIDER, encoding="utf-8")
    options = {"ITEM_PIPELINES": json.dumps({"newswire.scrapy.NewswirePipeline": 300}), "LOG_LEVEL": "INFO",
               "TELNETCONSOLE_ENABLED": "False", "NEWSWIRE_SCRAPY_BATCH_SIZE": "4", **settings}
    arguments = [item for name, value in options.items() for item in ("-s", f"{name}={value}")]
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "runspider", str(spider), *arguments],
        env={**env, "SITE_URL": site}, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )


def crawl_stat(log: str, name: str) -> int:
    match = re.search(rf"'{re.escape(name)}': (\d+)", log)
    return int(match.group(1)) if match else 0


def ingest_port(log: Path) -> int | None:
    for line in log.read_text().splitlines():
        if line.startswith("{") and json.loads(line)["event"] == "ingest_listening":
            return int(json.loads(line)["port"])
    return None


def published_urls(client: redis.Redis, prefix: str) -> set[str]:
    urls = set()
    for keys in Settings(prefix=prefix).partition_keys():
        for _id, fields in client.xrange(keys.published):
            urls.add(json.loads(fields[b"data"])["url"])
    return urls


def test_a_scrapy_crawl_over_http_is_published_by_run_all_and_keys_have_a_lifecycle(
    redis_url: str, prefix: str, sync_redis: redis.Redis, tmp_path: Path, site: str
) -> None:
    env = worker_env(redis_url, prefix, NEWSWIRE_INGEST_PORT="0")
    created = newswire(env, "ingest", "keys", "create", "local-news-crawler", "--source", "Local News", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    listed = newswire(env, "ingest", "keys", "list", "--json")
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == ["local-news-crawler"]
    assert key["key"] not in listed.stdout

    workers = Workers(tmp_path)
    workers.start(env, "run", "all")
    try:
        log = next(tmp_path.glob("run-all-*.log"))
        port = eventually(lambda: ingest_port(log), 90, "`run all` logs the ingest API's port")
        result = crawl(tmp_path, site, env, NEWSWIRE_INGEST_URL=f"http://127.0.0.1:{port}",
                       NEWSWIRE_INGEST_KEY=key["key"])
        assert result.returncode == 0, result.stderr[-3000:]
        assert crawl_stat(result.stderr, "newswire/published") == ARTICLES, result.stderr[-3000:]
        assert crawl_stat(result.stderr, "newswire/refused/missing_content") == 1
        assert re.search(r"newswire refused http://127\.0\.0\.1:\d+/stub \(missing_content\)", result.stderr)
        expected = {f"{site}news/{n}" for n in range(ARTICLES)}
        eventually(lambda: published_urls(sync_redis, prefix) == expected, 90, "every crawled page published")
        raw = [fields for keys in Settings(prefix=prefix).partition_keys()
               for _id, fields in sync_redis.xrange(keys.raw)]
        assert {fields[b"scraper"] for fields in raw} == {b"local-news-crawler"}
        assert {json.loads(fields[b"data"])["source"] for fields in raw} == {"Local News"}

        revoked = newswire(env, "ingest", "keys", "revoke", key["id"])
        assert revoked.returncode == 0, revoked.stderr
        again = crawl(tmp_path, site, env, NEWSWIRE_INGEST_URL=f"http://127.0.0.1:{port}",
                      NEWSWIRE_INGEST_KEY=key["key"])
        assert "newswire refused the API key" in again.stderr
        assert "newswire_unauthorized" in again.stderr
        assert crawl_stat(again.stderr, "newswire/published") == 0
    finally:
        workers.stop_all()


def test_a_scrapy_crawl_straight_into_redis(
    redis_url: str, prefix: str, sync_redis: redis.Redis, tmp_path: Path, site: str
) -> None:
    env = worker_env(redis_url, prefix)
    result = crawl(tmp_path, site, env, NEWSWIRE_REDIS_URL=redis_url, NEWSWIRE_PREFIX=prefix,
                   NEWSWIRE_SOURCE="Local News")
    assert result.returncode == 0, result.stderr[-3000:]
    assert crawl_stat(result.stderr, "newswire/published") == ARTICLES
    assert crawl_stat(result.stderr, "newswire/refused/missing_content") == 1
    documents = [json.loads(fields[b"data"]) for keys in Settings(prefix=prefix).partition_keys()
                 for _id, fields in sync_redis.xrange(keys.raw)]
    assert sorted(document["url"] for document in documents) == sorted(f"{site}news/{n}" for n in range(ARTICLES))
    assert all(document["source"] == "Local News" and document["metadata"] == {"section": "city"}
               for document in documents)
