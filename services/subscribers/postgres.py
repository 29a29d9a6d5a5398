"""`newswire sink postgres`: every published event as one row, written exactly once in effect.

The sink reads the published stream with its own consumer group, writes a batch in one transaction
(`INSERT ... ON CONFLICT (event_id) DO NOTHING`) and acknowledges the batch only after the commit.
A sink killed between the commit and the acknowledgement gets the batch again and the upsert changes
nothing, so every event is exactly one row across crashes. Needs PostgreSQL 14 or later.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import structlog
from psycopg import sql
from pydantic import ValidationError

from newswire.schemas import PublishedArticle
from newswire.subscribers.filters import EventFilter
from newswire.subscribers.postgres_migrations import MIGRATIONS, Migration
from newswire.subscribers.reader import PublishedEntry, PublishedReader
from newswire.subscribers.search import search_text
from newswire.subscribers.sink_metrics import SINK_WRITE_SECONDS
from newswire.subscribers.sink_support import REDIS_TRANSIENT, SinkDeadLetters, SinkStats, retry_transient

log = structlog.get_logger("newswire.sink.postgres")

# pg_advisory_xact_lock key: two sinks starting at once migrate one after the other.
_MIGRATION_LOCK = 0x6E657773  # "news"


class SchemaTooNew(Exception):
    """The database was migrated by a newer newswire than this one."""


@dataclass(frozen=True, slots=True)
class ArticleRow:
    """What one event becomes: the `articles` row and its entity and topic rows."""

    article: tuple[Any, ...]
    entities: list[tuple[Any, ...]]
    topics: list[tuple[Any, ...]]
    data: bytes


class BadEvent(ValueError):
    """A published entry the sink cannot store; it is dead-lettered with this reason."""


def connect(dsn: str) -> psycopg.Connection[Any]:
    """A connection for the sink; transactions are explicit."""
    return psycopg.connect(dsn, autocommit=True, application_name="newswire-sink-postgres")


def migrate(conn: psycopg.Connection[Any], schema: str, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Create the schema and apply the migrations it lacks, in order; return the versions applied now."""
    applied_now = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        latest = max(migration.version for migration in migrations)
        if applied and max(applied) > latest:
            raise SchemaTooNew(
                f"schema {schema!r} is at migration {max(applied)}, newer than this newswire knows ({latest}); "
                "upgrade newswire"
            )
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in applied:
                continue
            conn.execute(migration.sql.encode())
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                         (migration.version, migration.name))
            applied_now.append(migration.version)
    return applied_now


def article_row(entry: PublishedEntry) -> ArticleRow:
    """The rows of one published entry; BadEvent when it is not a v1 event."""
    raw = entry.fields.get(b"data")
    event_id = entry.event_id
    if raw is None or not event_id:
        raise BadEvent("the entry has no `id` or no `data` field")
    if b"\x00" in raw or b"\\u0000" in raw:
        raise BadEvent("`data` contains a NUL character, which PostgreSQL text cannot hold")
    try:
        article = PublishedArticle.model_validate_json(raw)
    except ValidationError as exc:
        raise BadEvent(f"`data` is not a v1 published article: {_first_error(exc)}") from None
    attributes = {name.decode(): value.decode() for name, value in entry.fields.items() if name != b"data"}
    event_time = attributes.get("time")
    try:
        datetime.fromisoformat(event_time or "")
    except ValueError:
        raise BadEvent(f"the entry's `time` is not an RFC 3339 time: {event_time!r}") from None
    # The whole event as stored: its attributes and `data` exactly as published (not re-serialised).
    event = json.dumps(attributes, ensure_ascii=False)[:-1] + ', "data": ' + raw.decode() + "}"
    row = (
        event_id,
        article.article_id,
        article.revision,
        event_time,
        article.published_at,
        article.modified_at,
        article.received_at,
        article.source.name,
        article.source.domain,
        article.url,
        article.language,
        article.headline,
        article.body,
        article.word_count,
        article.duplicate_of.article_id if article.duplicate_of else None,
        event,
        search_text(article.headline or ""),
        search_text(article.body),
    )
    entities = {
        entity.id: (event_id, entity.id, entity.type.value, entity.name, entity.name_local, entity.salience,
                    len(entity.mentions))
        for entity in article.entities
    }
    topics = {
        topic.qcode: (event_id, topic.qcode, topic.label, topic.level, topic.parent, topic.score)
        for topic in article.topics
    }
    return ArticleRow(row, list(entities.values()), list(topics.values()), raw)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


