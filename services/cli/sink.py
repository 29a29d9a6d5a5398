"""`newswire sink postgres|webhook`: ready-made subscribers, each with its own consumer group."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from newswire.subscribers.filters import EventFilter

if TYPE_CHECKING:
    from newswire.runtime.settings import Settings
    from newswire.subscribers.reader import PublishedReader
    from newswire.subscribers.sink_support import SinkDeadLetters, SinkStats

sink_app = typer.Typer(
    help="Deliver published events to PostgreSQL or a webhook, with their own consumer groups.",
    no_args_is_help=True,
)

# The filter options every reader accepts (`newswire tail` too): repeat an option for alternatives.
LanguageOption = Annotated[
    list[str] | None, typer.Option("--language", "--lang", help="Only this BCP 47 language (repeatable).")
]
TopicOption = Annotated[
    list[str] | None, typer.Option("--topic", help="Only this IPTC Media Topic qcode or its subtopics (repeatable).")
]
EntityOption = Annotated[
    list[str] | None, typer.Option("--entity", help="Only articles mentioning this entity id or name (repeatable).")
]
SourceOption = Annotated[
    list[str] | None, typer.Option("--source", help="Only this source domain (or subdomain) or name (repeatable).")
]
FormatOption = Annotated[
    str, typer.Option("--format", help="`json`: each event as a JSON object; `ninjs`: an IPTC ninjs 2.2 item.")
]
StartOption = Annotated[
    str, typer.Option("--start", help="Where a new consumer group starts: `earliest` or `latest`.")
]


def event_filter(
    language: list[str] | None, topic: list[str] | None, entity: list[str] | None, source: list[str] | None
) -> EventFilter:
    return EventFilter(language=language, topic=topic, entity=entity, source=source)


def renderer(output: str) -> Callable[[dict[str, Any]], str | None]:
    """How `--format` prints an event (attributes plus parsed `data`); None (said on stderr) when it cannot."""
    import json

    if output == "json":
        return lambda event: json.dumps(event, ensure_ascii=False)
    if output == "ninjs":
        from pydantic import ValidationError

        from newswire.subscribers.ninjs import to_ninjs

        def ninjs(event: dict[str, Any]) -> str | None:
            try:
                return json.dumps(to_ninjs(event), ensure_ascii=False)
            except (ValidationError, KeyError, TypeError):
                typer.echo(f"newswire: event {event.get('id')} is not a v1 published article; skipped", err=True)
                return None

        return ninjs
    raise typer.BadParameter(f"--format must be `json` or `ninjs`, not {output!r}")


def _start(value: str) -> Literal["earliest", "latest"]:
    if value == "earliest":
        return "earliest"
    if value == "latest":
        return "latest"
    raise typer.BadParameter("--start must be `earliest` or `latest`")


@sink_app.command("postgres")
def sink_postgres(
    dsn: Annotated[
        str | None, typer.Option("--dsn", help="PostgreSQL to write to. Default: NEWSWIRE_POSTGRES_DSN.")
    ] = None,
    schema: Annotated[str, typer.Option(help="Database schema of the tables (created and migrated).")] = "newswire",
    group: Annotated[str, typer.Option(help="Consumer group on the published stream.")] = "sink-postgres",
    language: LanguageOption = None,
    topic: TopicOption = None,
    entity: EntityOption = None,
    source: SourceOption = None,
    start: StartOption = "earliest",
    migrate_only: Annotated[bool, typer.Option("--migrate-only", help="Migrate the schema and exit.")] = False,
) -> None:
    """Write every published event into PostgreSQL (one row per event, exactly once in effect).

    Batches are written in one transaction and acknowledged after the commit; a redelivered event changes
    nothing. The schema is created and migrated by the sink.
    """
    from newswire.cli.main import fail, settings_or_exit, with_redis

    _require_extra("psycopg", "postgres")
    import psycopg

    from newswire.runtime.http import Heartbeat
    from newswire.subscribers.postgres import PostgresSink, SchemaTooNew, migrate
    from newswire.subscribers.sink_support import SinkStats

    settings = settings_or_exit()
    target = dsn or (settings.postgres_dsn.get_secret_value() if settings.postgres_dsn else None)
    if not target:
        raise fail("no PostgreSQL to write to: pass --dsn or set NEWSWIRE_POSTGRES_DSN", code=2)
    chosen = event_filter(language, topic, entity, source)
    first = _start(start)

    def run(url: str) -> None:
        from newswire.subscribers.postgres import connect

        try:
            if migrate_only:
                with connect(target) as conn:
                    applied = migrate(conn, schema)
                typer.echo(f"schema {schema}: applied migrations {applied or 'none (up to date)'}", err=True)
                return
            stats = SinkStats("postgres", heartbeat=Heartbeat())
            sink = PostgresSink(_reader(settings, url, group, first, stats), target, schema, chosen,
                                _dead_letters(settings, url, "postgres", group), stats)
            applied = sink.prepare()
        except (psycopg.OperationalError, SchemaTooNew) as exc:
            raise fail(f"PostgreSQL: {str(exc).strip().splitlines()[0]}") from None
        _started("postgres", group, chosen, schema=schema, migrations_applied=applied)
        _run_sink(settings, url, group, stats, sink.run, sink.close, serve_http=True)

    with_redis(settings, run)


@sink_app.command("webhook")
def sink_webhook(
    url: Annotated[str, typer.Option("--url", help="Endpoint the events are POSTed to (http:// or https://).")],
    secret: Annotated[
        str | None,
        typer.Option("--secret", envvar="NEWSWIRE_WEBHOOK_SECRET",
                     help="Signing secret (`whsec_<base64>` or any string); unsigned without it."),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Endpoint name: its consumer group is `webhook-<name>`, its dead letters "
                                      "`sink-dlq:webhook-<name>`. Default: host and a hash of the URL.")
    ] = None,
    output: FormatOption = "json",
    language: LanguageOption = None,
    topic: TopicOption = None,
    entity: EntityOption = None,
    source: SourceOption = None,
    start: StartOption = "earliest",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each response.")] = 10.0,
    max_attempts: Annotated[int, typer.Option(help="Attempts before an event goes to the dead-letter stream.")] = 6,
    backoff: Annotated[float, typer.Option(help="First retry delay (s); doubled per attempt, with jitter.")] = 0.5,
    backoff_cap: Annotated[float, typer.Option(help="Longest retry delay (s).")] = 60.0,
    concurrency: Annotated[int, typer.Option(help="Articles delivered in parallel (each in order).")] = 8,
    replay_dead_letters: Annotated[
        bool, typer.Option("--replay-dead-letters", help="Deliver this endpoint's dead letters once (each is "
                           "deleted when delivered, or dead-lettered anew), then exit.")
    ] = False,
) -> None:
    """POST every published event to a webhook: CloudEvents HTTP binary mode, signed, retried, in order per article.

    `--format ninjs` sends the article as an IPTC ninjs 2.2 item instead of the v1 JSON.
    """
    from urllib.parse import urlsplit

    from newswire.cli.main import fail, settings_or_exit, with_redis

    _require_extra("httpx", "webhooks")
    from newswire.runtime.connection import sync_client
    from newswire.runtime.http import Heartbeat
    from newswire.subscribers.sink_support import SinkStats
    from newswire.subscribers.webhook import DeadLetterReplay, DeliveryPolicy, EntrySource, WebhookEndpoint, WebhookSink

    settings = settings_or_exit()
    target = urlsplit(url)
    if target.scheme not in {"http", "https"} or not target.hostname:
        raise fail(f"--url must be an http:// or https:// address, not {url!r}", code=2)
    if max_attempts < 1 or concurrency < 1 or timeout <= 0 or backoff < 0 or backoff_cap < backoff:
        raise fail("--max-attempts and --concurrency must be at least 1, --timeout positive, "
                   "and 0 <= --backoff <= --backoff-cap", code=2)
    render, dataschema = _webhook_body(output)
    endpoint_name = name or f"{target.hostname}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"
    group = f"webhook-{endpoint_name}"
    chosen = event_filter(language, topic, entity, source)
    first = _start(start)
    policy = DeliveryPolicy(timeout_s=timeout, max_attempts=max_attempts, backoff_base_s=backoff,
                            backoff_cap_s=backoff_cap)

    def run(redis_url: str) -> None:
        stats = SinkStats(group, heartbeat=Heartbeat())
        source: EntrySource = (
            DeadLetterReplay(sync_client(redis_url), dead_letter_stream(settings, group), settings.batch_size)
            if replay_dead_letters
            else _reader(settings, redis_url, group, first, stats)
        )
        sink = WebhookSink(
            source,
            WebhookEndpoint(url, secret, policy, concurrency),
            # Dead letters passed the filters when they were first handled; none is dropped on a replay.
            EventFilter() if replay_dead_letters else chosen,
            _dead_letters(settings, redis_url, "webhook", group),
            concurrency=concurrency,
            render=render,
            dataschema=dataschema,
            stats=stats,
        )
        sink.prepare()
        _started("webhook", group, chosen, url=url, signed=secret is not None, format=output,
                 dead_letters=dead_letter_stream(settings, group))
        _run_sink(settings, redis_url, group, stats, sink.run, sink.close, serve_http=not replay_dead_letters)
        if replay_dead_letters:
            typer.echo(f"replayed dead letters: {sink.stats.written} delivered, {sink.stats.dead_lettered} failed "
                       "again", err=True)

    with_redis(settings, run)


def _webhook_body(output: str) -> tuple[Callable[[dict[str, Any]], bytes] | None, str | None]:
    """What `--format` sends as the body, and the `ce-dataschema` that then describes it."""
    if output == "json":
        return None, None
    if output == "ninjs":
        import json

        from newswire.subscribers.ninjs import NINJS_SCHEMA, to_ninjs

        return (lambda event: json.dumps(to_ninjs(event), ensure_ascii=False).encode()), NINJS_SCHEMA
    raise typer.BadParameter(f"--format must be `json` or `ninjs`, not {output!r}")


def _require_extra(module: str, extra: str) -> None:
    """Stop with one sentence when an optional dependency is not installed."""
    import importlib.util

    from newswire.cli.main import fail

    if importlib.util.find_spec(module) is None:
        raise fail(f"this sink needs the `{extra}` extra: pip install 'newswire[{extra}]'", code=2)


def _run_sink(
    settings: Settings,
    url: str,
    group: str,
    stats: SinkStats,
    run: Callable[[threading.Event], None],
    close: Callable[[], None],
    *,
    serve_http: bool,
) -> None:
    """Serve /metrics, /healthz and /readyz (as the workers do), run the sink until SIGTERM, close it."""
    from newswire.cli.main import fail
    from newswire.runtime.http import HealthServer, PortInUse, ReadinessProbe
    from newswire.subscribers.reader import published_streams
    from newswire.subscribers.sink_support import Stopped, stop_on_signals

    server = None
    if serve_http and stats.heartbeat is not None:
        probe = ReadinessProbe(url, [(stream, group) for stream in published_streams(settings)])
        try:
            server = HealthServer(settings.http_host, settings.http_port, stats.heartbeat, probe,
                                  fall_back="http_port" not in settings.model_fields_set)
        except PortInUse as exc:
            raise fail(str(exc), code=2) from None
        server.start()
    stop = stop_on_signals()
    try:
        run(stop)
    except Stopped:
        pass
    finally:
        close()
        if server is not None:
            server.stop()


def _reader(
    settings: Settings, url: str, group: str, start: Literal["earliest", "latest"], stats: SinkStats
) -> PublishedReader:
    from newswire.runtime.app import consumer_name
    from newswire.runtime.connection import sync_client
    from newswire.subscribers.reader import PublishedReader, published_streams

    client = sync_client(url, socket_timeout=settings.block_ms / 1000 + 10)
    return PublishedReader(
        client,
        published_streams(settings),
        group,
        consumer_name(settings),
        batch_size=settings.batch_size,
        block_ms=settings.block_ms,
        claim_idle_ms=settings.claim_idle_ms,
        reclaim_interval_s=settings.reclaim_interval_ms / 1000,
        start=start,
        on_read=stats.tick,
    )


def _dead_letters(settings: Settings, url: str, sink: str, name: str) -> SinkDeadLetters:
    from newswire.runtime.connection import sync_client
    from newswire.subscribers.sink_support import SinkDeadLetters

    return SinkDeadLetters(sync_client(url), dead_letter_stream(settings, name), sink)


def dead_letter_stream(settings: Settings, name: str) -> str:
    """The dead-letter stream of one sink (one per webhook endpoint)."""
    return settings.keys.stream(f"sink-dlq:{name}")


def _started(sink: str, group: str, chosen: EventFilter, **details: object) -> None:
    import structlog

    structlog.get_logger("newswire.sink").info("sink_started", sink=sink, group=group, filters=chosen.describe(),
                                                **details)
