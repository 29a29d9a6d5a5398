"""The console's ASGI app: three pages (pipeline, articles, dead letters), a live feed and the dead-letter actions.

Redis is read only through the project's own functions (`newswire stats`, `newswire dlq`, the client's
event decoder); the blocking redis-py calls run in worker threads so a slow read never stalls the live feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import urlencode

import jinja2
import redis
import structlog
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from newswire.cli import dlq
from newswire.console import articles
from newswire.console.access import AccessDenied, ConsoleAccess, csrf_token
from newswire.console.highlight import format_number, highlight_body, wikidata_id
from newswire.console.pipeline import PipelineMonitor, finished_minutes, snapshot
from newswire.runtime.logging import flush_logs
from newswire.runtime.settings import Settings, StreamKeys
from newswire.stages import STAGE_NAMES

log = structlog.get_logger("newswire.console")
T = TypeVar("T")

LIST_LIMIT = 50
# How far back the article pages search the published stream (per stream set): bounded, so one page view
# never walks a million-event stream.
SCAN_LIMIT = 20_000
HISTORY_SCAN_LIMIT = 5_000
DEAD_LETTER_LIMIT = 200
FAILED_SIGN_IN_DELAY_S = 1.0

SECURITY_HEADERS = {
    # No inline script or style anywhere: even a field that escaped escaping could not run.
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    # same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on our own form posts.
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


@dataclass(slots=True)
class ConsoleConfig:
    """What the console needs: a Redis client factory, the stream sets, the token, how to name Redis."""

    client_factory: Callable[[], Any]  # redis.Redis, or a cluster client with the same commands
    settings: Settings
    keysets: list[StreamKeys]
    access: ConsoleAccess
    redis_label: str
    sample_interval_s: float = 2.0


class SecurityHeaders:
    """Adds the security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)  # type: ignore[arg-type]


