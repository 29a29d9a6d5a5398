"""Support for the subscriber tests: a PostgreSQL database of their own, and published events to read.

The tests use the PostgreSQL at 127.0.0.1:5432 (trust auth; `NEWSWIRE_TEST_POSTGRES_ADMIN_DSN` names
another) and create and drop a database of their own. When none answers, they start a private server with
the machine's `initdb`/`pg_ctl` in a temporary folder, as they do for Redis; without those they skip
and say why.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import redis

from newswire.schemas import PublishedArticle
from newswire.schemas.events import EVENT_TYPE, dataschema_uri
from newswire.schemas.published import published_json
from tests.support import free_port, stream_id

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


class NoPostgres(Exception):
    """Neither a running PostgreSQL nor the binaries to start one."""


def _reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@contextlib.contextmanager
def postgres_admin_dsn(workdir: Path) -> Iterator[str]:
    """A DSN of a PostgreSQL superuser database: the configured or local server, else a private one."""
    dsn = os.environ.get("NEWSWIRE_TEST_POSTGRES_ADMIN_DSN", DEFAULT_ADMIN_DSN)
    if _reachable(dsn):
        yield dsn
        return
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not (initdb and pg_ctl):
        raise NoPostgres(f"no PostgreSQL at {dsn} and no initdb/pg_ctl to start one")
    data, port = workdir / "pgdata", free_port()
    subprocess.run([initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True)
    subprocess.run([pg_ctl, "-D", str(data), "-w", "-l", str(workdir / "pg.log"), "-o",
                    f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)


@contextlib.contextmanager
def scratch_database(admin_dsn: str) -> Iterator[str]:
    """A new empty database, dropped afterwards; yields its DSN."""
    name = f"newswire_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


ARABIC = (
    "قال الرئيس الروسي فلاديمير بوتين إن العلاقات مع الصين قوية، وإن البلدين وقّعا اتفاقًا جديدًا للغاز.",
    "وأضاف أن والصين تدعم الحوار، فيما أكدت وزارة الخارجية أهمية التعاون الاقتصادي بين البلدين.",
)
ENGLISH = (
    "The central bank raised interest rates by half a point on Tuesday, citing persistent inflation.",
    "Markets fell after the announcement while analysts said further increases were likely this year.",
)


def published_fields(
    n: int,
    *,
    revision: int = 1,
    language: str = "en",
    domain: str = "example.com",
    topics: tuple[tuple[str, str | None], ...] = (("medtop:04000000", None),),
    entities: tuple[tuple[str, str], ...] = (),
) -> dict[str, str]:
    """The fields of a published entry as the publisher writes them (v1 article in `data`)."""
    paragraphs = ARABIC if language == "ar" else ENGLISH
    body = f"{paragraphs[0]}\n\n{paragraphs[1]} ({n}, r{revision})"
    received = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=n)
    article = PublishedArticle.model_validate(
        {
            "revision": revision,
            "article_id": f"art-{n}",
            "url": f"https://{domain}/news/{n}",
            "headline": f"{'عنوان' if language == 'ar' else 'Headline'} {n}",
            "body": body,
            "language": language,
            "language_confidence": 0.99,
            "published_at": received - timedelta(hours=1),
            "received_at": received,
            "source": {"name": domain.split(".")[0].title(), "domain": domain},
            "word_count": len(body.split()),
            "topics": [
                {"qcode": qcode, "label": "topic", "level": 1 if parent is None else 2, "parent": parent,
                 "score": 0.9}
                for qcode, parent in topics
            ],
            "entities": [
                {"id": entity_id, "type": "PERSON", "name": name, "salience": 1.0,
                 "mentions": [{"text": name, "start": 0, "end": len(name)}]}
                for entity_id, name in entities
            ],
        }
    )
    event_id = f"{article.article_id}/r{revision}"
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": article.url or "newswire",
        "type": EVENT_TYPE,
        "time": (received + timedelta(milliseconds=20)).isoformat(),
        "subject": article.article_id,
        "datacontenttype": "application/json",
        "dataschema": dataschema_uri("urn:newswire:schemas"),
        "data": published_json(article),
    }


def add_events(client: redis.Redis, stream: str, events: list[dict[str, str]]) -> None:
    pipe = client.pipeline(transaction=False)
    for fields in events:
        pipe.xadd(stream, fields)  # type: ignore[arg-type]
    pipe.execute()


def event_json(fields: dict[str, str]) -> dict[str, object]:
    return {**fields, "data": json.loads(fields["data"])}


def group_caught_up(client: redis.Redis, stream: str, group: str) -> bool:
    """The group was delivered the stream's last entry and holds nothing pending (Redis 6.2 has no `lag`)."""
    last = client.xrevrange(stream, count=1)
    groups = {g["name"]: g for g in client.xinfo_groups(stream)}
    state = groups.get(group.encode())
    if state is None or state["pending"]:
        return False
    return not last or stream_id(state["last-delivered-id"]) >= stream_id(last[0][0])
