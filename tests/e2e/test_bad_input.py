"""Malformed entries mixed with good ones through a real worker process (property-based).

Whatever arrives, every entry ends up exactly once either published or dead-lettered by the
cleaner, every well-formed article is published, and the worker stays alive.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.test_processes import Workers
from tests.support import eventually, pipeline_settled, unique_prefix, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAX_BYTES = 64 * 1024
_serial = itertools.count()


@dataclass
class Pipeline:
    client: redis.Redis
    tag: str
    process_alive: object


@pytest.fixture(scope="module")
def pipeline(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    prefix = unique_prefix()
    workers = Workers(tmp_path_factory.mktemp("bad-input"))
    process = workers.start(worker_env(redis_url, prefix, NEWSWIRE_MAX_ARTICLE_BYTES=str(MAX_BYTES)), "run", "all")
    client = redis.Redis.from_url(redis_url)
    yield Pipeline(client, "{" + prefix + "}", lambda: process.poll() is None)
    workers.stop_all()
    for key in client.scan_iter(match="{" + prefix + "}:*"):
        client.delete(key)
    client.close()


def good_article() -> st.SearchStrategy[dict[str, bytes]]:
    sentences = st.sampled_from(
        [
            "The central bank raised interest rates by half a point on Tuesday.",
            "Le gouvernement a présenté jeudi son projet de budget pour l'année prochaine.",
            "قال وزير الخارجية إن المحادثات ستستأنف الأسبوع المقبل في جنيف.",
            "Die Regierung kündigte am Montag neue Hilfen für Landwirte an.",
        ]
    )
    return st.builds(
        lambda title, paragraphs: {
            "data": json.dumps(
                {"id": f"good-{next(_serial)}", "title": title, "text": "\n\n".join(paragraphs)}, ensure_ascii=False
            ).encode()
        },
        st.text(st.characters(categories=["L"]), min_size=3, max_size=40),
        st.lists(sentences, min_size=1, max_size=4),
    )


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=5), inner, max_size=3), max_leaves=10)


def malformed() -> st.SearchStrategy[dict[str, bytes]]:
    deep = 400
    return st.one_of(
        st.binary(max_size=200).map(lambda b: {"data": b}),  # not JSON, often not UTF-8 either
        json_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: {"data": json.dumps(v).encode()}),
        st.dictionaries(st.sampled_from(["title", "url", "source", "metadata"]), st.text(max_size=10)).map(
            lambda d: {"data": json.dumps(d).encode()}  # neither text nor html
        ),
        st.sampled_from([12, 1.5, True, ["a"], {"b": 1}]).map(lambda v: {"data": json.dumps({"text": v}).encode()}),
        st.text(min_size=1, max_size=8).map(lambda k: {"data": json.dumps({"text": "x", f"x{k}": 1}).encode()}),
        st.dictionaries(st.sampled_from([b"url", b"body", b"payload"]), st.binary(max_size=20), min_size=1),
        st.just({"data": json.dumps({"text": "x", "metadata": json.loads("[" * deep + "]" * deep)}).encode()}),
        st.just({"data": json.dumps({"text": "a" * (MAX_BYTES + 1)}).encode()}),
        st.just({"data": json.dumps({"text": "Close\n\nشارك القصة\n\nShare"}, ensure_ascii=False).encode()}),
        st.just({"data": json.dumps({"html": "<div>" * 20_000 + "deep" + "</div>" * 20_000}).encode()}),
        st.just({"data": json.dumps({"html": '<p title="' + "x" * 60_000 + '">giant attribute</p>'}).encode()}),
        st.just({"data": json.dumps({"html": "<p>" + "long line " * 6_000 + "</p>"}).encode()}),
    )


def wait_accounted(pipeline: Pipeline, timeout_s: float = 60) -> None:
    """Until every stage has read and acknowledged everything upstream of it."""
    eventually(lambda: pipeline_settled(pipeline.client, pipeline.tag), timeout_s, "every entry accounted for")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(entries=st.lists(st.one_of(good_article(), malformed()), min_size=1, max_size=12))
def test_each_entry_is_published_or_dead_lettered_exactly_once(
    pipeline: Pipeline, entries: list[dict[str, bytes]], tmp_path: Path
) -> None:
    tag = pipeline.tag
    published_before = pipeline.client.xlen(f"{tag}:published")
    dead_before = pipeline.client.xlen(f"{tag}:dlq")
    raw_ids = [pipeline.client.xadd(f"{tag}:raw", entry) for entry in entries]  # type: ignore[arg-type]
    wait_accounted(pipeline)
    assert pipeline.process_alive(), "the worker died"  # type: ignore[operator]

    published = pipeline.client.xrange(f"{tag}:published")[published_before:]
    dead = pipeline.client.xrange(f"{tag}:dlq")[dead_before:]
    assert len(published) + len(dead) == len(entries)
    assert {fields[b"stage"] for _, fields in dead} <= {b"cleaner"}, "a later stage refused a cleaned article"
    dead_sources = sorted(fields[b"source_id"] for _, fields in dead)
    assert len(dead_sources) == len(set(dead_sources))
    assert set(dead_sources) <= set(raw_ids)
    published_ids = [json.loads(fields[b"data"]).get("article_id") for _, fields in published]
    payloads = [entry.get("data") for entry in entries]  # type: ignore[call-overload]
    good_ids = [json.loads(p)["id"] for p in payloads if isinstance(p, bytes) and p.startswith(b'{"id": "good-')]
    assert sorted(i for i in published_ids if i and i.startswith("good-")) == sorted(good_ids)
    for _, fields in dead:
        assert fields[b"error"], "a dead letter without a reason"
        assert fields[b"error_type"] != b"max_deliveries", fields[b"error"]