def create_app(config: ConsoleConfig) -> Starlette:
    """The console app; Redis is opened in the lifespan, never at import."""
    templates = _templates()
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        client = config.client_factory()
        monitor = PipelineMonitor(lambda: snapshot(client, config.settings), config.sample_interval_s)
        state.update(client=client, monitor=monitor)
        sampler = asyncio.create_task(monitor.run(lambda: finished_minutes(client, config.settings, time.time())))
        try:
            yield
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            client.close()
            flush_logs()

    async def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(function, state["client"], *args, **kwargs)

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        flash = request.session.pop("flash", None)
        html = templates.get_template(template).render(
            request=request,
            nav=template.split(".")[0],
            operator=config.access.operator(request),
            read_only=config.access.read_only,
            csrf=csrf_token(request),
            redis_label=config.redis_label,
            flash=flash,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    async def pipeline_page(request: Request) -> Response:
        monitor: PipelineMonitor = state["monitor"]
        if monitor.latest is None and monitor.error is None:
            await monitor.next_version(0, 5.0)
        return page(request, "pipeline.html", payload=monitor.payload(), stages=STAGE_NAMES)

    async def pipeline_json(_request: Request) -> Response:
        return JSONResponse(state["monitor"].payload())

    async def pipeline_events(request: Request) -> Response:
        monitor: PipelineMonitor = state["monitor"]

        async def feed() -> AsyncIterator[str]:
            seen = -1
            while not await request.is_disconnected():
                version = await monitor.next_version(seen, 15.0)
                if version == seen:
                    yield ": keep-alive\n\n"
                    continue
                seen = version
                yield f"event: pipeline\ndata: {json.dumps(monitor.payload())}\n\n"

        return StreamingResponse(feed(), media_type="text/event-stream", headers={"cache-control": "no-store"})

    async def articles_page(request: Request) -> Response:
        query = request.query_params
        wanted = articles.ArticleFilter(
            **{name: query.get(name, "").strip()[:200] for name in ("language", "topic", "entity", "source")}
        )
        before = query.get("before", "")
        before = before if _looks_like_stream_id(before) else ""
        found = await call(articles.latest, config.keysets, wanted, limit=LIST_LIMIT, scan_limit=SCAN_LIMIT,
                           before=before or None)
        summaries = [entry.summary() for entry in found.entries]
        older = summaries[-1]["stream_id"] if len(summaries) == LIST_LIMIT else None
        return page(request, "articles.html", found=found, wanted=wanted, summaries=summaries, before=before,
                    older=older)

    async def article_page(request: Request) -> Response:
        article_id = request.path_params["article_id"]
        revisions = await call(articles.revisions, config.keysets, article_id, scan_limit=SCAN_LIMIT)
        wanted_entry = request.query_params.get("entry")
        entry = next((e for e in revisions if e.stream_id == wanted_entry), None)
        if entry is None and wanted_entry and _looks_like_stream_id(wanted_entry):
            entry = await call(articles.published_entry, config.keysets, wanted_entry)
            if entry is not None and entry.article_id != article_id:
                entry = None
        entry = entry or (revisions[0] if revisions else None)
        if entry is None:
            return page(request, "not_found.html", status=404, what=f"article {article_id}",
                        hint=f"It is not among the newest {SCAN_LIMIT:,} published events.")
        path = await call(articles.history, config.keysets, entry, scan_limit=HISTORY_SCAN_LIMIT)
        article = entry.article
        return page(
            request, "article.html", entry=entry, article=article, summary=entry.summary(), path=path,
            body=highlight_body(article), revisions=revisions, extra=_extra_fields(article),
            url=articles.url_of(article), wikidata_id=wikidata_id,
        )

    async def dead_letters_page(request: Request) -> Response:
        stage = request.query_params.get("stage", "").strip()
        error_type = request.query_params.get("error_type", "").strip()
        rows = await call(_dead_letters, config.keysets, stage, error_type, DEAD_LETTER_LIMIT)
        total = sum([await call(_dlq_length, keys) for keys in config.keysets])
        error_types = sorted({row[1].reason.get("error_type", "") for row in rows} | ({error_type} - {""}))
        return page(request, "dead_letters.html", rows=rows, total=total, stage=stage, error_type=error_type,
                    stages=STAGE_NAMES, error_types=error_types, limit=DEAD_LETTER_LIMIT)

    async def dead_letter_page(request: Request) -> Response:
        partition, entry_id = int(request.path_params["partition"]), request.path_params["entry_id"]
        entry = await _entry_or_none(partition, entry_id)
        if entry is None:
            return page(request, "not_found.html", status=404, what=f"dead letter {entry_id}",
                        hint="It was replayed or purged, or the id is wrong.")
        return page(request, "dead_letter.html", entry=entry, partition=partition,
                    pretty=json.dumps(entry.as_json(), ensure_ascii=False, indent=2))

    async def _entry_or_none(partition: int, entry_id: str) -> dlq.DeadLetterEntry | None:
        if not 0 <= partition < len(config.keysets) or not _looks_like_stream_id(entry_id):
            return None
        return await call(dlq.get_entry, config.keysets[partition], entry_id)

    async def dead_letter_action(request: Request) -> Response:
        form = await request.form()
        try:
            operator = config.access.authorise(request, _text(form, "csrf"))
        except AccessDenied as denied:
            log.warning("console_action_refused", action=_text(form, "action"), reason=str(denied),
                        client=_client_address(request))
            return page(request, "denied.html", status=denied.status, message=str(denied))
        action = _text(form, "action")
        if action not in ("replay", "delete", "purge"):
            return page(request, "denied.html", status=400, message=f"Unknown action {action!r}.")
        selection = Selection([]) if action == "purge" else await _chosen_entries(form)
        if isinstance(selection, str):
            return page(request, "denied.html", status=400, message=selection)
        if action == "replay" and (stray := _not_replayable(config.keysets, selection.entries)):
            return page(request, "denied.html", status=400, message=stray)
        if _text(form, "confirmed") != "yes":
            total = sum([await call(_dlq_length, keys) for keys in config.keysets])
            return page(request, "confirm.html", action=action, chosen=selection.entries, edited=selection.edited,
                        hidden=_hidden_fields(form), dlq_total=total)
        count = await call(_perform, config.keysets, action, selection.entries)
        _record(request, operator, action, selection, count, form)
        # The audit line is written now, not with the next buffer flush: uvicorn ends the process on SIGTERM.
        flush_logs()
        request.session["flash"] = f"{_past(action)} {count} dead letter{'s' if count != 1 else ''}."
        return RedirectResponse(_back_to_list(form), status_code=303)

    async def _chosen_entries(form: FormData) -> Selection | str:
        if _text(form, "scope") == "matching":
            matching = await call(_dead_letters, config.keysets, _text(form, "stage"), _text(form, "error_type"),
                                  10**9)
            return Selection(matching)
        values = form.getlist("entry")
        selection = Selection([])
        for value in values:
            partition_text, _, entry_id = str(value).partition(":")
            partition = int(partition_text) if partition_text.isdigit() else -1
            entry = await _entry_or_none(partition, entry_id)
            if entry is None:
                return f"Dead letter {entry_id} is gone (replayed or purged meanwhile?)."
            edited = _text(form, "edited_data")
            # Only one entry's own page offers the edit; a form naming several entries is not trusted with it.
            if edited and len(values) == 1 and edited.strip() != entry.original.get("data", "").strip():
                entry = replace(entry, original={**entry.original, "data": edited})
                selection.edited = True
            selection.entries.append((partition, entry))
        return selection if selection.entries else "Choose at least one dead letter."

    async def login_page(request: Request) -> Response:
        return page(request, "login.html", next=_safe_next(request.query_params.get("next")))

    async def login(request: Request) -> Response:
        form = await request.form()
        try:
            config.access.sign_in(request, _text(form, "name"), _text(form, "token"), _text(form, "csrf"))
        except AccessDenied as denied:
            log.warning("console_sign_in_refused", name=_text(form, "name")[:80], reason=str(denied),
                        client=_client_address(request))
            if denied.status == 401:
                await asyncio.sleep(FAILED_SIGN_IN_DELAY_S)  # makes guessing the token slow
            return page(request, "login.html", status=denied.status, error=str(denied),
                        next=_safe_next(_text(form, "next")))
        log.info("console_sign_in", operator=request.session["operator"], client=_client_address(request))
        flush_logs()
        return RedirectResponse(_safe_next(_text(form, "next")), status_code=303)

    async def logout(request: Request) -> Response:
        form = await request.form()
        if _text(form, "csrf") == csrf_token(request):
            request.session.clear()
        return RedirectResponse("/", status_code=303)

    async def redis_unavailable(request: Request, exc: Exception) -> Response:
        log.warning("console_redis_unavailable", path=request.url.path, error=str(exc))
        return page(request, "unavailable.html", status=503, error=type(exc).__name__)

    async def healthz(_request: Request) -> Response:
        monitor: PipelineMonitor = state["monitor"]
        status = 503 if monitor.error else 200
        return JSONResponse({"redis": "unavailable" if monitor.error else "ok"}, status_code=status)

    # follow_symlink: an editable install links the package files from the source tree.
    static = StaticFiles(directory=str(resources.files("newswire.console").joinpath("static")), follow_symlink=True)
    routes = [
        Route("/", pipeline_page),
        Route("/api/pipeline", pipeline_json),
        Route("/events/pipeline", pipeline_events),
        Route("/articles", articles_page),
        Route("/articles/{article_id:path}", article_page),
        Route("/dead-letters", dead_letters_page),
        Route("/dead-letters/{partition:int}/{entry_id}", dead_letter_page),
        Route("/dead-letters/action", dead_letter_action, methods=["POST"]),
        Route("/login", login_page),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/healthz", healthz),
        Mount("/static", static, name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        # A fresh key per process: sessions end when the console restarts, which is what an operator expects.
        Middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32), session_cookie="newswire_console",
                   same_site="strict", https_only=False, max_age=12 * 3600),
    ]
    handlers = {redis.RedisError: redis_unavailable, ConnectionError: redis_unavailable}
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                     exception_handlers=handlers)


