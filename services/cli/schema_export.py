"""JSON Schema files and the AsyncAPI document, generated from the models in `schemas/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faststream.redis import RedisBroker, StreamSub
from faststream.specification import AsyncAPI
from pydantic import BaseModel

from newswire.runtime.settings import StreamKeys
from newswire.schemas import CleanedArticle, DeadLetter, EnrichedArticle, PublishedArticle, PublishedEvent, RawArticle

SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "raw-article.json": RawArticle,
    "cleaned-article.json": CleanedArticle,
    "enriched-article.json": EnrichedArticle,
    "published-article.json": PublishedArticle,
    "published-event.json": PublishedEvent,
    "dead-letter.json": DeadLetter,
}
ASYNCAPI_FILE = "asyncapi.json"
VERSION = "0.1.0"


def _asyncapi(prefix: str = "newswire") -> dict[str, Any]:
    """Describe the streams with FastStream's AsyncAPI generator.

    The handlers below are declarations for the document only: they are never subscribed;
    delivery runs through newswire.runtime.delivery.StageWorker.
    """
    keys = StreamKeys(prefix)
    broker = RedisBroker(
        "redis://localhost:6379",
        description="newswire streams. Each stage reads its input with a consumer group and adds to its output.",
    )
    stages = (
        ("cleaner", keys.raw, RawArticle, keys.cleaned, CleanedArticle),
        ("enricher", keys.cleaned, CleanedArticle, keys.enriched, EnrichedArticle),
        ("publisher", keys.enriched, EnrichedArticle, keys.published, PublishedEvent),
    )
    for group, source, source_model, target, target_model in stages:
        publisher = broker.publisher(
            stream=target, title=f"{group}-output", description=target_model.__doc__, schema=target_model
        )
        subscriber = broker.subscriber(
            stream=StreamSub(source, group=group, consumer=f"{group}-<host>-<pid>"),
            title=f"{group}-input",
            description=f"Read by the `{group}` group. {source_model.__doc__}",
        )
        subscriber(publisher(_declaration(source_model)))
    broker.publisher(
        stream=keys.dlq,
        title="dead-letters",
        description="Refused entries: the original fields plus the fields of DeadLetter.",
        schema=DeadLetter,
    )
    spec = AsyncAPI(broker, title="newswire", version=VERSION, schema_version="3.0.0")
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    return document


def _declaration(model: type[BaseModel]) -> Any:
    async def declared(message: Any) -> None:
        """Documentation only."""

    # Set at run time: FastStream reads the payload schema from the annotation.
    declared.__annotations__ = {"message": model, "return": None}
    return declared


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name -> document, for every file `schema export` writes."""
    documents = {name: model.model_json_schema() for name, model in SCHEMA_FILES.items()}
    documents[ASYNCAPI_FILE] = _asyncapi()
    return documents


def render(document: dict[str, Any]) -> str:
    # Sorted: FastStream does not keep channel order stable between runs.
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def export(directory: Path) -> list[Path]:
    """Write every schema file into `directory`; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in schema_documents().items():
        path = directory / name
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written


def stale_files(directory: Path) -> list[str]:
    """Names of the schema files in `directory` that differ from what the models generate."""
    stale = []
    for name, document in schema_documents().items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != render(document):
            stale.append(name)
    return stale
