"""Reading a raw stream entry into a RawArticle, refusing bad input with a reason a scraper author understands.

Two entry formats are accepted: the language-neutral one (a field `data` holding a JSON object,
see the README's "Publishing articles") and FastStream's own (`__data__`), so Python scrapers may publish with
FastStream's `broker.publish(..., stream=...)`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from faststream.redis.parser.binary import BinaryMessageFormatV1
from pydantic import ValidationError

from newswire.errors import ArticleRefused
from newswire.schemas import RawArticle

# Deeper than this is not an article; it is someone testing the parser.
MAX_JSON_DEPTH = 32
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


@dataclass(frozen=True, slots=True)
class RawEntry:
    """A raw article and the trace context that came with it."""

    article: RawArticle
    traceparent: str | None


def read_raw_entry(fields: dict[bytes, bytes], *, max_bytes: int) -> RawEntry:
    """Decode and validate a raw entry; raise ArticleRefused with one clear sentence when it is not an article."""
    size = sum(len(name) + len(value) for name, value in fields.items())
    if size > max_bytes:
        raise ArticleRefused(
            "too_large",
            f"the entry is {_megabytes(size)}, more than the {_megabytes(max_bytes)} limit "
            "(NEWSWIRE_MAX_ARTICLE_BYTES); send the article page only, without embedded media",
        )
    traceparent = fields.get(b"traceparent")
    payload = fields.get(b"data")
    if payload is None and b"__data__" in fields:
        payload, headers = BinaryMessageFormatV1.parse(fields[b"__data__"])
        traceparent = traceparent or _header_bytes(headers.get("traceparent"))
    if payload is None:
        names = ", ".join(sorted(name.decode("utf-8", "replace") for name in fields)) or "none"
        raise ArticleRefused(
            "missing_data_field",
            f"the entry has no `data` field (fields: {names}); put the article JSON in a field named `data`",
        )
    document = _parse_json(payload)
    try:
        article = RawArticle.model_validate(document)
    except ValidationError as exc:
        raise ArticleRefused(*_explain(exc)) from None
    return RawEntry(article, _valid_traceparent(traceparent))


def _parse_json(payload: bytes) -> dict[str, Any]:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleRefused(
            "not_utf8",
            f"the `data` field is not valid UTF-8 (byte {exc.start} is {payload[exc.start]:#04x}); "
            "encode the JSON as UTF-8",
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArticleRefused(
            "invalid_json", f"the `data` field is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ArticleRefused(
            "too_deeply_nested", f"the `data` JSON is nested more than {MAX_JSON_DEPTH} levels deep"
        ) from None
    if not isinstance(document, dict):
        raise ArticleRefused(
            "not_an_object",
            f"the `data` field holds a JSON {_json_kind(document)}, not an object like "
            '{"url": "...", "html": "..."}',
        )
    if _depth(document) > MAX_JSON_DEPTH:
        raise ArticleRefused(
            "too_deeply_nested", f"the `data` JSON is nested more than {MAX_JSON_DEPTH} levels deep"
        )
    for name in ("text", "html", "title"):
        value = document.get(name)
        if isinstance(value, str) and _has_lone_surrogate(value):
            raise ArticleRefused(
                "invalid_unicode",
                f"`{name}` contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff); it is not text",
            )
    return document


def _has_lone_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _depth(value: Any, level: int = 1) -> int:
    """Nesting depth, stopping early once past the limit."""
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(item, level + 1) for item in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(item, level + 1) for item in value), default=level)
    return level


def _explain(exc: ValidationError) -> tuple[str, str]:
    """Turn pydantic's first error into (error_type, one sentence)."""
    error = exc.errors(include_url=False)[0]
    location = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return (
            "unknown_field",
            f"`{location}` is not an article field; put extra information under `metadata`",
        )
    if kind == "value_error":
        message = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        return "missing_content", message
    if kind == "string_too_long":
        return "wrong_type", f"`{location}` is too long: {error['msg'].lower()}"
    expected = error["msg"].removeprefix("Input should be ").lower()
    return "wrong_type", f"`{location}` should be {expected}, not {_json_kind(error.get('input'))}"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _header_bytes(value: Any) -> bytes | None:
    if isinstance(value, str):
        return value.encode()
    return value if isinstance(value, bytes) else None


def _valid_traceparent(value: bytes | None) -> str | None:
    """W3C says an invalid traceparent is ignored, not an error."""
    if value is None:
        return None
    text = value.decode("ascii", "replace").strip().lower()
    return text if _TRACEPARENT.match(text) else None


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"
