"""Reading articles to publish from files, directories and standard input."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIXES = (".json", ".jsonl", ".ndjson", ".html", ".htm", ".txt")


class SourceError(Exception):
    """A file could not be read as articles; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class PendingArticle:
    """One article to publish, with where it came from for error messages."""

    origin: str
    document: dict[str, Any]


def expand_paths(paths: list[str]) -> list[str]:
    """Files as given, directories walked for the known suffixes (sorted), `-` kept for stdin."""
    expanded: list[str] = []
    for raw in paths:
        if raw == "-":
            expanded.append(raw)
            continue
        path = Path(raw)
        if path.is_dir():
            expanded += [str(p) for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUFFIXES]
        elif path.is_file():
            expanded.append(raw)
        else:
            raise SourceError(f"{raw}: no such file or directory")
    return expanded


def read_articles(path: str) -> Iterator[PendingArticle]:
    """Articles in one file: a JSON object or array, JSON lines, an HTML page, or plain text."""
    if path == "-":
        yield from _read_text_stream("<stdin>", sys.stdin.read())
        return
    file = Path(path)
    suffix = file.suffix.lower()
    try:
        content = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if suffix in (".html", ".htm"):
        yield PendingArticle(path, {"html": content})
    elif suffix == ".txt":
        yield PendingArticle(path, {"text": content})
    elif suffix in (".jsonl", ".ndjson"):
        yield from _read_json_lines(path, content)
    elif suffix == ".json":
        yield from _read_json_document(path, content)
    else:
        raise SourceError(f"{path}: unknown file type; use .json, .jsonl, .html, .txt")


def _read_text_stream(origin: str, content: str) -> Iterator[PendingArticle]:
    """Standard input: JSON (object, array or lines) when it starts like JSON, else one text article."""
    stripped = content.lstrip()
    if stripped.startswith("["):
        yield from _read_json_document(origin, content)
    elif stripped.startswith("{"):
        try:
            document = json.loads(content)
        except json.JSONDecodeError:
            yield from _read_json_lines(origin, content)
        else:
            yield from _documents(origin, document)
    elif stripped.startswith("<"):
        yield PendingArticle(origin, {"html": content})
    elif stripped:
        yield PendingArticle(origin, {"text": content})


def _read_json_document(origin: str, content: str) -> Iterator[PendingArticle]:
    try:
        document = json.loads(content)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{origin}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    yield from _documents(origin, document)


def _read_json_lines(origin: str, content: str) -> Iterator[PendingArticle]:
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{origin}:{number}: not valid JSON: {exc.msg}") from None
        yield from _documents(f"{origin}:{number}", document)


def _documents(origin: str, document: Any) -> Iterator[PendingArticle]:
    if isinstance(document, dict):
        yield PendingArticle(origin, document)
    elif isinstance(document, list):
        for index, item in enumerate(document):
            if not isinstance(item, dict):
                raise SourceError(f"{origin}[{index}]: expected a JSON object, got {type(item).__name__}")
            yield PendingArticle(f"{origin}[{index}]", item)
    else:
        raise SourceError(f"{origin}: expected a JSON object or an array of objects")
