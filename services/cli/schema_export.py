"""JSON Schema files and the AsyncAPI document, generated from the models in `schemas/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faststream.redis import RedisBroker, StreamSub
from faststream.specification import AsyncAPI
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from newswire.runtime.settings import StreamKeys
from newswire.schemas import CleanedArticle, DeadLetter, EnrichedArticle, PublishedArticle, PublishedEvent, RawArticle
from newswire.schemas import published as published_models
from newswire.schemas.events import PUBLISHED_ARTICLE_SCHEMA_PATH
from newswire.schemas.published import CONTRACT_MAJOR_VERSION, OmittedWhenUnknown

# File (relative to `schemas/`) -> model. The subscriber contract lives under its major version, the same
# path as in the events' `dataschema`.
SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "raw-article.json": RawArticle,
    "cleaned-article.json": CleanedArticle,
    "enriched-article.json": EnrichedArticle,
    PUBLISHED_ARTICLE_SCHEMA_PATH: PublishedArticle,
    f"v{CONTRACT_MAJOR_VERSION}/published-event.json": PublishedEvent,
    "dead-letter.json": DeadLetter,
}
# The published models leave unknown values out of the JSON instead of sending `null`.
_GENERATORS: dict[type[BaseModel], type[GenerateJsonSchema]] = {
    PublishedArticle: OmittedWhenUnknown,
    PublishedEvent: OmittedWhenUnknown,
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
    _use_published_schemas(document["components"]["schemas"])
    return document


def _use_published_schemas(components: dict[str, Any]) -> None:
    """Give the AsyncAPI document the same schemas of the published models as the JSON Schema files."""
    event = PublishedEvent.model_json_schema(
        schema_generator=OmittedWhenUnknown, ref_template="#/components/schemas/{model}"
    )
    definitions = event.pop("$defs")
    published_only = {name for name, model in vars(published_models).items() if _is_published_model(model)}
    components["PublishedEvent"] = event
    for name, schema in definitions.items():
        if name in published_only:
            components[name] = schema


def _is_published_model(value: object) -> bool:
    return (
        isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == published_models.__name__
    )


def _declaration(model: type[BaseModel]) -> Any:
    async def declared(message: Any) -> None:
        """Documentation only."""

    # Set at run time: FastStream reads the payload schema from the annotation.
    declared.__annotations__ = {"message": model, "return": None}
    return declared


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name -> document, for every file `schema export` writes."""
    documents = {
        name: model.model_json_schema(schema_generator=_GENERATORS.get(model, GenerateJsonSchema))
        for name, model in SCHEMA_FILES.items()
    }
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
        path.parent.mkdir(parents=True, exist_ok=True)
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


def published_field_table() -> str:
    """The README's table of the published article's fields, generated from the v1 model."""
    schema = PublishedArticle.model_json_schema(schema_generator=OmittedWhenUnknown)
    definitions = schema.get("$defs", {})
    rows = ["| field | type | present | meaning |", "|---|---|---|---|"]
    rows.extend(_field_rows(schema, definitions, prefix=""))
    return "\n".join(rows) + "\n"


def _field_rows(schema: dict[str, Any], definitions: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        present = "always" if name in required or "default" in prop else "when known"
        description = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
        rows.append(f"| `{path}` | {_type_name(prop, definitions)} | {present} | {description} |")
        nested = _nested_object(prop, definitions)
        if nested is not None:
            child = f"{path}[]." if prop.get("type") == "array" else f"{path}."
            rows.extend(_field_rows(nested, definitions, child))
    return rows


def _resolve(prop: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref")
    resolved: dict[str, Any] = definitions[ref.rsplit("/", 1)[-1]] if ref else prop
    return resolved


def _nested_object(prop: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any] | None:
    target = _resolve(prop.get("items", {}) if prop.get("type") == "array" else prop, definitions)
    return target if target.get("type") == "object" and "properties" in target else None


def _type_name(prop: dict[str, Any], definitions: dict[str, Any]) -> str:
    if prop.get("type") == "array":
        return "list of " + _type_name(prop.get("items", {}), definitions)
    target = _resolve(prop, definitions)
    if "enum" in target:
        return " or ".join(f"`{value}`" for value in target["enum"])
    if "const" in target:
        return f"`{target['const']}`"
    kind = target.get("type")
    if kind == "string" and target.get("format") == "date-time":
        return "date-time"
    if kind == "object":
        return "object" if "properties" in target else "object (any)"
    return str(kind or "any")