def _templates() -> jinja2.Environment:
    folder = resources.files("newswire.console").joinpath("templates")
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)), autoescape=True, undefined=jinja2.StrictUndefined
    )
    environment.filters["when"] = _when
    environment.filters["seconds"] = _seconds
    environment.filters["size"] = _size
    environment.filters["number"] = format_number
    environment.filters["query"] = lambda values: urlencode({k: v for k, v in values.items() if v})
    return environment


@dataclass(slots=True)
class Selection:
    """The dead letters an action applies to, as (partition, entry); `edited` when the operator fixed `data`."""

    entries: list[tuple[int, dlq.DeadLetterEntry]]
    edited: bool = False


def _not_replayable(keysets: list[StreamKeys], chosen: list[tuple[int, dlq.DeadLetterEntry]]) -> str | None:
    """Why some chosen entries cannot go back (their source stream is not a stage input of their partition)."""
    stray = [
        entry.id for partition, entry in chosen
        if entry.reason.get("source_stream") not in {keysets[partition].raw, keysets[partition].cleaned,
                                                     keysets[partition].enriched}
    ]
    if not stray:
        return None
    return (f"{len(stray)} of the chosen dead letters came from a stream that is not a stage input of this "
            f"pipeline, so there is nowhere to replay them: {', '.join(stray[:5])}{'…' if len(stray) > 5 else ''}.")


