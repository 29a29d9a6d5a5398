"""Request bodies into raw articles: size limits, gzip, media types, and the cleaner's own validation.

Every article goes through `newswire.cleaner.intake.read_raw_entry`, the function the cleaner reads
raw entries with, so a scraper gets over HTTP exactly the refusal the dead-letter stream would have
recorded, before anything is written.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from newswire.cleaner.intake import RawEntry, read_raw_entry
from newswire.errors import ArticleRefused
from newswire.ingest.problems import ArticleError, Problem

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonl",
                          "application/jsonlines", "application/x-jsonlines"})
_FIELD_IN_REASON = re.compile(r"^`([^`]+)`")


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    """A valid article and its JSON as it will be written (the bytes the intake validated)."""

    entry: RawEntry
    payload: bytes


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request may hold."""

    max_body_bytes: int
    max_article_bytes: int
    max_batch: int


async def read_body(chunks: AsyncIterator[bytes], headers: Any, limits: Limits) -> bytes:
    """The request body, decompressed; 413 past the limit (checked while reading, and after gunzip)."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise _too_large(int(declared), limits.max_body_bytes)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise _too_large(size, limits.max_body_bytes)
        parts.append(chunk)
    body = b"".join(parts)
    encoding = (headers.get("content-encoding") or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding in ("gzip", "x-gzip"):
        return gunzip(body, limits.max_body_bytes)
    raise Problem(
        415, "unsupported-content-encoding", "Unsupported Content-Encoding",
        f"Content-Encoding {encoding!r} is not supported; send the body as is or gzip-compressed "
        "(Content-Encoding: gzip)",
        headers={"Accept-Encoding": "gzip"},
    )


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress a gzip body (all members), refusing one that inflates past `limit` without inflating it."""
    out: list[bytes] = []
    size = 0
    data = body
    try:
        while data:
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = decompressor.decompress(data, limit + 1 - size)
            size += len(chunk)
            if size > limit or decompressor.unconsumed_tail:
                raise _too_large(size, limit, compressed=True)
            if not decompressor.eof:
                raise Problem(400, "invalid-gzip", "Invalid gzip body", "the gzip body is truncated")
            out.append(chunk)
            data = decompressor.unused_data
    except zlib.error as exc:
        raise Problem(400, "invalid-gzip", "Invalid gzip body",
                      f"the body is not valid gzip ({exc}); compress it with gzip or drop Content-Encoding") from None
    return b"".join(out)


def media_type(headers: Any) -> str:
    return str(headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def parse_single(body: bytes, content_type: str, traceparent: str | None, limits: Limits) -> list[ParsedArticle]:
    """One article: a JSON object."""
    if content_type not in JSON_TYPES and not content_type.endswith("+json"):
        raise _unsupported_media_type(content_type, "application/json")
    return _validate([(body, None, None)], traceparent, limits)


def parse_batch(body: bytes, content_type: str, traceparent: str | None, limits: Limits) -> list[ParsedArticle]:
    """Up to `max_batch` articles: a JSON array, or NDJSON (one object per line)."""
    if content_type in NDJSON_TYPES:
        items = _ndjson_items(body)
    elif content_type in JSON_TYPES or content_type.endswith("+json"):
        items = _array_items(body)
    else:
        raise _unsupported_media_type(content_type, "application/json (an array) or application/x-ndjson")
    if not items:
        raise Problem(400, "empty-batch", "Empty batch", "the batch holds no articles; send 1 to "
                      f"{limits.max_batch}")
    if len(items) > limits.max_batch:
        raise Problem(
            413, "batch-too-large", "Batch too large",
            f"the batch holds {len(items)} articles, more than {limits.max_batch} "
            "(NEWSWIRE_INGEST_MAX_BATCH); split it",
        )
    return _validate(items, traceparent, limits)


def _ndjson_items(body: bytes) -> list[tuple[bytes, int | None, int | None]]:
    items: list[tuple[bytes, int | None, int | None]] = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        line = line.strip()
        if line:
            items.append((line, len(items), number))
    return items


def _array_items(body: bytes) -> list[tuple[bytes, int | None, int | None]]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        # The standard parser for what is wrong: its messages, and it reads lone surrogate escapes (which the
        # intake then refuses per article, as it would from Redis).
        document = _strict_loads(body)
    if not isinstance(document, list):
        raise _invalid_body(
            "not_an_array",
            "a batch is a JSON array of article objects (or NDJSON with Content-Type: application/x-ndjson); "
            "post a single article to /v1/articles",
        )
    return [(_compact(item), index, None) for index, item in enumerate(document)]


def _strict_loads(body: bytes) -> Any:
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise _invalid_body("not_utf8", f"the body is not valid UTF-8 (byte {exc.start}); encode the JSON as "
                            "UTF-8") from None
    except json.JSONDecodeError as exc:
        raise _invalid_body("invalid_json", f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column "
                            f"{exc.colno}") from None
    except RecursionError:
        raise _invalid_body("too_deeply_nested", "the body is nested too deeply to be a batch of articles") from None


def _compact(item: Any) -> bytes:
    """One array element as JSON bytes, for the intake (and, once valid, for the raw entry)."""
    try:
        return orjson.dumps(item)
    except TypeError:
        # A lone surrogate escape cannot be UTF-8: keep it escaped, so the intake refuses it as it would from Redis.
        return json.dumps(item, ensure_ascii=True).encode()


def _validate(
    items: list[tuple[bytes, int | None, int | None]], traceparent: str | None, limits: Limits
) -> list[ParsedArticle]:
    entries: list[ParsedArticle] = []
    errors: list[ArticleError] = []
    base_fields = {b"traceparent": traceparent.encode()} if traceparent else {}
    for payload, index, line in items:
        try:
            entry = read_raw_entry({b"data": payload, **base_fields}, max_bytes=limits.max_article_bytes)
            entries.append(ParsedArticle(entry, payload))
        except ArticleRefused as refused:
            errors.append(_article_error(refused, index, line))
    if not errors:
        return entries
    too_large = all(error.error_type == "too_large" for error in errors)
    count = f"{len(errors)} of {len(items)} articles are" if items[0][1] is not None else "the article is"
    raise Problem(
        413 if too_large else 400,
        "article-too-large" if too_large else "invalid-article",
        "Article too large" if too_large else "Invalid article",
        f"{count} not valid; nothing was written. First: {errors[0].detail}",
        errors=errors,
    )


def _article_error(refused: ArticleRefused, index: int | None, line: int | None) -> ArticleError:
    match = _FIELD_IN_REASON.match(refused.reason)
    field = match.group(1) if match else None
    pointer = "#" + ("" if index is None else f"/{index}") + ("" if field is None else "/" + field.replace(".", "/"))
    return ArticleError(index=index, line=line, field=field, pointer=pointer, error_type=refused.error_type,
                        detail=refused.reason)


def _too_large(size: int, limit: int, *, compressed: bool = False) -> Problem:
    what = "decompressed body" if compressed else "body"
    return Problem(
        413, "body-too-large", "Body too large",
        f"the {what} is larger than {limit} bytes (NEWSWIRE_INGEST_MAX_BODY_BYTES); send fewer articles per request",
    )


def _unsupported_media_type(content_type: str, expected: str) -> Problem:
    shown = content_type or "none"
    return Problem(415, "unsupported-media-type", "Unsupported media type",
                   f"Content-Type {shown} is not accepted here; send {expected}")


def _invalid_body(error_type: str, detail: str) -> Problem:
    return Problem(400, "invalid-body", "Invalid request body", detail,
                   errors=[ArticleError(pointer="#", error_type=error_type, detail=detail)])