class PostgresWriter:
    """Writes batches of rows in one transaction each; a redelivered event changes nothing."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str) -> None:
        self.conn = conn
        name = sql.Identifier(schema)
        self._articles = sql.SQL(
            "INSERT INTO {}.articles (event_id, article_id, revision, event_time, published_at, modified_at, "
            "received_at, source_name, source_domain, url, language, headline, body, word_count, duplicate_of, "
            "event, search) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, "
            "setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'B')) "
            "ON CONFLICT (event_id) DO NOTHING"
        ).format(name)
        self._entities = sql.SQL(
            "INSERT INTO {}.article_entities (event_id, entity_id, type, name, name_local, salience, mentions) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
        ).format(name)
        self._topics = sql.SQL(
            "INSERT INTO {}.article_topics (event_id, qcode, label, level, parent, score) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
        ).format(name)

    def write(self, rows: list[ArticleRow]) -> None:
        if not rows:
            return
        with self.conn.transaction(), self.conn.cursor() as cursor:
            cursor.executemany(self._articles, [row.article for row in rows])
            entities = [entity for row in rows for entity in row.entities]
            if entities:
                cursor.executemany(self._entities, entities)
            topics = [topic for row in rows for topic in row.topics]
            if topics:
                cursor.executemany(self._topics, topics)


class PostgresSink:
    """Published stream -> PostgreSQL, batch by batch, acknowledging after each commit."""

    def __init__(
        self,
        reader: PublishedReader,
        dsn: str,
        schema: str,
        event_filter: EventFilter,
        dead_letters: SinkDeadLetters,
        stats: SinkStats | None = None,
    ) -> None:
        self.reader = reader
        self.dsn = dsn
        self.schema = schema
        self.event_filter = event_filter
        self.dead_letters = dead_letters
        self.stats = stats or SinkStats("postgres")
        self._conn: psycopg.Connection[Any] | None = None

    def prepare(self) -> list[int]:
        """Connect, migrate the schema, create the consumer group; return the migrations applied."""
        applied = migrate(self._connection(), self.schema)
        self.reader.ensure_group()
        return applied

    def run(self, stop: threading.Event) -> None:
        for batch in self.reader.batches(stop):
            self.handle(batch, stop)

    def handle(self, batch: list[PublishedEntry], stop: threading.Event) -> None:
        """Write a batch in one transaction, dead-letter what cannot be stored, then acknowledge the batch."""
        rows: list[tuple[PublishedEntry, ArticleRow]] = []
        bad: list[tuple[PublishedEntry, str]] = []
        for entry in batch:
            try:
                row = article_row(entry)
            except BadEvent as exc:
                bad.append((entry, str(exc)))
                continue
            if self.event_filter.empty or self.event_filter.accepts(json.loads(row.data)):
                rows.append((entry, row))
        started = time.monotonic()
        try:
            self._write_retrying([row for _, row in rows], stop)
        except (psycopg.errors.DataError, psycopg.errors.IntegrityError):
            # One event PostgreSQL refuses must not block the others: write them one by one.
            refused = self._write_one_by_one(rows, stop)
            bad += refused
            refused_ids = {entry.entry_id for entry, _ in refused}
            rows = [(entry, row) for entry, row in rows if entry.entry_id not in refused_ids]
        SINK_WRITE_SECONDS.labels(self.stats.sink).observe(time.monotonic() - started)
        for entry, reason in bad:
            self._dead_letter(entry, reason, stop)
        retry_transient(lambda: self.reader.acknowledge(batch), stop, what="redis_acknowledge",
                        errors=REDIS_TRANSIENT, stats=self.stats)
        self.stats.count(written=len(rows), skipped=len(batch) - len(rows) - len(bad), dead_lettered=len(bad))

    def _dead_letter(self, entry: PublishedEntry, reason: str, stop: threading.Event) -> None:
        retry_transient(lambda: self.dead_letters.add(entry, error_type="bad_event", error=reason, attempts=1),
                        stop, what="redis_dead_letter", errors=REDIS_TRANSIENT, stats=self.stats)

    def _write_retrying(self, rows: list[ArticleRow], stop: threading.Event) -> None:
        retry_transient(lambda: self._write(rows), stop, what="postgres_write", errors=(psycopg.OperationalError,),
                        on_error=self._reset, stats=self.stats)

    def _write_one_by_one(
        self, rows: list[tuple[PublishedEntry, ArticleRow]], stop: threading.Event
    ) -> list[tuple[PublishedEntry, str]]:
        refused = []
        for entry, row in rows:
            try:
                self._write_retrying([row], stop)
            except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
                refused.append((entry, f"PostgreSQL refused the event: {str(exc).strip().splitlines()[0]}"))
        return refused

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write(self, rows: list[ArticleRow]) -> None:
        PostgresWriter(self._connection(), self.schema).write(rows)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.dsn)
        return self._conn

    def _reset(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