def _dead_letters(
    client: redis.Redis, keysets: list[StreamKeys], stage: str, error_type: str, limit: int
) -> list[tuple[int, dlq.DeadLetterEntry]]:
    rows: list[tuple[int, dlq.DeadLetterEntry]] = []
    for partition, keys in enumerate(keysets):
        found = dlq.list_entries(client, keys, limit=limit, stage=stage or None, error_type=error_type or None)
        rows.extend((partition, entry) for entry in found)
    rows.sort(key=lambda row: _id_key(row[1].id), reverse=True)
    return rows[:limit]


def _dlq_length(client: redis.Redis, keys: StreamKeys) -> int:
    return int(client.xlen(keys.dlq))


def _perform(
    client: redis.Redis, keysets: list[StreamKeys], action: str, chosen: list[tuple[int, dlq.DeadLetterEntry]]
) -> int:
    if action == "purge":
        return sum(dlq.purge(client, keys) for keys in keysets)
    count = 0
    for partition, keys in enumerate(keysets):
        # Oldest first, so replayed entries keep their original order on the stream.
        entries = sorted((e for p, e in chosen if p == partition), key=lambda e: _id_key(e.id))
        if not entries:
            continue
        if action == "replay":
            count += dlq.replay(client, keys, entries)
        else:
            count += int(client.xdel(keys.dlq, *[entry.id for entry in entries]))
    return count


def _record(request: Request, operator: str, action: str, selection: Selection, count: int, form: FormData) -> None:
    log.info(
        f"console_dead_letters_{_past(action).lower()}",
        operator=operator,
        client=_client_address(request),
        action=action,
        scope=_text(form, "scope") or "selected",
        filter_stage=_text(form, "stage") or None,
        filter_error_type=_text(form, "error_type") or None,
        ids=[entry.id for _, entry in selection.entries][:100],
        edited=selection.edited,
        count=count,
    )


def _hidden_fields(form: FormData) -> list[tuple[str, str]]:
    return [(name, str(value)) for name, value in form.multi_items() if name not in ("csrf", "confirmed")]


def _back_to_list(form: FormData) -> str:
    query = urlencode({k: _text(form, k) for k in ("stage", "error_type") if _text(form, k)})
    return "/dead-letters" + (f"?{query}" if query else "")


def _past(action: str) -> str:
    return {"replay": "Replayed", "delete": "Deleted", "purge": "Purged"}[action]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _safe_next(value: str | None) -> str:
    """Only paths of this site: a login link must not redirect elsewhere."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/dead-letters"


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _looks_like_stream_id(value: str) -> bool:
    milliseconds, _, sequence = value.partition("-")
    return milliseconds.isdigit() and sequence.isdigit() and len(value) < 42


def _id_key(stream_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = stream_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def _extra_fields(article: dict[str, Any]) -> list[tuple[str, str]]:
    """Small fields the article page has no dedicated place for, shown as a plain list."""
    shown = {"body", "paragraphs", "blocks", "entities", "quotes", "amounts", "topics", "title", "headline"}
    rows = []
    for name, value in article.items():
        if name in shown or value in (None, "", [], {}):
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append((name, text if len(text) <= 300 else text[:300] + "…"))
    return rows


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value or "")


def _size(value: Any) -> str:
    if not isinstance(value, int | float):
        return "-"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{int(value)} B"


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{value} s"
