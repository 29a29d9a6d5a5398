"""The HTTP ingest API over real HTTP (uvicorn on 127.0.0.1) against a real Redis."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from newswire.cleaner.intake import read_raw_entry
from newswire.client import routing_identity
from newswire.errors import ArticleRefused
from newswire.ingest.keys import revoke_key
from newswire.runtime.connection import sync_client
from tests.conftest import make_settings
from tests.ingest_support import ThreadedIngest, make_key
from tests.support import RedisServer

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
ARTICLE = {"url": "https://example.com/news/1?utm_source=x", "title": "Rain", "text": "Rain is expected tomorrow."}


@pytest.fixture
def ingest(redis_url: str, prefix: str) -> Iterator[ThreadedIngest]:
    settings = make_settings(redis_url, prefix, ingest_port=0, http_host="127.0.0.1")
    with ThreadedIngest(settings, redis_url) as server:
        yield server


def raw_entries(sync_redis: redis.Redis, prefix: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    return list(sync_redis.xrange(f"{{{prefix}}}:raw"))


def test_one_article_is_added_with_the_scraper_name_and_trace_context(
    ingest: ThreadedIngest, redis_url: str, sync_redis: redis.Redis, prefix: str
) -> None:
    key = make_key(redis_url, ingest.settings, "feeds-bot")
    with ingest.client(key, traceparent=TRACEPARENT) as http:
        response = http.post("/v1/articles", json=ARTICLE)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["identity"] == "url:https://example.com/news/1"
    assert answer["stream"] == f"{{{prefix}}}:raw" and answer["replayed"] is False
    [(entry_id, fields)] = raw_entries(sync_redis, prefix)
    assert entry_id.decode() == answer["id"]
    assert fields[b"scraper"] == b"feeds-bot"
    assert fields[b"traceparent"].decode() == TRACEPARENT
    assert json.loads(fields[b"data"]) == ARTICLE
    # The cleaner reads it like any other raw entry.
    assert read_raw_entry(fields, max_bytes=ingest.settings.max_article_bytes).traceparent == TRACEPARENT


def test_a_batch_as_json_array_ndjson_and_gzip(
    ingest: ThreadedIngest, redis_url: str, sync_redis: redis.Redis, prefix: str
) -> None:
    key = make_key(redis_url, ingest.settings)
    articles = [{"title": f"Story {n}", "text": f"Body of story {n}."} for n in range(5)]
    with ingest.client(key) as http:
        as_array = http.post("/v1/articles:batch", json=articles)
        ndjson = "\n".join(json.dumps(article) for article in articles).encode()
        as_ndjson = http.post("/v1/articles:batch", content=gzip.compress(ndjson),
                              headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
    for response in (as_array, as_ndjson):
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 5
    ids = [article["id"] for response in (as_array, as_ndjson) for article in response.json()["articles"]]
    stored = raw_entries(sync_redis, prefix)
    assert [entry_id.decode() for entry_id, _ in stored] == ids
    assert [json.loads(fields[b"data"])["title"] for _, fields in stored] == [a["title"] for a in articles] * 2


@pytest.mark.parametrize(
    ("document", "field", "error_type"),
    [
        ({"text": "Body", "titel": "Typo"}, "titel", "unknown_field"),
        ({"text": "Body", "title": 7}, "title", "wrong_type"),
        ({"title": "No body"}, None, "missing_content"),
        ([{"text": "an array"}], None, "not_an_object"),
    ],
)
def test_bad_input_is_refused_with_the_cleaners_reason_and_the_field(
    ingest: ThreadedIngest, redis_url: str, sync_redis: redis.Redis, prefix: str,
    document: object, field: str | None, error_type: str,
) -> None:
    key = make_key(redis_url, ingest.settings)
    with ingest.client(key) as http:
        response = http.post("/v1/articles", json=document)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:newswire:problem:invalid-article" and problem["status"] == 400
    [error] = problem["errors"]
    assert error.get("field") == field and error["error_type"] == error_type
    with pytest.raises(ArticleRefused) as refused:
        read_raw_entry({b"data": json.dumps(document).encode()}, max_bytes=ingest.settings.max_article_bytes)
    assert error["detail"] == refused.value.reason
    assert raw_entries(sync_redis, prefix) == []


def test_one_bad_article_refuses_the_whole_batch_naming_it(
    ingest: ThreadedIngest, redis_url: str, sync_redis: redis.Redis, prefix: str
) -> None:
    key = make_key(redis_url, ingest.settings)
    batch = [{"text": "fine"}, {"text": "fine too"}, {"text": "bad", "published_at": 2024}]
    with ingest.client(key) as http:
        response = http.post("/v1/articles:batch", json=batch)
        lines = http.post("/v1/articles:batch", content=b'{"text": "ok"}\n\nnot json\n',
                          headers={"Content-Type": "application/x-ndjson"})
        # Large enough to be validated off the event loop.
        large = [{"text": "x" * 2_000} for _ in range(300)] + [{"text": None, "html": 5}]
        large_response = http.post("/v1/articles:batch", json=large)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["index"], error["field"], error["pointer"]) == (2, "published_at", "#/2/published_at")
    assert lines.status_code == 400
    [error] = lines.json()["errors"]
    assert (error["index"], error["line"], error["error_type"]) == (1, 3, "invalid_json")
    assert large_response.status_code == 400
    assert [(error["index"], error["field"]) for error in large_response.json()["errors"]] == [(300, "html")]
    assert raw_entries(sync_redis, prefix) == []


def test_size_and_media_type_limits(redis_url: str, prefix: str, sync_redis: redis.Redis) -> None:
    settings = make_settings(redis_url, prefix, ingest_port=0, http_host="127.0.0.1", ingest_max_body_bytes=64_000,
                             max_article_bytes=20_000, ingest_max_batch=3)
    with ThreadedIngest(settings, redis_url) as ingest, ingest.client(make_key(redis_url, settings)) as http:
        big_article = http.post("/v1/articles", json={"text": "x" * 30_000})
        big_body = http.post("/v1/articles:batch", json=[{"text": "x" * 19_000}] * 4)
        too_many = http.post("/v1/articles:batch", json=[{"text": "x"}] * 4)
        bomb = http.post("/v1/articles", content=gzip.compress(b'{"text": "' + b"a" * 1_000_000 + b'"}'),
                         headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        form = http.post("/v1/articles", data={"text": "form-encoded"})
        brotli = http.post("/v1/articles", content=b"{}",
                           headers={"Content-Type": "application/json", "Content-Encoding": "br"})
        not_gzip = http.post("/v1/articles", content=b"{}",
                             headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert big_article.status_code == 413 and big_article.json()["errors"][0]["error_type"] == "too_large"
    assert big_body.status_code == 413 and "NEWSWIRE_INGEST_MAX_BODY_BYTES" in big_body.json()["detail"]
    assert too_many.status_code == 413 and "NEWSWIRE_INGEST_MAX_BATCH" in too_many.json()["detail"]
    assert bomb.status_code == 413 and "decompressed" in bomb.json()["detail"]
    assert form.status_code == 415 and "application/json" in form.json()["detail"]
    assert brotli.status_code == 415 and brotli.headers["accept-encoding"] == "gzip"
    assert not_gzip.status_code == 400
    assert raw_entries(sync_redis, prefix) == []


def test_keys_missing_wrong_revoked_and_bound_to_a_source(
    ingest: ThreadedIngest, redis_url: str, sync_redis: redis.Redis, prefix: str
) -> None:
    key = make_key(redis_url, ingest.settings, "wire-bot", source="wire")
    with ingest.client() as anonymous, ingest.client(key) as http:
        missing = anonymous.post("/v1/articles", json=ARTICLE)
        wrong = anonymous.post("/v1/articles", json=ARTICLE, headers={"Authorization": "Bearer " + key[:-2] + "xx"})
        other_source = http.post("/v1/articles", json={**ARTICLE, "source": "rival"})
        no_source = http.post("/v1/articles", json=ARTICLE)
        revoke_key(sync_client(redis_url), ingest.settings.keys, "wire-bot")
        revoked = http.post("/v1/articles", json=ARTICLE)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401 and revoked.status_code == 401
    assert other_source.status_code == 403 and "'wire'" in other_source.json()["detail"]
    assert no_source.status_code == 202
    [(_, fields)] = raw_entries(sync_redis, prefix)
    assert json.loads(fields[b"data"])["source"] == "wire"


def test_a_retried_request_with_an_idempotency_key_adds_nothing_twice(
    ingest: ThreadedIngest, redis_url: str, sync_redis: redis.Redis, prefix: str
) -> None:
    key = make_key(redis_url, ingest.settings)
    batch = [{"text": f"Article {n}"} for n in range(3)]
    with ingest.client(key, **{"Idempotency-Key": "batch-0001"}) as http:
        first = http.post("/v1/articles:batch", json=batch)
        retry = http.post("/v1/articles:batch", json=batch)
        changed = http.post("/v1/articles:batch", json=batch[:2])
    assert first.status_code == retry.status_code == 202
    assert retry.json()["replayed"] is True and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["articles"] == first.json()["articles"]
    assert changed.status_code == 422
    assert len(raw_entries(sync_redis, prefix)) == 3
    # Another key's requests are its own, even with the same Idempotency-Key.
    other = make_key(redis_url, ingest.settings, "other-bot")
    with ingest.client(other, **{"Idempotency-Key": "batch-0001"}) as http:
        assert http.post("/v1/articles:batch", json=batch).json()["replayed"] is False
    assert len(raw_entries(sync_redis, prefix)) == 6


def test_articles_go_to_the_partition_of_their_identity_and_retries_stay_exact(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix, ingest_port=0, http_host="127.0.0.1", partitions=4)
    batch = [{"url": f"https://example.com/story/{n}", "text": f"Story {n}"} for n in range(24)]
    with ThreadedIngest(settings, redis_url) as ingest, ingest.client(make_key(redis_url, settings)) as http:
        first = http.post("/v1/articles:batch", json=batch, headers={"Idempotency-Key": "spread-1"})
        retry = http.post("/v1/articles:batch", json=batch, headers={"Idempotency-Key": "spread-1"})
        # The same key for other articles, even ones routed to partitions the first batch never touched.
        other = [{"url": f"https://example.com/other/{n}", "text": f"Other {n}"} for n in range(24)]
        reused = http.post("/v1/articles:batch", json=other, headers={"Idempotency-Key": "spread-1"})
    assert first.status_code == retry.status_code == 202
    assert reused.status_code == 422
    assert retry.json() == {**first.json(), "replayed": True}
    answers = first.json()["articles"]
    assert len({answer["partition"] for answer in answers}) > 1
    for article, answer in zip(batch, answers, strict=True):
        keys = settings.keys_for(routing_identity(article))
        assert answer["stream"] == keys.raw and answer["identity"] == routing_identity(article)
        [(_id, fields)] = sync_redis.xrange(keys.raw, min=answer["id"], max=answer["id"])
        assert json.loads(fields[b"data"]) == article
    assert sum(sync_redis.xlen(keys.raw) for keys in settings.partition_keys()) == len(batch)


def test_the_rate_limit_is_shared_by_replicas(redis_url: str, prefix: str, sync_redis: redis.Redis) -> None:
    settings = make_settings(redis_url, prefix, ingest_port=0, http_host="127.0.0.1")
    # Slow enough that no token comes back while the test runs (one per 10 s).
    key = make_key(redis_url, settings, rate=0.1, burst=4)
    with (
        ThreadedIngest(settings, redis_url) as one,
        ThreadedIngest(settings, redis_url) as two,
        one.client(key) as first,
        two.client(key) as second,
    ):
        assert first.post("/v1/articles:batch", json=[{"text": "a"}, {"text": "b"}]).status_code == 202
        assert second.post("/v1/articles:batch", json=[{"text": "c"}, {"text": "d"}]).status_code == 202
        limited = second.post("/v1/articles", json={"text": "e"})
        above_burst = first.post("/v1/articles:batch", json=[{"text": "f"}] * 5)
        metrics = first.get("/metrics").text
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 10
    assert limited.json()["type"] == "urn:newswire:problem:rate-limited"
    assert above_burst.status_code == 413
    assert len(raw_entries(sync_redis, prefix)) == 4
    assert 'newswire_ingest_throttled_total{key="test-scraper",reason="rate_limit"}' in metrics


def test_429_above_the_raw_backlog_limit(redis_url: str, prefix: str, sync_redis: redis.Redis) -> None:
    settings = make_settings(redis_url, prefix, ingest_port=0, http_host="127.0.0.1", max_raw_backlog=3)
    with ThreadedIngest(settings, redis_url) as ingest, ingest.client(make_key(redis_url, settings)) as http:
        accepted = http.post("/v1/articles:batch", json=[{"text": str(n)} for n in range(3)])
        refused = [http.post("/v1/articles", json={"text": "one more"}) for _ in range(3)]
    assert accepted.status_code == 202
    assert [response.status_code for response in refused] == [429, 429, 429]
    assert refused[0].headers["retry-after"] == "5"
    assert "NEWSWIRE_MAX_RAW_BACKLOG" in refused[0].json()["detail"]
    assert len(raw_entries(sync_redis, prefix)) == 3


def test_concurrent_requests_do_not_overshoot_the_raw_backlog_limit(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix, ingest_port=0, http_host="127.0.0.1", max_raw_backlog=5)
    with ThreadedIngest(settings, redis_url) as ingest, ingest.client(make_key(redis_url, settings)) as http:

        def post(n: int) -> int:
            return http.post("/v1/articles:batch", json=[{"text": f"{n}a"}, {"text": f"{n}b"}]).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(post, range(8)))
    assert sorted(statuses) == [202, 202] + [429] * 6
    assert len(raw_entries(sync_redis, prefix)) == 4


def test_429_above_the_memory_high_water_mark_and_503_without_redis(private_redis: RedisServer, prefix: str) -> None:
    settings = make_settings(private_redis.url, prefix, ingest_port=0, http_host="127.0.0.1", high_water_percent=50)
    client = redis.Redis.from_url(private_redis.url)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", str(used + used // 2))  # used is two thirds of maxmemory: above 50 %
    key = make_key(private_redis.url, settings)
    with ThreadedIngest(settings, private_redis.url) as ingest, ingest.client(key) as http:
        full = http.post("/v1/articles", json=ARTICLE)
        client.config_set("maxmemory", "0")
        private_redis.stop()
        down = http.post("/v1/articles", json=ARTICLE)
        not_ready = http.get("/readyz")
        alive = http.get("/healthz")
    assert full.status_code == 429 and "NEWSWIRE_HIGH_WATER_PERCENT" in full.json()["detail"]
    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    assert down.json()["type"] == "urn:newswire:problem:redis-unavailable"
    assert not_ready.status_code == 503 and alive.status_code == 200


def test_openapi_document_served_is_the_checked_in_one(ingest: ThreadedIngest) -> None:
    from tests.support import REPO

    with ingest.client() as http:
        served = http.get("/openapi.json").json()
        ready = http.get("/readyz")
    assert ready.status_code == 200
    assert served == json.loads((REPO / "schemas" / "openapi.json").read_text(encoding="utf-8"))
