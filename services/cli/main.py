"""The `newswire` command."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from services.runtime.settings import STAGES, Settings, SettingsError, load_settings

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

T = TypeVar("T")


class StageChoice(StrEnum):
    cleaner = "cleaner"
    enricher = "enricher"
    publisher = "publisher"
    all = "all"


def settings_or_exit() -> Settings:
    """Load the settings; on a bad value print one sentence and exit 2."""
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"newswire: {exc}", err=True)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"newswire: {message}", err=True)
    return typer.Exit(code)


def with_redis(settings: Settings, action: Callable[[str], T]) -> T:
    """Run `action` with the Redis URL to use, starting the embedded Redis if none is configured."""
    from services.runtime.connection import redis_url
    from services.runtime.embedded_redis import EmbeddedRedisError

    try:
        with redis_url(settings) as url:
            return action(url)
    except EmbeddedRedisError as exc:
        raise fail(str(exc)) from None


@app.command()
def run(
    stage: Annotated[StageChoice, typer.Argument(help="The stage to run, or `all` for every stage in this process.")],
) -> None:
    """Run one stage (or all) as a worker until SIGTERM or Ctrl-C.

    Scale a stage by starting more workers: they share the stage's consumer group.
    """
    import uvloop

    from services.runtime.app import Pipeline
    from services.runtime.logging import configure_logging

    settings = settings_or_exit()
    configure_logging(settings)
    stages = list(STAGES) if stage is StageChoice.all else [stage.value]

    def serve(url: str) -> bool:
        pipeline = Pipeline(settings, stages, url)
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
) -> None:
    """Publish articles into the raw stream.

    A .json file holds one article object or an array of them, .jsonl one object per line;
    .html files are sent as `html`, .txt files as `text`.
    """
    import redis
    from rich.progress import Progress

    from services.cli.sources import SourceError, expand_paths, read_articles
    from services.client import publish_raw

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

    def send(url: str) -> tuple[int, list[str]]:
        client = redis.Redis.from_url(url)
        errors: list[str] = []
        show_progress = len(files) > 1 and sys.stderr.isatty()
        with Progress(transient=True, disable=not show_progress) as progress:
            count = sum(1 for _ in publish_raw(client, settings.keys, documents(errors, progress)))
        client.close()
        return count, errors

    count, errors = with_redis(settings, send)
    for error in errors:
        typer.echo(f"newswire: skipped {error}", err=True)
    typer.echo(f"published {count} article{'s' if count != 1 else ''} to {settings.keys.raw}", err=True)
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
    lang: Annotated[str | None, typer.Option("--lang", help="Only events whose language is this BCP 47 code.")] = None,
    topic: Annotated[str | None, typer.Option(help="Only events with this IPTC qcode (any level).")] = None,
    entity: Annotated[
        str | None, typer.Option(help="Only events mentioning this entity (id, Wikidata id or name).")
    ] = None,
) -> None:
    """Print published events as JSON lines, as they arrive."""
    from services.cli.tail import EventFilter, tail_events

    settings = settings_or_exit()
    event_filter = EventFilter(language=lang, topic=topic, entity=entity)

    def follow(url: str) -> None:
        for event in tail_events(url, settings.keys, from_start=from_start, group=group, count=count,
                                 event_filter=event_filter):
            sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
            sys.stdout.flush()

    with contextlib.suppress(KeyboardInterrupt):
        with_redis(settings, follow)


@app.command()
def demo(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the published event.")] = 120.0,
) -> None:
    """Publish the bundled sample article, run every stage, print the published event, exit.

    Uses its own streams (prefix `<NEWSWIRE_PREFIX>-demo`), emptied first, so it never mixes with real traffic.
    """
    from services.cli.demo import DemoTimeout, run_demo
    from services.runtime.logging import configure_logging

    settings = settings_or_exit()
    settings = settings.model_copy(update={"prefix": f"{settings.prefix}-demo", "log_level": "WARNING"})
    configure_logging(settings)
    try:
        event = with_redis(settings, lambda url: run_demo(settings, url, timeout_s=timeout))
    except DemoTimeout as exc:
        raise fail(str(exc)) from None
    article = event["data"]
    typer.echo(json.dumps(event, ensure_ascii=False, indent=2))
    typer.echo(
        f"\ntitle: {article.get('title')}\nlanguage: {article.get('language')}\n"
        f"event id: {event.get('id')}  ({len(article.get('body', ''))} characters of clean body)",
        err=True,
    )


@schema_app.command("export")
def schema_export(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the files.")] = Path("schemas"),
    check: Annotated[bool, typer.Option(help="Write nothing; exit 1 if any file is missing or stale.")] = False,
) -> None:
    """Write the JSON Schema of every stream's model and the AsyncAPI document."""
    from services.cli.schema_export import export, stale_files

    if check:
        stale = stale_files(directory)
        if stale:
            raise fail(f"stale schema files in {directory}: {', '.join(stale)}; run `newswire schema export`")
        typer.echo(f"schema files in {directory} are up to date", err=True)
        return
    for path in export(directory):
        typer.echo(f"wrote {path}", err=True)


def main() -> None:
    """Entry point of the `newswire` command."""
    app()
