"""The console app against a real Redis: pages, escaping, filters, the live feed and the protected actions."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import structlog.testing
import uvicorn
from httpx import Client

from newswire.cli import dlq
from newswire.console.access import ConsoleAccess
from newswire.console.app import ConsoleConfig, create_app
from newswire.console.command import bind, redis_label, stream_sets
from newswire.console.pipeline import finished_minutes
from newswire.publisher.publish import draft_event
from newswire.runtime.settings import Settings
from newswire.schemas import EnrichedArticle
from tests.conftest import make_settings
from tests.support import REPO, eventually, free_port, worker_env

TOKEN = "correct horse battery staple"
ARABIC_BODY = (
    "قال الرئيس فلاديمير بوتين في موسكو إن روسيا ستستثمر 5 مليارات دولار.\n\n<script>window.pwned = 1</script>"
)


def enriched(article_id: str, body: str, **fields: Any) -> EnrichedArticle:
    putin = body.find("فلاديمير بوتين")
    moscow = body.find("موسكو")
    amount = body.find("5 مليارات دولار")
    values: dict[str, Any] = {
        "article_id": article_id,
        "title": fields.pop("title", "عنوان <b>الخبر</b>"),
        "body": body,
        "source_name": fields.pop("source_name", "العربي الجديد"),
        "content_hash": f"hash-{article_id}-{len(body)}",
        "word_count": len(body.split()),
        "received_at": datetime.now(UTC),
        "language": "ar",
        "topics": [{"qcode": "medtop:04000000", "label": "economy, business and finance", "level": 1, "score": 0.8,
                    "cues": ["مليارات"]}],
        "entities": [] if putin < 0 else [
            {"id": "Q7747", "wikidata_id": "Q7747", "type": "PERSON", "name": "Vladimir Putin", "salience": 0.9,
             "mentions": [{"text": "فلاديمير بوتين", "start": putin, "end": putin + len("فلاديمير بوتين")}]},
            {"id": "Q649", "wikidata_id": "Q649", "type": "LOC", "name": "Moscow", "salience": 0.5,
             "mentions": [{"text": "موسكو", "start": moscow, "end": moscow + len("موسكو")}]},
        ],
        "amounts": [] if amount < 0 else [
            {"text": "5 مليارات دولار", "kind": "money", "value": 5e9, "unit": "USD", "start": amount,
             "end": amount + len("5 مليارات دولار")},
        ],
    }
    values.update(fields)
    return EnrichedArticle.model_validate(values)


def publish(client: redis.Redis, settings: Settings, article: EnrichedArticle, revision: int = 1) -> str:
    """Add the event the publisher would add (its fields, completed with the revision as its script does)."""
    draft = draft_event(article, now=datetime.now(UTC), default_source="newswire", schema_url="https://x/s.json")
    fields = {
        name: (f"{draft.article_id}/r{revision}" if name == "id" else
               '{"revision":' + str(revision) + "," + value if name == "data" else value)
        for name, value in draft.fields
    }
    return client.xadd(settings.keys.published, fields).decode()  # type: ignore[arg-type,union-attr]


def dead_letter(client: redis.Redis, settings: Settings, data: str, error_type: str = "invalid_json") -> str:
    fields = {
        "data": data, "stage": "cleaner", "error_type": error_type, "error": "The data field is not valid JSON.",
        "attempts": "1", "source_stream": settings.keys.raw, "source_id": "1-0", "failed_at": "2026-11-30T20:00:00Z",
    }
    return client.xadd(settings.keys.dlq, fields).decode()  # type: ignore[arg-type,union-attr]


@contextlib.contextmanager
def console(redis_url: str, settings: Settings, token: str | None) -> Iterator[Client]:
    """The console served by uvicorn on a free port of 127.0.0.1, and an HTTP client (with cookies) for it."""
    config = ConsoleConfig(
        client_factory=lambda: redis.Redis.from_url(redis_url),
        settings=settings,
        keysets=stream_sets(settings),
        access=ConsoleAccess(token),
        redis_label=redis_label(settings),
        sample_interval_s=0.2,
    )
    listener = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_config=None, access_log=False,
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    eventually(lambda: server.started, 20, "the console started")
    try:
        with Client(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=20) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(20)
        listener.close()


@pytest.fixture
def settings(redis_url: str, prefix: str) -> Settings:
    return make_settings(redis_url, prefix)


@pytest.fixture
def operator(redis_url: str, settings: Settings) -> Iterator[Client]:
    """A console with a token, and a browser session signed in to it as `alice`."""
    with console(redis_url, settings, TOKEN) as client:
        csrf = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"name": "alice", "token": TOKEN, "csrf": csrf, "next": "/"},
                               follow_redirects=False)
        assert response.status_code == 303
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def test_the_pipeline_page_and_feed_show_every_stream_and_group(
    redis_url: str, settings: Settings, sync_redis: redis.Redis
) -> None:
    for stream, group in (("raw", "cleaner"), ("cleaned", "enricher"), ("enriched", "publisher")):
        sync_redis.xgroup_create(settings.keys.stream(stream), group, id="0", mkstream=True)
    sync_redis.xadd(settings.keys.raw, {"data": "{}"})
    sync_redis.xreadgroup("cleaner", "worker-1", {settings.keys.raw: ">"}, count=1)
    dead_letter(sync_redis, settings, "not json")
    with console(redis_url, settings, None) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert settings.keys.raw in page.text and "worker-1" in page.text
        payload = client.get("/api/pipeline").json()
    figures = payload["figures"]
    raw = next(s for s in figures["streams"] if s["key"] == settings.keys.raw)
    [cleaner] = raw["groups"]
    assert (raw["length"], cleaner["group"], cleaner["pending"], cleaner["consumers"]) == (1, "cleaner", 1, 1)
    assert cleaner["consumer_list"][0]["name"] == "worker-1"
    assert figures["dlq_size"] == 1
    assert set(payload["history"]["stages"]) == {"cleaner", "enricher", "publisher"}
    assert payload["history"]["times"], "the sampler recorded no throughput"


def test_the_live_feed_sends_a_new_sample_when_counts_change(
    redis_url: str, settings: Settings, sync_redis: redis.Redis
) -> None:
    with console(redis_url, settings, None) as client, client.stream("GET", "/events/pipeline") as feed:
        assert feed.headers["content-type"].startswith("text/event-stream")
        lengths = []
        for line in feed.iter_lines():
            if line.startswith("data: "):
                figures = json.loads(line[len("data: "):])["figures"]
                lengths.append(next(s["length"] for s in figures["streams"] if s["key"] == settings.keys.raw))
                if len(lengths) == 1:
                    sync_redis.xadd(settings.keys.raw, {"data": "{}"})
                elif lengths[-1] == 1:
                    break
    assert lengths[0] == 0 and lengths[-1] == 1


def test_articles_are_listed_filtered_and_shown_escaped_with_highlights(
    redis_url: str, settings: Settings, sync_redis: redis.Redis
) -> None:
    arabic = enriched("ar-1", ARABIC_BODY)
    english = enriched("en-1", "A plain English story about markets.", title="Markets rally", language="en",
                       source_name="Example News", topics=[])
    publish(sync_redis, settings, arabic)
    stream_id = publish(sync_redis, settings, english)
    second = publish(sync_redis, settings, arabic.model_copy(update={"body": ARABIC_BODY + " تحديث"}), revision=2)
    with console(redis_url, settings, None) as client:
        listing = client.get("/articles").text
        assert "Markets rally" in listing and "عنوان &lt;b&gt;الخبر&lt;/b&gt;" in listing
        assert "<b>الخبر</b>" not in listing
        assert 'dir="auto"' in listing
        assert "Markets rally" not in client.get("/articles", params={"language": "ar"}).text
        assert "Markets rally" not in client.get("/articles", params={"entity": "Q7747"}).text
        assert "Markets rally" in client.get("/articles", params={"source": "example"}).text
        by_topic = client.get("/articles", params={"topic": "medtop:04000000"}).text
        assert "Markets rally" not in by_topic and "ar-1" in by_topic

        page = client.get("/articles/ar-1")
        assert page.status_code == 200
        html = page.text
        # The newest revision by default, with both revisions listed.
        assert "ar-1/r2" in html and "ar-1/r1" in html and "تحديث" in html
        assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in html
        assert "<script>window.pwned" not in html
        assert 'href="https://www.wikidata.org/wiki/Q7747"' in html
        assert 'title="Vladimir Putin (PERSON) · Wikidata Q7747"' in html
        assert 'class="hl hl-amount"' in html
        assert re.search(r'<div class="body" dir="auto" lang="ar"', html)
        assert second in html  # the published step of the history
        assert "script-src 'self'" in page.headers["content-security-policy"]

        older = client.get("/articles/en-1", params={"entry": stream_id}).text
        assert "Markets rally" in older
        assert client.get("/articles/nope").status_code == 404


def test_mutating_actions_are_refused_when_read_only(
    redis_url: str, settings: Settings, sync_redis: redis.Redis
) -> None:
    entry_id = dead_letter(sync_redis, settings, "not json")
    with console(redis_url, settings, None) as client:
        page = client.get("/dead-letters").text
        assert entry_id in page and "Read-only" in page and "Replay selected" not in page
        csrf = csrf_of(page)
        response = client.post("/dead-letters/action", data={
            "csrf": csrf, "action": "replay", "entry": f"0:{entry_id}", "confirmed": "yes"})
        assert response.status_code == 403
        response = client.post("/dead-letters/action", data={"csrf": csrf, "action": "purge", "scope": "all",
                                                              "confirmed": "yes"},
                               headers={"authorization": "Bearer anything"})
        assert response.status_code == 403
    assert sync_redis.xlen(settings.keys.dlq) == 1


def test_signing_in_needs_the_token_and_actions_need_the_csrf_token(
    redis_url: str, settings: Settings, sync_redis: redis.Redis
) -> None:
    entry_id = dead_letter(sync_redis, settings, "not json")
    with console(redis_url, settings, TOKEN) as client:
        csrf = csrf_of(client.get("/login").text)
        action = {"csrf": csrf, "action": "delete", "entry": f"0:{entry_id}", "confirmed": "yes"}
        assert client.post("/dead-letters/action", data=action).status_code == 401  # not signed in
        wrong = client.post("/login", data={"name": "mallory", "token": "guess", "csrf": csrf})
        assert wrong.status_code == 401 and "not the console token" in wrong.text
        assert client.post("/login", data={"name": "alice", "token": TOKEN}).status_code == 403  # no CSRF token
        client.post("/login", data={"name": "alice", "token": TOKEN, "csrf": csrf})
        csrf = csrf_of(client.get("/dead-letters").text)  # a new session has a new CSRF token
        assert client.post("/dead-letters/action", data={**action, "csrf": "forged"}).status_code == 403
        cross_site = client.post("/dead-letters/action", data={**action, "csrf": csrf},
                                 headers={"origin": "https://evil.example"})
        assert cross_site.status_code == 403
        assert client.post("/dead-letters/action", data={**action, "csrf": "", "confirmed": "yes"}).status_code == 403
        assert sync_redis.xlen(settings.keys.dlq) == 1
        assert client.post("/dead-letters/action", data={**action, "csrf": csrf}, follow_redirects=False).status_code \
            == 303
    assert sync_redis.xlen(settings.keys.dlq) == 0


def test_replay_asks_first_then_replays_the_fixed_entry_and_logs_who(
    operator: Client, settings: Settings, sync_redis: redis.Redis
) -> None:
    entry_id = dead_letter(sync_redis, settings, '{"text": "Fixed body"')
    detail = operator.get(f"/dead-letters/0/{entry_id}").text
    assert "The data field is not valid JSON." in detail and 'name="edited_data"' in detail
    fixed = '{"text": "Fixed body"}'
    form = {"csrf": csrf_of(detail), "action": "replay", "scope": "selected", "entry": f"0:{entry_id}",
            "edited_data": fixed}
    confirmation = operator.post("/dead-letters/action", data=form)
    assert confirmation.status_code == 200 and "Yes, replay" in confirmation.text
    assert "replayed as you edited it" in confirmation.text
    assert sync_redis.xlen(settings.keys.dlq) == 1, "replayed before confirmation"
    with structlog.testing.capture_logs() as logs:
        done = operator.post("/dead-letters/action", data={**form, "confirmed": "yes"}, follow_redirects=False)
    assert done.status_code == 303
    assert sync_redis.xlen(settings.keys.dlq) == 0
    [(_, fields)] = sync_redis.xrange(settings.keys.raw)
    assert fields[b"data"].decode() == fixed and b"error_type" not in fields
    [record] = [entry for entry in logs if entry["event"] == "console_dead_letters_replayed"]
    assert record["operator"] == "alice" and record["ids"] == [entry_id] and record["edited"] is True
    assert "Replayed 1 dead letter." in operator.get("/dead-letters").text


def test_replay_all_matching_a_filter_and_purge(operator: Client, settings: Settings, sync_redis: redis.Redis) -> None:
    for _ in range(3):
        dead_letter(sync_redis, settings, "not json")
    kept = dead_letter(sync_redis, settings, '{"text": ""}', error_type="missing_content")
    page = operator.get("/dead-letters", params={"error_type": "invalid_json"}).text
    assert kept not in page
    form = {"csrf": csrf_of(page), "action": "replay", "scope": "matching", "error_type": "invalid_json",
            "confirmed": "yes"}
    assert operator.post("/dead-letters/action", data=form, follow_redirects=False).status_code == 303
    assert [e.id for e in dlq.list_entries(sync_redis, settings.keys, limit=10)] == [kept]
    assert sync_redis.xlen(settings.keys.raw) == 3
    purge = {"csrf": form["csrf"], "action": "purge", "scope": "all"}
    assert "Delete <strong>every</strong> dead letter (1 now)" in operator.post("/dead-letters/action", data=purge).text
    assert sync_redis.xlen(settings.keys.dlq) == 1
    operator.post("/dead-letters/action", data={**purge, "confirmed": "yes"})
    assert sync_redis.xlen(settings.keys.dlq) == 0


def test_a_bearer_token_needs_no_session(redis_url: str, settings: Settings, sync_redis: redis.Redis) -> None:
    entry_id = dead_letter(sync_redis, settings, "{}")
    with console(redis_url, settings, TOKEN) as client:
        action = {"action": "replay", "entry": f"0:{entry_id}", "confirmed": "yes"}
        assert client.post("/dead-letters/action", data=action,
                           headers={"authorization": "Bearer wrong"}).status_code == 401
        response = client.post("/dead-letters/action", data=action, follow_redirects=False,
                               headers={"authorization": f"Bearer {TOKEN}", "x-newswire-operator": "cron"})
        assert response.status_code == 303
    assert sync_redis.xlen(settings.keys.dlq) == 0 and sync_redis.xlen(settings.keys.raw) == 1


def test_the_page_never_shows_redis_credentials(prefix: str) -> None:
    settings = Settings(redis_url="redis://user:s3cret@redis.internal:6380/2?password=also", prefix=prefix)
    assert redis_label(settings) == "Redis at redis://redis.internal:6380/2"
    assert redis_label(Settings(prefix=prefix)) == "embedded Redis"


def test_a_login_link_cannot_redirect_to_another_site(redis_url: str, settings: Settings) -> None:
    with console(redis_url, settings, TOKEN) as client:
        csrf = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"name": "a", "token": TOKEN, "csrf": csrf, "next": "//evil.example/"},
                               follow_redirects=False)
        assert response.headers["location"] == "/dead-letters"


def test_the_pages_assets_come_from_the_package(redis_url: str, settings: Settings) -> None:
    with console(redis_url, settings, None) as client:
        page = client.get("/").text
        for path, kind in (("/static/console.js", "text/javascript"), ("/static/console.css", "text/css"),
                           ("/static/favicon.svg", "image/svg+xml")):
            assert path in page or path.endswith(".svg")
            response = client.get(path)
            assert response.status_code == 200 and response.headers["content-type"].startswith(kind), path
        # Nothing is loaded from another host: every src and href of the page is local or a link out.
        assert not re.findall(r'(?:src|href)="(?:https?:)?//(?!www\.wikidata\.org)', page)


def test_every_partition_is_shown_and_a_dead_letter_replays_to_its_own_partition(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    settings = make_settings(redis_url, prefix, partitions=2)
    second = settings.partition_keys()[1]
    entry_id = sync_redis.xadd(second.dlq, {
        "data": "{}", "stage": "cleaner", "error_type": "missing_content", "error": "No text.", "attempts": "1",
        "source_stream": second.raw, "source_id": "1-0", "failed_at": "2026-11-30T20:00:00Z",
    }).decode()
    with console(redis_url, settings, TOKEN) as client:
        figures = client.get("/api/pipeline").json()["figures"]
        assert {s["key"] for s in figures["streams"]} >= {keys.raw for keys in settings.partition_keys()}
        assert figures["dlq_size"] == 1
        csrf = csrf_of(client.get("/login").text)
        client.post("/login", data={"name": "alice", "token": TOKEN, "csrf": csrf})
        listing = client.get("/dead-letters").text
        assert f"/dead-letters/1/{entry_id}" in listing
        csrf = csrf_of(listing)
        client.post("/dead-letters/action", data={"csrf": csrf, "action": "replay", "entry": f"1:{entry_id}",
                                                  "confirmed": "yes"})
    assert sync_redis.xlen(second.dlq) == 0 and sync_redis.xlen(second.raw) == 1
    assert sync_redis.xlen(settings.partition_keys()[0].raw) == 0


def test_an_unchanged_entry_is_replayed_as_it_was_and_logged_as_not_edited(
    operator: Client, settings: Settings, sync_redis: redis.Redis
) -> None:
    original = '{"text": "Refused by a bug since fixed."}'
    entry_id = dead_letter(sync_redis, settings, original, error_type="max_deliveries")
    csrf = csrf_of(operator.get(f"/dead-letters/0/{entry_id}").text)
    form = {"csrf": csrf, "action": "replay", "entry": f"0:{entry_id}", "edited_data": original + "\n"}
    assert "as you edited it" not in operator.post("/dead-letters/action", data=form).text
    with structlog.testing.capture_logs() as logs:
        operator.post("/dead-letters/action", data={**form, "confirmed": "yes"})
    [(_, fields)] = sync_redis.xrange(settings.keys.raw)
    assert fields[b"data"].decode() == original
    assert [e["edited"] for e in logs if e["event"] == "console_dead_letters_replayed"] == [False]


def test_a_dead_letter_from_a_foreign_stream_is_not_replayed(
    operator: Client, settings: Settings, sync_redis: redis.Redis
) -> None:
    entry_id = sync_redis.xadd(settings.keys.dlq, {
        "data": "{}", "stage": "cleaner", "error_type": "invalid_json", "error": "x", "attempts": "1",
        "source_stream": "{someone-else}:raw", "source_id": "1-0", "failed_at": "2026-11-30T20:00:00Z",
    }).decode()
    csrf = csrf_of(operator.get("/dead-letters").text)
    response = operator.post("/dead-letters/action", data={"csrf": csrf, "action": "replay",
                                                           "entry": f"0:{entry_id}", "confirmed": "yes"})
    assert response.status_code == 400 and "nowhere to replay them" in response.text
    assert sync_redis.xlen(settings.keys.dlq) == 1 and not sync_redis.exists("{someone-else}:raw")


def test_the_chart_starts_with_the_last_two_minutes_the_stages_counted(
    settings: Settings, sync_redis: redis.Redis
) -> None:
    now = 1_800_000_030.0  # 30 s into a minute
    sync_redis.set(settings.keys.rate("enricher", now - 120), 120)
    sync_redis.set(settings.keys.rate("enricher", now - 60), 30)
    sync_redis.set(settings.keys.rate("enricher", now), 999)  # the minute under way is not a whole minute
    points = finished_minutes(sync_redis, settings, now)
    assert [at for at, _ in points] == [now - 30 - 60, now - 30]
    assert [rates["enricher"] for _, rates in points] == [2.0, 0.5]
    assert [rates["cleaner"] for _, rates in points] == [0.0, 0.0]


def test_an_unreachable_redis_is_a_clear_page_not_a_crash(prefix: str) -> None:
    settings = Settings(redis_url="redis://127.0.0.1:1/0", prefix=prefix)
    with console("redis://127.0.0.1:1/0", settings, None) as client:
        response = client.get("/articles")
        assert response.status_code == 503 and "Redis did not answer" in response.text
        assert client.get("/dead-letters").status_code == 503
        assert "Redis did not answer" in client.get("/").text
        assert client.get("/healthz").status_code == 503


def test_the_article_page_follows_the_article_through_every_stream_and_shows_its_cues(
    redis_url: str, settings: Settings, sync_redis: redis.Redis
) -> None:
    # The cleaner takes received_at from the raw entry id, so it is a whole millisecond.
    received_ms = int(time.time() * 1000)
    # Built from whole numbers: fromtimestamp(ms / 1000) can land a microsecond below the millisecond.
    received_at = datetime.fromtimestamp(received_ms // 1000, tz=UTC) + timedelta(milliseconds=received_ms % 1000)
    article = enriched("traced-1", ARABIC_BODY, received_at=received_at)
    raw_id = sync_redis.xadd(settings.keys.raw, {"data": "{}"}, id=f"{received_ms}-0").decode()
    sync_redis.xadd(settings.keys.cleaned, {"data": json.dumps({"article_id": "other", "received_at": "x"})})
    cleaned_id = sync_redis.xadd(settings.keys.cleaned, {"data": article.model_dump_json()}).decode()
    enriched_id = sync_redis.xadd(settings.keys.enriched, {"data": article.model_dump_json()}).decode()
    published_id = publish(sync_redis, settings, article)
    with console(redis_url, settings, None) as client:
        html = client.get("/articles/traced-1").text
    history = html[html.index('id="history"'):]
    ids = {"raw": raw_id, "cleaned": cleaned_id, "enriched": enriched_id, "published": published_id}
    assert [name for name, stream_id in ids.items() if stream_id not in history] == []
    positions = [history.index(stream_id) for stream_id in ids.values()]
    assert positions == sorted(positions)
    topics = html[html.index('id="topics"'):html.index('id="history"')]
    assert "<th>cues</th>" in topics and "مليارات" in topics
    sync_redis.delete(settings.keys.enriched, settings.keys.cleaned, settings.keys.raw)
    with console(redis_url, settings, None) as client:
        html = client.get("/articles/traced-1").text
    assert "<th>cues</th>" not in html and "no longer holds this article" in html
    assert html.count("no longer in the stream") == 3


def test_the_console_command_stops_cleanly_on_sigterm(redis_url: str, prefix: str, tmp_path: Path) -> None:
    port = free_port()
    env = worker_env(redis_url, prefix, NEWSWIRE_CONSOLE_PORT=str(port))
    with open(tmp_path / "console.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "newswire.cli", "console"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT, cwd=REPO)
    try:
        with Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            def answers() -> bool:
                assert process.poll() is None, (tmp_path / "console.log").read_text()
                try:
                    return client.get("/healthz").status_code == 200
                except httpx.TransportError:
                    return False

            eventually(answers, 60, "the console answers")
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, (tmp_path / "console.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_older_articles_are_one_link_away(redis_url: str, settings: Settings, sync_redis: redis.Redis) -> None:
    for n in range(55):
        publish(sync_redis, settings, enriched(f"page-{n:02d}", f"Story number {n}.", title=f"Story {n:02d}",
                                               language="en", topics=[]))
    with console(redis_url, settings, None) as client:
        first = client.get("/articles", params={"source": "العربي"}).text
        shown = re.findall(r"Story (\d\d)", first)
        assert shown == [f"{n:02d}" for n in range(54, 4, -1)]
        older = re.search(r'id="older" href="([^"]+)"', first)
        assert older, "no link to older articles"
        second = client.get(older.group(1).replace("&amp;", "&")).text
    assert re.findall(r"Story (\d\d)", second) == ["04", "03", "02", "01", "00"]
    assert 'id="older"' not in second
