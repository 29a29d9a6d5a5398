"""`newswire run ingest` and `newswire ingest ...`: the HTTP ingest API, its API keys and its OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from newswire.ingest.keys import ApiKey
    from newswire.runtime.app import Pipeline
    from newswire.runtime.settings import Settings

OPENAPI_FILE = Path("schemas") / "openapi.json"

ingest_app = typer.Typer(help="The HTTP ingest API: API keys and the OpenAPI document.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of the ingest API: create, list, revoke.", no_args_is_help=True)
ingest_app.add_typer(keys_app, name="keys")


def serve_ingest(settings: Settings, url: str) -> None:
    """`newswire run ingest`: serve the API until SIGTERM or Ctrl-C."""
    import uvloop

    from newswire.cli.main import fail
    from newswire.ingest.server import IngestServer
    from newswire.runtime.http import PortInUse

    try:
        server = IngestServer(settings, url)
    except PortInUse as exc:
        raise fail(str(exc), code=2) from None
    if uvloop.run(server.run_until_signalled()):
        raise typer.Exit(1)


def attach_ingest(pipeline: Pipeline, settings: Settings, url: str) -> None:
    """`newswire run all`: serve the API in the workers' process, started and stopped with them."""
    from newswire.cli.main import fail
    from newswire.ingest.server import IngestServer
    from newswire.runtime.http import PortInUse

    try:
        server = IngestServer(settings, url)
    except PortInUse as exc:
        raise fail(str(exc), code=2) from None
    pipeline.app.after_startup(server.start)
    pipeline.app.on_shutdown(server.stop)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who uses the key (the scraper's name); recorded on every raw entry.")],
    source: Annotated[
        str | None, typer.Option(help="Only articles of this `source` (set on articles that have none).")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(help="Articles per second for this key; 0: no limit. Default NEWSWIRE_INGEST_RATE_LIMIT."),
    ] = None,
    burst: Annotated[
        int | None, typer.Option(help="Articles at once before the rate applies. Default NEWSWIRE_INGEST_RATE_BURST.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key and its record as JSON.")] = False,
) -> None:
    """Create an API key and print it (it is shown only this once; only its hash is stored)."""
    from newswire.cli.main import fail, settings_or_exit, with_redis
    from newswire.ingest.keys import ApiKeyError, create_key, new_key
    from newswire.runtime.connection import sync_client

    settings = settings_or_exit()
    try:
        made = new_key(name, source, rate, burst)
    except ApiKeyError as exc:
        raise fail(str(exc), code=2) from None
    record = with_redis(settings, lambda url: create_key(sync_client(url), settings.keys, made))
    if as_json:
        typer.echo(json.dumps({"key": made[0], **_record_json(record)}))
        return
    typer.echo(made[0])
    typer.echo(f"created key {record.id} for {record.name}"
               + (f" (source {record.source})" if record.source else "")
               + "; store it now, it cannot be shown again", err=True)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False) -> None:
    """List the API keys (id, name, source, limits, creation time; never the keys)."""
    from rich.console import Console
    from rich.table import Table

    from newswire.cli.main import settings_or_exit, with_redis
    from newswire.ingest.keys import list_keys
    from newswire.runtime.connection import sync_client

    settings = settings_or_exit()
    records = with_redis(settings, lambda url: list_keys(sync_client(url), settings.keys))
    if as_json:
        for record in records:
            typer.echo(json.dumps(_record_json(record)))
        return
    table = Table(title=f"{len(records)} API key{'s' if len(records) != 1 else ''}")
    for column in ("id", "name", "source", "rate/s", "burst", "created_at"):
        table.add_column(column)
    for record in records:
        rate = f"{settings.ingest_rate_limit:g} (default)" if record.rate is None else f"{record.rate:g}"
        burst = f"{settings.ingest_rate_burst} (default)" if record.burst is None else str(record.burst)
        table.add_row(record.id, record.name, record.source or "any", rate, burst, record.created_at)
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(
    id_or_name: Annotated[str, typer.Argument(help="The key's id, or a name (revokes every key of that name).")],
) -> None:
    """Revoke API keys: requests with them get 401 from the next request on."""
    from newswire.cli.main import fail, settings_or_exit, with_redis
    from newswire.ingest.keys import ApiKeyError, revoke_key
    from newswire.runtime.connection import sync_client

    settings = settings_or_exit()
    try:
        revoked = with_redis(settings, lambda url: revoke_key(sync_client(url), settings.keys, id_or_name))
    except ApiKeyError as exc:
        raise fail(str(exc)) from None
    for record in revoked:
        typer.echo(f"revoked key {record.id} ({record.name})", err=True)


@ingest_app.command("openapi")
def openapi(
    path: Annotated[Path, typer.Option("--file", help="Where to write the document.")] = OPENAPI_FILE,
    check: Annotated[bool, typer.Option(help="Write nothing; exit 1 if the file is missing or stale.")] = False,
) -> None:
    """Write the ingest API's OpenAPI document (what `/openapi.json` serves)."""
    from newswire.cli.main import fail
    from newswire.ingest.openapi import render_openapi

    text = render_openapi()
    if check:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            raise fail(f"{path} is stale; run `newswire ingest openapi`")
        typer.echo(f"{path} is up to date", err=True)
        return
    path.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {path}", err=True)


def _record_json(record: ApiKey) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(record)
