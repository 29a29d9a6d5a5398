"""The `newswire` command."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from newswire.cli.ingest import ingest_app
from newswire.cli.sink import EntityOption, FormatOption, LanguageOption, SourceOption, TopicOption, sink_app
from newswire.console.command import console as console_command
from newswire.runtime.settings import Settings, SettingsError, load_settings
from newswire.stages import PIPELINE, STAGE_NAMES, stage_named

app = typer.Typer(
    name="newswire",
    help="Event-driven ingestion of news articles over Redis Streams: raw -> cleaned -> enriched -> published.\n\n"
    "Settings come from NEWSWIRE_* environment variables; with NEWSWIRE_REDIS_URL unset an embedded Redis is used.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
schema_app = typer.Typer(help="The message contract: JSON Schema and AsyncAPI files.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
dlq_app = typer.Typer(help="Refused entries: list, show, replay, purge.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
app.command("console")(console_command)
app.add_typer(sink_app, name="sink")
app.add_typer(ingest_app, name="ingest")

T = TypeVar("T")


# What `newswire run` accepts: a registered stage, `ingest` (the HTTP ingest API), or `all` for every stage and
# the ingest API in one process.
RUN_CHOICES: tuple[str, ...] = (*STAGE_NAMES, "ingest", "all")


def _run_choice(value: str) -> str:
    if value not in RUN_CHOICES:
        raise typer.BadParameter(f"{value!r} is not a stage; choose one of {', '.join(RUN_CHOICES)}.")
    return value


def settings_or_exit() -> Settings:
    """Load the settings (on a bad value print one sentence and exit 2) and send logs to stderr."""
    from newswire.runtime.logging import configure_logging

    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"newswire: {exc}", err=True)
        raise typer.Exit(2) from None
    # Before anything logs: structlog's default would print to stdout, mixing with `--json` output.
    configure_logging(settings)
    return settings


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"newswire: {message}", err=True)
    return typer.Exit(code)


def with_redis(settings: Settings, action: Callable[[str], T]) -> T:
    """Run `action` with the Redis URL to use, starting the embedded Redis if none is configured."""
    from newswire.runtime.connection import redis_url
    from newswire.runtime.embedded_redis import EmbeddedRedisError

    try:
        with redis_url(settings) as url:
            return action(url)
    except EmbeddedRedisError as exc:
        raise fail(str(exc)) from None


@app.command()
def run(
    stage: Annotated[
        str,
        typer.Argument(
            help="The stage to run, `ingest` for the HTTP ingest API, or `all` for every stage and the ingest API.",
            metavar="[" + "|".join(RUN_CHOICES) + "]",
            callback=_run_choice,
            show_default=False,
        ),
    ],
) -> None:
    """Run one stage (or all) as a worker until SIGTERM or Ctrl-C.

    Scale a stage by starting more workers: they share the stage's consumer group.
    """
    import uvloop

    from newswire.runtime.app import Pipeline
    from newswire.runtime.http import PortInUse

    settings = settings_or_exit()
    if stage == "ingest":
        from newswire.cli.ingest import serve_ingest

        with_redis(settings, lambda url: serve_ingest(settings, url))
        return
    stages = list(PIPELINE) if stage == "all" else [stage_named(stage)]

    def serve(url: str) -> bool:
        try:
            pipeline = Pipeline(settings, stages, url)
        except PortInUse as exc:
            raise fail(str(exc), code=2) from None
        if stage == "all":
            from newswire.cli.ingest import attach_ingest

            attach_ingest(pipeline, settings, url)
        uvloop.run(pipeline.run())
        return pipeline.failed

    if with_redis(settings, serve):
        raise typer.Exit(1)


@app.command()
def publish(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files (.json, .jsonl, .html, .txt), directories, or `-` for standard input."),
    ],
    source: Annotated[str | None, typer.Option(help="Set `source` on articles that have none.")] = None,
    durable: Annotated[
        bool, typer.Option("--durable", help="Return only once a replica has the articles (Redis WAIT).")
    ] = False,
    wait_timeout_ms: Annotated[int, typer.Option(help="With --durable: how long to wait for the replica.")] = 5000,
) -> None:
    """Publish articles into the raw stream (of each article's partition).

    A .json file holds one article object or an array of them, .jsonl one object per line;
    .html files are sent as `html`, .txt files as `text`. Refused above the high-water mark.
    """
    import redis
    from rich.progress import Progress

    from newswire.cli.sources import SourceError, expand_paths, read_articles
    from newswire.client import HeadroomExceeded, NotDurable, publish_raw
    from newswire.runtime.connection import sync_client

    settings = settings_or_exit()
    try:
        files = expand_paths(paths)
    except SourceError as exc:
        raise fail(str(exc)) from None
    if not files:
        raise fail("no .json, .jsonl, .html or .txt files found")

    def documents(errors: list[str], progress: Progress | None) -> Any:
        task = progress.add_task("publishing", total=len(files)) if progress else None
        for path in files:
            try:
                for pending in read_articles(path):
                    if source and "source" not in pending.document:
                        pending.document["source"] = source
                    yield pending.document
            except (SourceError, OSError) as exc:
                errors.append(str(exc))
            if progress is not None and task is not None:
                progress.advance(task)

    def send(url: str) -> tuple[int, list[str], str | None]:
        client = sync_client(url)
        errors: list[str] = []
        show_progress = len(files) > 1 and sys.stderr.isatty()
        count, refused = 0, None
        with Progress(transient=True, disable=not show_progress) as progress:
            try:
                for _entry in publish_raw(client, settings, documents(errors, progress), durable=durable,
                                          wait_timeout_ms=wait_timeout_ms):
                    count += 1
            except HeadroomExceeded as exc:
                refused = f"refused the rest: {exc}"
            except NotDurable as exc:
                count += len(exc.entries)
                refused = f"not durable: {exc}"
            except redis.OutOfMemoryError:
                refused = "refused the rest: Redis is out of memory (maxmemory reached); retry later"
        client.close()
        return count, errors, refused

    count, errors, refused = with_redis(settings, send)
    for error in errors:
        typer.echo(f"newswire: skipped {error}", err=True)
    streams = settings.keys.raw if settings.partitions == 1 else f"{settings.partitions} partitions"
    typer.echo(f"published {count} article{'s' if count != 1 else ''} to {streams}", err=True)
    if refused:
        raise fail(refused, code=3)
    if errors:
        raise typer.Exit(1)


@app.command()
def tail(
    from_start: Annotated[bool, typer.Option("--from-start", help="Start at the oldest published event.")] = False,
    group: Annotated[
        str | None,
        typer.Option(help="Consumer group to read with; kept after exit so a later tail resumes. "
                     "Default: a temporary group, deleted on exit."),
    ] = None,
    count: Annotated[int | None, typer.Option(help="Exit after this many events.")] = None,
    language: LanguageOption = None,
    topic: TopicOption = None,
    entity: EntityOption = None,
    source: SourceOption = None,
    output: FormatOption = "json",
) -> None:
    """Print published events as JSON lines, as they arrive (or as IPTC ninjs with --format ninjs)."""
    from newswire.cli.sink import event_filter as filter_of
    from newswire.cli.sink import renderer
    from newswire.cli.tail import tail_events

    settings = settings_or_exit()
    event_filter = filter_of(language, topic, entity, source)
    render = renderer(output)

    def follow(url: str) -> None:
        for event in tail_events(url, settings, from_start=from_start, group=group, count=count,
                                 event_filter=event_filter):
            line = render(event)
            if line is not None:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()

    with contextlib.suppress(KeyboardInterrupt):
        with_redis(settings, follow)


@app.command()
def demo(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the published event.")] = 120.0,
    console: Annotated[
        bool, typer.Option("--console", help="Then keep the pipeline and its Redis running and open the console.")
    ] = False,
) -> None:
    """Publish the bundled sample article, run every stage, print the published event, exit.

    Uses its own streams (prefix `<NEWSWIRE_PREFIX>-demo`), emptied first, so it never mixes with real traffic.
    """
    from newswire.cli.demo import DemoTimeout, print_event, run_demo
    from newswire.console.command import ConsolePortInUse, serve_demo
    from newswire.runtime.logging import configure_logging

    settings = settings_or_exit()
    settings = settings.model_copy(
        update={"prefix": f"{settings.prefix}-demo", "log_level": "WARNING", "http_port": 0}
    )
    configure_logging(settings)

    def run_and_show(url: str) -> None:
        print_event(run_demo(settings, url, timeout_s=timeout))
        if console:
            serve_demo(settings, url)

    try:
        with_redis(settings, run_and_show)
    except (DemoTimeout, ConsolePortInUse) as exc:
        raise fail(str(exc)) from None


@app.command()
def stats(
    watch: Annotated[bool, typer.Option("--watch", help="Refresh in place every --interval seconds.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes with --watch.")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Per stream (and partition) and group: length, memory, lag, pending, consumers, oldest pending; DLQ size;
    throughput; Redis memory used, maxmemory, headroom below the high-water mark and the biggest keys."""
    import time

    from rich.console import Console
    from rich.live import Live

    from newswire.cli.stats import collect, render
    from newswire.runtime.connection import sync_client

    settings = settings_or_exit()

    def show(url: str) -> None:
        client = sync_client(url, socket_timeout=5)
        if as_json:
            typer.echo(json.dumps(collect(client, settings)))
        elif not watch:
            Console().print(render(collect(client, settings)))
        else:
            with Live(render(collect(client, settings)), auto_refresh=False) as live:
                while True:
                    time.sleep(interval)
                    live.update(render(collect(client, settings)), refresh=True)
        client.close()

    with contextlib.suppress(KeyboardInterrupt):
        with_redis(settings, show)


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    stage: Annotated[str | None, typer.Option(help="Only entries refused by this stage.")] = None,
    error_type: Annotated[str | None, typer.Option(help="Only this error type, e.g. invalid_json.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List dead letters with their reasons (of every partition)."""
    from rich.console import Console
    from rich.table import Table

    from newswire.cli.dlq import list_entries
    from newswire.runtime.connection import sync_client

    settings = settings_or_exit()

    def show(url: str) -> None:
        client: Any = sync_client(url)
        entries = [
            entry
            for keys in settings.partition_keys()
            for entry in list_entries(client, keys, limit=limit, stage=stage, error_type=error_type)
        ]
        # Newest first across partitions (ids are milliseconds-sequence).
        entries.sort(key=lambda e: tuple(int(part) for part in e.id.split("-")), reverse=True)
        entries = entries[:limit]
        if as_json:
            for entry in entries:
                typer.echo(json.dumps(entry.summary(), ensure_ascii=False))
            return
        total = sum(int(client.xlen(keys.dlq)) for keys in settings.partition_keys())
        where = settings.keys.dlq if settings.partitions == 1 else f"dead letters of {settings.partitions} partitions"
        table = Table(title=f"{where}: {total} entries")
        for column in ("id", "stage", "error_type", "attempts", "failed_at", "error"):
            table.add_column(column, overflow="fold")
        for entry in entries:
            reason = entry.reason
            table.add_row(entry.id, *(reason.get(k, "") for k in ("stage", "error_type", "attempts", "failed_at",
                                                                   "error")))
        Console().print(table)

    with_redis(settings, show)


@dlq_app.command("show")
def dlq_show(entry_id: Annotated[str, typer.Argument(help="The dead letter's entry id.")]) -> None:
    """Show one dead letter in full, its original fields included."""
    from newswire.cli.dlq import get_entry
    from newswire.runtime.connection import sync_client

    settings = settings_or_exit()

    def find(url: str) -> Any:
        client: Any = sync_client(url)
        found = (get_entry(client, keys, entry_id) for keys in settings.partition_keys())
        return next((entry for entry in found if entry is not None), None)

    entry = with_redis(settings, find)
    if entry is None:
        raise fail(f"no dead letter {entry_id} in {settings.keys.dlq}")
    typer.echo(json.dumps(entry.as_json(), ensure_ascii=False, indent=2))


@dlq_app.command("replay")
def dlq_replay(
    entry_ids: Annotated[list[str] | None, typer.Argument(help="Dead letters to replay.")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every dead letter (after filters).")] = False,
    stage: Annotated[str | None, typer.Option(help="With --all: only this stage's.")] = None,
    error_type: Annotated[str | None, typer.Option(help="With --all: only this error type.")] = None,
) -> None:
    """Put dead letters back on the stream they came from (after fixing what refused them)."""
    from newswire.cli.dlq import get_entry, list_entries, replay
    from newswire.runtime.connection import sync_client

    settings = settings_or_exit()
    if not entry_ids and not replay_all:
        raise fail("name the dead letters to replay, or pass --all", code=2)

    def run_replay(url: str) -> int:
        client: Any = sync_client(url)
        # Each partition's dead letters go back to that partition's streams; named ones are all found first.
        batches: list[tuple[Any, list[Any]]] = []
        missing = set(entry_ids or [])
        for keys in settings.partition_keys():
            if replay_all:
                entries = list_entries(client, keys, limit=10**9, stage=stage, error_type=error_type)
                batches.append((keys, list(reversed(entries))))
                continue
            entries = [e for e in (get_entry(client, keys, i) for i in entry_ids or []) if e is not None]
            missing -= {entry.id for entry in entries}
            batches.append((keys, entries))
        if missing:
            where = settings.keys.dlq if settings.partitions == 1 else "any partition"
            raise fail(f"no dead letter {sorted(missing)[0]} in {where}")
        return sum(replay(client, keys, entries) for keys, entries in batches)

    count = with_redis(settings, run_replay)
    typer.echo(f"replayed {count} dead letter{'s' if count != 1 else ''}", err=True)


@dlq_app.command("purge")
def dlq_purge(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every dead letter (of every partition)."""
    from newswire.cli.dlq import purge
    from newswire.runtime.connection import sync_client

    settings = settings_or_exit()
    if not yes and not typer.confirm(f"Delete every entry of {settings.keys.dlq}?", default=False):
        raise fail("nothing deleted", code=1)

    def purge_all(url: str) -> int:
        client: Any = sync_client(url)
        return sum(purge(client, keys) for keys in settings.partition_keys())

    count = with_redis(settings, purge_all)
    typer.echo(f"deleted {count} dead letter{'s' if count != 1 else ''}", err=True)


@schema_app.command("export")
def schema_export(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the files.")] = Path("schemas"),
    check: Annotated[bool, typer.Option(help="Write nothing; exit 1 if any file is missing or stale.")] = False,
) -> None:
    """Write the JSON Schema of every stream's model and the AsyncAPI document."""
    from newswire.cli.schema_export import export, stale_files

    if check:
        stale = stale_files(directory)
        if stale:
            raise fail(f"stale schema files in {directory}: {', '.join(stale)}; run `newswire schema export`")
        typer.echo(f"schema files in {directory} are up to date", err=True)
        return
    for path in export(directory):
        typer.echo(f"wrote {path}", err=True)


@schema_app.command("fields")
def schema_fields() -> None:
    """Print the published article's fields as the README's Markdown table."""
    from newswire.cli.schema_export import published_field_table

    typer.echo(published_field_table(), nl=False)


def main() -> None:
    """Entry point of the `newswire` command."""
    app()
