"""How fast the console answers with a large published stream.

Run: NEWSWIRE_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python tests/benchmarks/console.py [--events 20000]
Builds one real published event from the bundled Arabic sample (clean_article, enrich_article, the publisher's
draft_event), adds --events copies under a temporary prefix (each its own article id), serves the console with
uvicorn on 127.0.0.1 and times each page over HTTP (median of 5): the pipeline page and its JSON, the newest
articles, a filter that matches nothing (the whole search window is read), an article found at the far end of
the window, and one dead letter; and, as the baseline, the same events read with plain XREVRANGE in the same
run. Deletes its keys afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
import psutil
import redis
import uvicorn

from newswire.cleaner.clean import clean_article
from newswire.console.access import ConsoleAccess
from newswire.console.app import SCAN_LIMIT, ConsoleConfig, create_app
from newswire.console.command import bind
from newswire.enricher import enrich
from newswire.publisher.publish import draft_event
from newswire.runtime.settings import Settings
from newswire.schemas import RawArticle
from tests.support import SAMPLE_TEXT, delete_prefix


def event_fields(article_id: str) -> dict[str, str]:
    raw = RawArticle(id=article_id, text=SAMPLE_TEXT.read_text(encoding="utf-8"), source="alaraby.co.uk")
    enriched = enrich.enrich_article(clean_article(raw, received_at=datetime.now(UTC)))
    draft = draft_event(enriched, now=datetime.now(UTC), default_source="newswire", schema_url="urn:bench")
    return {name: ("{revision}" if name == "id" else value) for name, value in draft.fields}


def fill(client: redis.Redis, settings: Settings, count: int) -> None:
    template = event_fields("TEMPLATE")
    pipe = client.pipeline(transaction=False)
    for n in range(count):
        article_id = f"bench-{n:06d}"
        fields = {name: value.replace("TEMPLATE", article_id) for name, value in template.items()}
        fields["id"] = f"{article_id}/r1"
        fields["data"] = '{"revision":1,' + fields["data"]
        pipe.xadd(settings.keys.published, fields)  # type: ignore[arg-type]
        if n % 500 == 499:
            pipe.execute()
    pipe.execute()
    client.xadd(settings.keys.dlq, {"data": "{", "stage": "cleaner", "error_type": "invalid_json", "error": "x",
                                    "attempts": "1", "source_stream": settings.keys.raw, "source_id": "1-0",
                                    "failed_at": datetime.now(UTC).isoformat()})


def timed(client: httpx.Client, path: str, runs: int = 5) -> float:
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        durations.append(time.perf_counter() - started)
        response.raise_for_status()
    return statistics.median(durations) * 1000


def read_only(client: redis.Redis, settings: Settings, count: int, runs: int = 3) -> float:
    """What reading the events costs without the console: pages of 200 with XREVRANGE, nothing decoded."""
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        end, read = "+", 0
        while read < count:
            page = client.xrevrange(settings.keys.published, max=end, count=200)
            if not page:
                break
            read += len(page)
            end = "(" + page[-1][0].decode()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    url = os.environ.get("NEWSWIRE_REDIS_URL")
    if not url:
        sys.exit("console benchmark: set NEWSWIRE_REDIS_URL to a Redis it may write to (it uses its own prefix)")
    enrich.warm_up()
    settings = Settings(redis_url=url, prefix=f"bench-console-{uuid.uuid4().hex[:6]}")
    client = redis.Redis.from_url(url)
    try:
        fill(client, settings, args.events)
        event_bytes = len(client.xrange(settings.keys.published, count=1)[0][1][b"data"])
        config = ConsoleConfig(lambda: redis.Redis.from_url(url), settings, settings.partition_keys(),
                               ConsoleAccess(None), "bench")
        listener = bind("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(create_app(config), log_config=None, access_log=False))
        threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        rss_before = psutil.Process().memory_info().rss
        far = f"bench-{max(0, args.events - min(args.events, SCAN_LIMIT)):06d}"
        dead = client.xrange(settings.keys.dlq)[0][0].decode()
        with httpx.Client(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=120) as http:
            rows = {
                "pipeline page": timed(http, "/"),
                "pipeline JSON (live feed payload)": timed(http, "/api/pipeline"),
                "newest 50 articles": timed(http, "/articles"),
                f"filter matching nothing (reads {min(args.events, SCAN_LIMIT):,} events)":
                    timed(http, "/articles?entity=Q0", runs=3),
                f"article page, article {min(args.events, SCAN_LIMIT):,} events back": timed(http, f"/articles/{far}",
                                                                                         runs=3),
                "dead letter page": timed(http, f"/dead-letters/0/{dead}"),
            }
        rows[f"baseline: the same {min(args.events, SCAN_LIMIT):,} events read with XREVRANGE alone"] = read_only(
            client, settings, min(args.events, SCAN_LIMIT))
        server.should_exit = True
        rss_added = (psutil.Process().memory_info().rss - rss_before) / 2**20
    finally:
        delete_prefix(client, settings.prefix)
        client.close()
    print(f"console, {args.events:,} published events of {event_bytes / 1024:.1f} KiB (the Arabic sample):")
    for name, ms in rows.items():
        print(f"  {name}: {ms:.0f} ms")
    print(f"  memory added while serving: {rss_added:.0f} MiB")
    print(f"command: NEWSWIRE_REDIS_URL={url} .venv/bin/python tests/benchmarks/console.py --events {args.events}")


if __name__ == "__main__":
    main()
