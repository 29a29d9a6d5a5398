"""The ingest API as a FastAPI application: routes, authentication, limits and back-pressure, in request order.

A request is refused as early as it can be, and nothing of a refused request is written:
401 (key) -> 413/415/400 (body) -> 403 (source) -> 429 (high-water mark, then the key's rate) -> 202.
Redis being unreachable is a 503 at any step.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import redis.exceptions
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from newswire.ingest import metrics
from newswire.ingest.backlog import BacklogEstimate
from newswire.ingest.backlog import reader as backlog_reader
from newswire.ingest.keys import ApiKey, bucket_key, find_key
from newswire.ingest.problems import PROBLEM_MEDIA_TYPE, ArticleError, Problem, ProblemDocument
from newswire.ingest.publish import Outcome, RawPublisher, check_source, fingerprint, submission
from newswire.ingest.rate_limit import TokenBucket
from newswire.ingest.request_body import Limits, ParsedArticle, media_type, parse_batch, parse_single, read_body
from newswire.runtime.metrics import REGISTRY
from newswire.runtime.pressure import is_out_of_memory
from newswire.runtime.settings import Settings
from newswire.schemas import RawArticle

log = structlog.get_logger("newswire.ingest")

API_VERSION = "1.0.0"
# What a client is told to wait when Redis cannot be reached.
UNAVAILABLE_RETRY_S = 5.0
_MAX_IDEMPOTENCY_KEY = 255
_PARSE_IN_THREAD_BYTES = 256 * 1024
_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.BusyLoadingError,
               OSError)


class AcceptedArticle(BaseModel):
    """Where an accepted article was added."""

    model_config = ConfigDict(title="AcceptedArticle")

    id: str = Field(description="The raw entry's stream id, e.g. `1764530000000-0`.")
    stream: str = Field(description="The raw stream it was added to (its partition's, e.g. `{newswire}:raw`).")
    partition: int = Field(description="The partition (0 when NEWSWIRE_PARTITIONS is 1).")
    identity: str = Field(description="The article identity it was routed by: `url:<url without tracking "
                          "parameters>`, else `id:<id>`, else `hash:<sha256 of the content>`.")


class ArticleAccepted(AcceptedArticle):
    """202 for one article."""

    model_config = ConfigDict(title="ArticleAccepted")

    replayed: bool = Field(description="True when an earlier request with the same Idempotency-Key had added it; "
                           "nothing was added this time.")


class BatchAccepted(BaseModel):
    """202 for a batch: every article was added, in request order."""

    model_config = ConfigDict(title="BatchAccepted")

    accepted: int = Field(description="Number of articles added.")
    articles: list[AcceptedArticle] = Field(description="One per article, in request order.")
    replayed: bool = Field(description="True when an earlier request with the same Idempotency-Key had added them; "
                           "nothing was added this time.")


@dataclass
class IngestState:
    """What the routes share: settings, the Redis client and the scripts registered on it."""

    settings: Settings
    client: Any
    publisher: RawPublisher
    bucket: TokenBucket
    limits: Limits
    backlog: BacklogEstimate

    @classmethod
    def build(cls, settings: Settings, client: Any) -> IngestState:
        limits = Limits(settings.ingest_max_body_bytes, settings.max_article_bytes, settings.ingest_max_batch)
        return cls(settings, client, RawPublisher(client, settings), TokenBucket(client), limits,
                   BacklogEstimate(backlog_reader(client, settings)))


def _state(request: Request) -> IngestState:
    state: IngestState = request.app.state.ingest
    return state


async def _authenticate(request: Request, state: IngestState) -> ApiKey:
    scheme, _, presented = (request.headers.get("authorization") or "").partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="newswire"'}
    if scheme.lower() != "bearer" or not presented.strip():
        raise Problem(401, "missing-api-key", "API key required",
                      "send your API key as `Authorization: Bearer <key>` (`newswire ingest keys create` makes one)",
                      headers=challenge)
    key = await find_key(state.client, state.settings.keys, presented.strip())
    if key is None:
        raise Problem(401, "invalid-api-key", "Invalid API key", "the API key is unknown or was revoked",
                      headers={"WWW-Authenticate": 'Bearer realm="newswire", error="invalid_token"'})
    return key


async def _reserve_headroom(state: IngestState, cost: int) -> None:
    """429 above the high-water mark (memory, or the raw backlog with what this process is adding); else reserve."""
    headroom, backlog = await state.backlog.headroom()
    if not headroom.ok:
        raise Problem(429, "high-water-mark", "Pipeline full", headroom.reason, retry_after_s=headroom.retry_after_s)
    limit = state.settings.max_raw_backlog
    if limit and backlog + cost > limit:
        retry_after = state.backlog.retry_after_s(backlog + cost - limit)
        raise Problem(
            429, "high-water-mark", "Pipeline full",
            f"{backlog} raw articles are waiting for the cleaner; {cost} more would pass NEWSWIRE_MAX_RAW_BACKLOG "
            f"({limit}); retry in {retry_after:g} s",
            retry_after_s=retry_after,
        )
    state.backlog.reserve(cost)


async def _take_tokens(state: IngestState, key: ApiKey, cost: int) -> None:
    rate = state.settings.ingest_rate_limit if key.rate is None else key.rate
    burst = state.settings.ingest_rate_burst if key.burst is None else key.burst
    if rate <= 0:
        return
    if cost > burst:
        raise Problem(413, "batch-above-burst", "Batch above the key's burst",
                      f"the request holds {cost} articles, more than key {key.id}'s burst of {burst}; "
                      f"send at most {burst} per request")
    allowance = await state.bucket.take(bucket_key(state.settings.keys, key.id), rate=rate, burst=burst, cost=cost)
    if not allowance.allowed:
        raise Problem(429, "rate-limited", "Rate limit",
                      f"key {key.id} ({key.name}) may publish {rate:g} articles/s with bursts of {burst}; "
                      f"retry in {allowance.retry_after_s:.2f} s",
                      retry_after_s=allowance.retry_after_s)


def _idempotency_key(request: Request) -> str | None:
    value = request.headers.get("idempotency-key")
    if value is None:
        return None
    value = value.strip().strip('"')
    if not value or len(value) > _MAX_IDEMPOTENCY_KEY or not value.isprintable():
        raise Problem(400, "invalid-idempotency-key", "Invalid Idempotency-Key",
                      f"the Idempotency-Key header must be 1 to {_MAX_IDEMPOTENCY_KEY} printable characters "
                      "(a UUID is a good choice)")
    return value


async def _accept(request: Request, state: IngestState, route: str, batch: bool) -> tuple[ApiKey, Outcome]:
    key = await _authenticate(request, state)
    request.state.key = key
    idempotency_key = _idempotency_key(request)
    body = await read_body(request.stream(), request.headers, state.limits)
    traceparent = request.headers.get("traceparent")
    parse = parse_batch if batch else parse_single
    arguments = (body, media_type(request.headers), traceparent, state.limits)
    # Validating a large batch takes tens of milliseconds: in a thread, so small requests are not held up.
    parsed: list[ParsedArticle] = (
        await asyncio.to_thread(parse, *arguments) if len(body) > _PARSE_IN_THREAD_BYTES else parse(*arguments)
    )
    submissions = [submission(article, key) for article in parsed]
    check_source(submissions, key, batch)
    await _reserve_headroom(state, len(submissions))
    written = False
    try:
        await _take_tokens(state, key, len(submissions))
        outcome = await state.publisher.publish(
            submissions,
            key,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint(route, body),
        )
        written = not outcome.replayed
    finally:
        state.backlog.release(len(submissions), written=written)
    if written:
        metrics.ARTICLES_ACCEPTED.labels(key=key.name).inc(len(submissions))
    return key, outcome


async def _handle(request: Request, route: str, batch: bool) -> Response:
    started = time.perf_counter()
    state = _state(request)
    try:
        _key, outcome = await _accept(request, state, route, batch)
        response: Response = JSONResponse(_accepted(outcome, batch), status_code=202,
                                          headers={"Idempotent-Replayed": "true"} if outcome.replayed else None)
    except Problem as problem:
        response = _problem_response(request, problem)
    except redis.exceptions.ResponseError as exc:
        if not is_out_of_memory(exc):
            raise
        response = _problem_response(request, Problem(
            429, "redis-out-of-memory", "Pipeline full",
            "Redis refused the write: its memory is full (maxmemory); retry later",
            retry_after_s=UNAVAILABLE_RETRY_S))
    except ClientDisconnect:
        response = _problem_response(request, Problem(400, "client-disconnected", "Client disconnected",
                                                      "the client closed the connection before the body was read"))
    except _REDIS_DOWN as exc:
        log.warning("ingest_redis_unavailable", error=f"{type(exc).__name__}: {exc}")
        response = _problem_response(request, Problem(
            503, "redis-unavailable", "Redis unavailable",
            "the article store cannot be reached; retry later with the same Idempotency-Key (nothing is then "
            "added twice, also if part of a batch was written before the connection failed)",
            retry_after_s=UNAVAILABLE_RETRY_S))
    _record(request, route, response, started)
    return response


def _accepted(outcome: Outcome, batch: bool) -> dict[str, Any]:
    articles = [AcceptedArticle(id=e.id, stream=e.stream, partition=e.partition, identity=e.identity)
                for e in outcome.entries]
    if batch:
        return BatchAccepted(accepted=len(articles), articles=articles, replayed=outcome.replayed).model_dump()
    return ArticleAccepted(**articles[0].model_dump(), replayed=outcome.replayed).model_dump()


def _problem_response(request: Request, problem: Problem) -> Response:
    request.state.problem = problem
    return JSONResponse(problem.document(request.url.path), status_code=problem.status, headers=problem.headers,
                        media_type=PROBLEM_MEDIA_TYPE)


def _record(request: Request, route: str, response: Response, started: float) -> None:
    key: ApiKey | None = getattr(request.state, "key", None)
    name = key.name if key is not None else metrics.ANONYMOUS
    problem: Problem | None = getattr(request.state, "problem", None)
    elapsed = time.perf_counter() - started
    metrics.REQUESTS.labels(key=name, route=route, status=str(response.status_code)).inc()
    metrics.REQUEST_SECONDS.labels(route=route).observe(elapsed)
    if problem is not None:
        for error in problem.errors:
            metrics.ARTICLES_REFUSED.labels(key=name, error_type=error.error_type).inc()
        if problem.status == 429:
            reason = {"rate-limited": "rate_limit", "high-water-mark": "high_water"}.get(problem.slug, "out_of_memory")
            metrics.THROTTLED.labels(key=name, reason=reason).inc()
    log.info(
        "ingest_request",
        route=route,
        status=response.status_code,
        key=key.id if key is not None else None,
        scraper=name,
        duration_ms=round(elapsed * 1000, 2),
        **({"problem": problem.slug} if problem is not None else {}),
    )


_PROBLEM_RESPONSE = {"description": "An RFC 9457 problem document.",
                     "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {**_PROBLEM_RESPONSE, "description": description}
    for status, description in {
        400: "Invalid article(s) or body; `errors` names each article and field. Nothing was written.",
        401: "Missing, unknown or revoked API key.",
        403: "The key is bound to another `source`.",
        413: "Body, article or batch too large (see the settings), or a batch above the key's burst.",
        415: "Unsupported Content-Type or Content-Encoding.",
        422: "The Idempotency-Key was used before for a different body.",
        429: "Slow down: the key's rate limit or the pipeline's high-water mark. See Retry-After.",
        503: "Redis cannot be reached. See Retry-After.",
    }.items()
}
_HEADERS_DOC = [
    {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255},
     "description": "Makes a retry safe: a request with a key already used (by this API key, within "
                    "NEWSWIRE_INGEST_IDEMPOTENCY_TTL_S) adds nothing and gets the first answer."},
    {"name": "traceparent", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "W3C trace context, carried to the raw entries and on to the published events."},
    {"name": "Content-Encoding", "in": "header", "required": False, "schema": {"enum": ["gzip", "identity"]},
     "description": "`gzip` for a compressed body."},
]
_RAW_REF = {"$ref": "#/components/schemas/RawArticle"}


def create_app(settings: Settings, state: IngestState | None = None) -> FastAPI:
    """The ASGI application; `state` is None only when generating the OpenAPI document."""
    app = FastAPI(
        title="newswire ingest API",
        version=API_VERSION,
        description="Publish raw articles into newswire over HTTP with an API key. Articles are validated as the "
        "cleaner validates raw entries; accepted ones are added to the raw stream and carried through the "
        "pipeline like any other.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.ingest = state

    @app.post(
        "/v1/articles",
        status_code=202,
        response_model=ArticleAccepted,
        responses=_COMMON_ERRORS,
        summary="Publish one article",
        operation_id="publishArticle",
        openapi_extra={
            "parameters": _HEADERS_DOC,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _RAW_REF}}},
        },
    )
    async def publish_article(request: Request) -> Response:
        """One raw article (the JSON of `schemas/raw-article.json`)."""
        return await _handle(request, "article", batch=False)

    @app.post(
        "/v1/articles:batch",
        status_code=202,
        response_model=BatchAccepted,
        responses=_COMMON_ERRORS,
        summary="Publish a batch of articles",
        operation_id="publishBatch",
        openapi_extra={
            "parameters": _HEADERS_DOC,
            "requestBody": {"required": True, "content": {
                "application/json": {
                    "schema": {"type": "array", "items": _RAW_REF, "maxItems": settings.ingest_max_batch}
                },
                "application/x-ndjson": {"schema": {"type": "string", "description": "One article object per line."}},
            }},
        },
    )
    async def publish_batch(request: Request) -> Response:
        """Up to NEWSWIRE_INGEST_MAX_BATCH (500) articles, all or none: one invalid article refuses the batch."""
        return await _handle(request, "batch", batch=True)

    @app.get("/healthz", response_class=PlainTextResponse, summary="Liveness")
    async def healthz() -> str:
        """200 while the server's event loop answers."""
        return "ok\n"

    @app.get("/readyz", response_class=PlainTextResponse, summary="Readiness",
             responses={503: {"description": "Redis cannot be reached.", "content": {"text/plain": {}}}})
    async def readyz(request: Request) -> Response:
        """200 when Redis answers, 503 with the reason otherwise."""
        try:
            await _state(request).client.ping()
        except _REDIS_DOWN as exc:
            return PlainTextResponse(f"redis unreachable: {type(exc).__name__}\n", status_code=503)
        return PlainTextResponse("ready\n")

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, exc: StarletteHTTPException) -> Response:
        return _problem_response(request, Problem(exc.status_code, "http-error", str(exc.detail), str(exc.detail),
                                                  headers=dict(exc.headers or {})))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("ingest_request_failed", path=request.url.path, exc_info=exc)
        return _problem_response(request, Problem(500, "internal-error", "Internal error",
                                                  "the request failed on the server; retry it with the same "
                                                  "Idempotency-Key (nothing is then added twice)"))

    @app.exception_handler(RequestValidationError)
    async def validation_problem(request: Request, exc: RequestValidationError) -> Response:
        errors = [ArticleError(pointer="#", error_type="invalid_request", detail=str(error.get("msg")))
                  for error in exc.errors()]
        return _problem_response(request, Problem(400, "invalid-request", "Invalid request",
                                                  errors[0].detail if errors else "invalid request", errors=errors))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in (RawArticle, ProblemDocument):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[schema["title"]] = schema
            components = document["components"]
            components["securitySchemes"] = {"apiKey": {"type": "http", "scheme": "bearer",
                                                        "description": "`newswire ingest keys create NAME`"}}
            for path in ("/v1/articles", "/v1/articles:batch"):
                document["paths"][path]["post"]["security"] = [{"apiKey": []}]
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
