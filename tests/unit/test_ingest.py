"""The ingest API's pure parts: request bodies, problems, keys, the Scrapy item mapping, the checked-in OpenAPI."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from newswire.cli.ingest import OPENAPI_FILE
from newswire.ingest.keys import ApiKey, ApiKeyError, digest, looks_like_key, new_key
from newswire.ingest.openapi import render_openapi
from newswire.ingest.problems import Problem
from newswire.ingest.request_body import Limits, gunzip, parse_batch, parse_single, read_body
from newswire.scrapy import item_to_article
from tests.support import REPO

LIMITS = Limits(max_body_bytes=10_000, max_article_bytes=4_000, max_batch=3)


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_a_body_is_cut_at_the_limit_while_it_is_read() -> None:
    with pytest.raises(Problem) as declared:
        await read_body(chunks(b"x"), {"content-length": "10001"}, LIMITS)
    with pytest.raises(Problem) as streamed:
        await read_body(chunks(b"x" * 6_000, b"x" * 6_000), {}, LIMITS)
    assert declared.value.status == streamed.value.status == 413
    assert await read_body(chunks(b"ab", b"cd"), {}, LIMITS) == b"abcd"


async def test_gzip_bodies_and_bombs() -> None:
    article = json.dumps({"text": "gzip"}).encode()
    assert await read_body(chunks(gzip.compress(article)), {"content-encoding": "gzip"}, LIMITS) == article
    # Two gzip members (what `cat a.gz b.gz` makes) are one body.
    assert gunzip(gzip.compress(b"ab") + gzip.compress(b"cd"), 100) == b"abcd"
    with pytest.raises(Problem) as bomb:
        gunzip(gzip.compress(b"\0" * 50_000_000), 10_000)
    assert bomb.value.status == 413 and "decompressed" in bomb.value.detail
    with pytest.raises(Problem) as truncated:
        gunzip(gzip.compress(article)[:-12], 10_000)
    assert truncated.value.status == 400


def test_media_types() -> None:
    assert parse_single(b'{"text": "a"}', "application/json", None, LIMITS)[0].entry.article.text == "a"
    assert parse_single(b'{"text": "a"}', "application/vnd.example+json", None, LIMITS)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        with pytest.raises(Problem) as refused:
            parse_single(b'{"text": "a"}', content_type, None, LIMITS)
        assert refused.value.status == 415
    with pytest.raises(Problem) as ndjson_single:
        parse_single(b'{"text": "a"}', "application/x-ndjson", None, LIMITS)
    assert ndjson_single.value.status == 415


def test_batches_name_every_bad_article() -> None:
    body = json.dumps([{"text": "ok"}, {"text": 3}, {"txt": "typo"}]).encode()
    with pytest.raises(Problem) as refused:
        parse_batch(body, "application/json", None, LIMITS)
    problem = refused.value
    assert problem.status == 400 and problem.slug == "invalid-article"
    assert [(e.index, e.field, e.pointer, e.error_type) for e in problem.errors] == [
        (1, "text", "#/1/text", "wrong_type"),
        (2, "txt", "#/2/txt", "unknown_field"),
    ]
    assert problem.detail.startswith("2 of 3 articles are not valid")
    document = problem.document("/v1/articles:batch")
    assert document["type"] == "urn:newswire:problem:invalid-article" and document["instance"] == "/v1/articles:batch"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error_type"),
    [
        (b"[]", "application/json", 400, None),
        (b"\n\n", "application/x-ndjson", 400, None),
        (json.dumps([{"text": "a"}] * 4).encode(), "application/json", 413, None),
        (b'{"text": "an object"}', "application/json", 400, "not_an_array"),
        (b"[1, ", "application/json", 400, "invalid_json"),
        (b'["\xff"]', "application/json", 400, "not_utf8"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "too_deeply_nested"),
        (json.dumps([{"text": "x" * 5_000}]).encode(), "application/json", 413, "too_large"),
        (b'[{"text": "\\ud800"}]', "application/json", 400, "invalid_unicode"),
    ],
)
def test_bad_batches(body: bytes, content_type: str, status: int, error_type: str | None) -> None:
    with pytest.raises(Problem) as refused:
        parse_batch(body, content_type, None, LIMITS)
    assert refused.value.status == status
    if error_type is not None:
        assert refused.value.errors[0].error_type == error_type


def test_traceparent_is_kept_when_valid_and_ignored_when_not() -> None:
    valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert parse_single(b'{"text": "a"}', "application/json", valid, LIMITS)[0].entry.traceparent == valid
    assert parse_single(b'{"text": "a"}', "application/json", "garbage", LIMITS)[0].entry.traceparent is None


def test_keys_are_random_named_and_stored_as_hashes() -> None:
    secret, record = new_key("feeds-bot", source="Example", rate=5, burst=10)
    other, _ = new_key("feeds-bot")
    assert secret != other and looks_like_key(secret) and not looks_like_key("Bearer nonsense")
    assert secret.startswith(f"nwk_{record.id}_") and len(digest(secret)) == 64
    assert secret not in record.to_json()
    assert ApiKey.from_json(record.to_json()) == record
    for bad in ("", "has space", "x" * 65):
        with pytest.raises(ApiKeyError):
            new_key(bad)
    with pytest.raises(ApiKeyError):
        new_key("ok", rate=-1)


def test_the_checked_in_openapi_document_is_up_to_date() -> None:
    assert (REPO / OPENAPI_FILE).read_text(encoding="utf-8") == render_openapi(), "run `newswire ingest openapi`"
    document = json.loads(render_openapi())
    assert set(document["paths"]) >= {"/v1/articles", "/v1/articles:batch", "/healthz", "/readyz"}
    assert document["components"]["schemas"]["RawArticle"]["additionalProperties"] is False


def test_scrapy_items_map_to_raw_articles() -> None:
    when = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    article = item_to_article(
        {"url": "https://example.com/a", "html": "<p>x</p>", "title": "T", "published_at": when,
         "author": "A. Writer", "tags": ["a", "b"], "metadata": {"feed": "rss"}, "language": None},
        default_source="Example",
    )
    assert article["published_at"] == "2026-11-30T12:00:00+00:00"
    assert article["metadata"] == {"feed": "rss", "author": "A. Writer", "tags": ["a", "b"]}
    assert article["source"] == "Example" and "language" not in article and article["fetched_at"]
    assert item_to_article({"text": "t", "source": "Own"}, default_source="Example")["source"] == "Own"


def test_the_scrapy_pipeline_says_what_is_missing_or_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from scrapy.exceptions import NotConfigured
    from scrapy.settings import Settings as ScrapySettings

    from newswire.scrapy import NewswirePipeline

    for name in ("NEWSWIRE_REDIS_URL", "NEWSWIRE_INGEST_URL", "NEWSWIRE_INGEST_KEY"):
        monkeypatch.delenv(name, raising=False)

    def make(**settings: str) -> NewswirePipeline:
        return NewswirePipeline(SimpleNamespace(settings=ScrapySettings(settings), stats=None))

    with pytest.raises(NotConfigured, match="NEWSWIRE_INGEST_URL and NEWSWIRE_INGEST_KEY, or NEWSWIRE_REDIS_URL"):
        make()
    with pytest.raises(NotConfigured, match="NEWSWIRE_INGEST_KEY is not"):
        make(NEWSWIRE_INGEST_URL="http://127.0.0.1:8700")
    with pytest.raises(ValueError, match=r"^NEWSWIRE_PARTITIONS is invalid"):
        make(NEWSWIRE_REDIS_URL="redis://127.0.0.1:6379/0", NEWSWIRE_PARTITIONS="zero")


async def test_the_backlog_estimate_counts_unseen_writes_and_learns_the_drain_rate() -> None:
    from newswire.ingest.backlog import BacklogEstimate
    from newswire.runtime.pressure import Headroom

    now = [0.0]
    readings = iter([Headroom(True, raw_backlog=1000), Headroom(True, raw_backlog=700)])
    current: list[Headroom] = []

    async def read() -> Headroom:
        if not current or (now[0] >= 1.0 and len(current) == 1):
            current.append(next(readings))
        return current[-1]

    estimate = BacklogEstimate(read, clock=lambda: now[0])
    assert (await estimate.headroom())[1] == 1000
    assert estimate.retry_after_s(500) == 5.0  # no drain rate known yet: the producers' usual wait
    estimate.reserve(200)
    assert (await estimate.headroom())[1] == 1200  # in flight counts
    now[0] = 0.5
    estimate.release(200, written=True)
    assert (await estimate.headroom())[1] == 1200  # written after the reading: still unseen
    estimate.reserve(50)
    estimate.release(50, written=False)  # refused or replayed: nothing added
    now[0] = 1.0
    assert (await estimate.headroom())[1] == 700  # the new reading includes the write
    assert estimate.drain_per_s == 500.0  # 1000 + 200 written - 700 left, in one second
    assert estimate.retry_after_s(1000) == 2.0
    assert estimate.retry_after_s(100) == 1.0 and estimate.retry_after_s(100_000) == 5.0
