"""`newswire sink postgres` against a real PostgreSQL: migrations, idempotent batches, SIGKILL and restart."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from newswire.subscribers.filters import EventFilter
from newswire.subscribers.postgres import PostgresSink, PostgresWriter, SchemaTooNew, article_row, connect, migrate
from newswire.subscribers.postgres_migrations import MIGRATIONS, Migration
from newswire.subscribers.reader import PublishedEntry, PublishedReader
from newswire.subscribers.search import search_text
from newswire.subscribers.sink_support import SinkDeadLetters
from tests.subscriber_support import (
    NoPostgres,
    add_events,
    group_caught_up,
    postgres_admin_dsn,
    published_fields,
    scratch_database,
)
from tests.support import REPO, eventually

NEWSWIRE = [sys.executable, "-m", "newswire.cli"]


@pytest.fixture(scope="module")
def admin_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with postgres_admin_dsn(tmp_path_factory.mktemp("postgres")) as dsn:
            yield dsn
    except NoPostgres as exc:
        pytest.skip(str(exc))


@pytest.fixture
def dsn(admin_dsn: str) -> Iterator[str]:
    with scratch_database(admin_dsn) as database:
        yield database


def rows(dsn: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return list(conn.execute(query, params).fetchall())  # type: ignore[arg-type]


def entries(stream: str, events: list[dict[str, str]]) -> list[PublishedEntry]:
    return [
        PublishedEntry(stream, f"{n + 1}-0", {k.encode(): v.encode() for k, v in fields.items()})
        for n, fields in enumerate(events)
    ]


def test_migrations_are_versioned_idempotent_and_refuse_a_newer_database(dsn: str) -> None:
    with connect(dsn) as conn:
        assert migrate(conn, "newswire") == [1]
        assert migrate(conn, "newswire") == []
        later = Migration(2, "a later change", "CREATE TABLE later (x int);")
        assert migrate(conn, "newswire", (*MIGRATIONS, later)) == [2]
        with pytest.raises(SchemaTooNew, match="migration 2"):
            migrate(conn, "newswire")
    assert rows(dsn, "SELECT version FROM newswire.schema_migrations ORDER BY version") == [(1,), (2,)]


def test_a_batch_written_twice_is_still_one_row_per_event(dsn: str) -> None:
    events = [published_fields(n, entities=(("Q7747", "Vladimir Putin"),)) for n in range(5)]
    with connect(dsn) as conn:
        migrate(conn, "newswire")
        writer = PostgresWriter(conn, "newswire")
        batch = [article_row(entry) for entry in entries("s", events)]
        writer.write(batch)
        # A sink that committed but died before acknowledging gets the same batch again.
        writer.write(batch)
    assert rows(dsn, "SELECT count(*), count(DISTINCT event_id) FROM newswire.articles") == [(5, 5)]
    assert rows(dsn, "SELECT count(*) FROM newswire.article_entities") == [(5,)]
    assert rows(dsn, "SELECT count(*) FROM newswire.article_topics") == [(5,)]


def test_queries_by_entity_topic_language_and_full_text(dsn: str) -> None:
    events = [
        published_fields(1, language="ar", domain="alaraby.co.uk", topics=(("medtop:11000000", None),),
                         entities=(("Q7747", "Vladimir Putin"), ("Q148", "China"))),
        published_fields(1, revision=2, language="ar", domain="alaraby.co.uk",
                         topics=(("medtop:20000638", "medtop:11000000"),), entities=(("Q7747", "Vladimir Putin"),)),
        published_fields(2, language="en", domain="bbc.co.uk", topics=(("medtop:04000000", None),)),
    ]
    with connect(dsn) as conn:
        migrate(conn, "newswire")
        PostgresWriter(conn, "newswire").write([article_row(entry) for entry in entries("s", events)])
    latest = "SELECT event_id FROM newswire.latest_articles"
    assert rows(dsn, latest + " ORDER BY event_id") == [("art-1/r2",), ("art-2/r1",)]
    by_entity = (
        f"{latest} a WHERE EXISTS (SELECT 1 FROM newswire.article_entities e "
        "WHERE e.event_id = a.event_id AND e.entity_id = %s)"
    )
    assert rows(dsn, by_entity, "Q7747") == [("art-1/r2",)]
    by_topic = (
        f"{latest} a WHERE EXISTS (SELECT 1 FROM newswire.article_topics t "
        "WHERE t.event_id = a.event_id AND (t.qcode = %s OR t.parent = %s))"
    )
    assert rows(dsn, by_topic, "medtop:11000000", "medtop:11000000") == [("art-1/r2",)]
    assert rows(dsn, f"{latest} WHERE language = %s", "en") == [("art-2/r1",)]
    search = f"{latest} WHERE search @@ newswire.search_query(%s) ORDER BY event_id"
    # Arabic: hamza and short vowels folded, the article and a leading conjunction stripped.
    assert rows(dsn, search, "الصين") == [("art-1/r2",)]
    assert rows(dsn, search, "والصّين") == [("art-1/r2",)]
    assert rows(dsn, search, "اتفاقا") == [("art-1/r2",)]
    assert rows(dsn, search, "Inflation") == [("art-2/r1",)]
    assert rows(dsn, search, "interest -rates") == []
    # The README's example queries run as written and find what they say.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    [block] = re.findall(r"```sql\n(.*?)```", readme, flags=re.DOTALL)
    by_entity_and_topic, full_text = [q for q in block.split(";") if q.strip()]
    assert [row[0] for row in rows(dsn, by_entity_and_topic)] == ["عنوان 1"]
    assert [row[0] for row in rows(dsn, full_text)] == ["عنوان 1"]
    event = rows(dsn, "SELECT event->'data'->>'headline', event->>'type' FROM newswire.articles "
                      "WHERE event_id = 'art-2/r1'")
    assert event == [("Headline 2", "org.newswire.article.published")]


def test_filters_and_bad_events(dsn: str, redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    stream = "{" + prefix + "}:published"
    good = [published_fields(n, language="ar" if n % 2 else "en") for n in range(6)]
    # Refused by PostgreSQL only (an integer column overflows): it must not take its batch down with it.
    too_long = published_fields(7, language="ar")
    too_long["data"] = too_long["data"].replace('"word_count":', '"word_count":3000000000,"_":', 1)
    untimed = {**published_fields(9, language="ar"), "time": "yesterday"}
    add_events(client, stream, [*good[:3], {"id": "broken/r1", "data": "{not json"}, too_long, *good[3:], untimed])
    reader = PublishedReader(client, [stream], "sink-postgres", "c1", batch_size=4, block_ms=50,
                             claim_idle_ms=1000, reclaim_interval_s=1.0)
    dead_letters = SinkDeadLetters(client, "{" + prefix + "}:sink-dlq:sink-postgres", "postgres")
    sink = PostgresSink(reader, dsn, "newswire", EventFilter(language="ar"), dead_letters)
    sink.prepare()
    stop = threading.Event()
    batches = reader.batches(stop)
    for _ in range(3):
        sink.handle(next(batches), stop)
    sink.close()
    assert rows(dsn, "SELECT event_id FROM newswire.articles ORDER BY event_id") == [
        ("art-1/r1",), ("art-3/r1",), ("art-5/r1",)
    ]
    dead = {f[b"id"]: f for _, f in client.xrange("{" + prefix + "}:sink-dlq:sink-postgres")}
    assert set(dead) == {b"broken/r1", b"art-7/r1", b"art-9/r1"}
    assert all(f[b"error_type"] == b"bad_event" for f in dead.values())
    assert b"not a v1 published article" in dead[b"broken/r1"][b"error"]
    assert dead[b"art-7/r1"][b"error"].startswith(b"PostgreSQL refused the event: integer out of range")
    assert b"not an RFC 3339 time" in dead[b"art-9/r1"][b"error"]
    assert client.xpending(stream, "sink-postgres")["pending"] == 0


def sink_process(redis_url: str, prefix: str, dsn: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NEWSWIRE_REDIS_URL": redis_url,
        "NEWSWIRE_PREFIX": prefix,
        "NEWSWIRE_POSTGRES_DSN": dsn,
        "NEWSWIRE_BATCH_SIZE": "50",
        "NEWSWIRE_BLOCK_MS": "100",
        "NEWSWIRE_CLAIM_IDLE_MS": "1000",
        "NEWSWIRE_RECLAIM_INTERVAL_MS": "200",
        "NEWSWIRE_LOG_FORMAT": "json",
    }
    with log.open("ab") as output:
        return subprocess.Popen([*NEWSWIRE, "sink", "postgres"], env=env, stdout=output, stderr=output, cwd=REPO)


@pytest.mark.slow
@pytest.mark.e2e
def test_a_sink_killed_mid_batch_and_restarted_stores_every_event_exactly_once(
    dsn: str, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(redis_url)
    stream = "{" + prefix + "}:published"
    total = 3000
    add_events(client, stream, [published_fields(n, entities=(("Q7747", "Vladimir Putin"),)) for n in range(total)])
    log = tmp_path / "sink.log"

    def stored() -> int:
        try:
            return int(rows(dsn, "SELECT count(*) FROM newswire.articles")[0][0])  # type: ignore[call-overload]
        except psycopg.errors.UndefinedTable:
            return 0

    kills, unacknowledged = 0, []
    for threshold in (300, 1200):
        process = sink_process(redis_url, prefix, dsn, log)
        try:
            eventually(lambda threshold=threshold: stored() >= threshold, 60, f"{threshold} rows stored")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            kills += 1
        # What the killed sink had read but not acknowledged (its batch in flight, committed or not).
        unacknowledged.append(client.xpending(stream, "sink-postgres")["pending"])
    assert any(unacknowledged), "neither kill caught a batch in flight"
    # Killed twice while writing: some batches were committed but not acknowledged (or neither).
    assert stored() < total
    process = sink_process(redis_url, prefix, dsn, log)
    try:
        eventually(lambda: client.xpending(stream, "sink-postgres")["pending"] == 0 and stored() == total, 60,
                   "every event stored and acknowledged")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, log.read_text()
    assert rows(dsn, "SELECT count(*), count(DISTINCT event_id), count(DISTINCT article_id) FROM newswire.articles") \
        == [(total, total, total)]
    assert rows(dsn, "SELECT count(*) FROM newswire.article_entities") == [(total,)]
    assert [g["name"] for g in client.xinfo_groups(stream)] == [b"sink-postgres"]
    assert group_caught_up(client, stream, "sink-postgres")
    assert kills == 2


def test_documents_are_folded_in_python_exactly_as_queries_are_in_sql(dsn: str) -> None:
    """The sink folds documents with search_text() in Python; queries use the SQL function: they must agree."""
    alphabet = [chr(c) for c in range(0x0621, 0x0653)] + [chr(0x0670), chr(0x0671), " ", "،", "-", "A", "b", "1"]
    generator = random.Random(16)
    texts = ["والصِّين", "بالأمم المتحدة", "للاتحاد", "كالأسد", "فالإمارات", "ال", "الى", "Putin met Xi"]
    texts += ["".join(generator.choice(alphabet) for _ in range(generator.randint(1, 40))) for _ in range(400)]
    with connect(dsn) as conn:
        migrate(conn, "newswire")
        for text in texts:
            python, sql = conn.execute(
                "SELECT to_tsvector('simple', %s), to_tsvector('simple', newswire.search_text(%s))",
                (search_text(text), text),
            ).fetchone() or (None, None)
            assert python == sql, text
