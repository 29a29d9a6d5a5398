"""Envelopes at the edges: the published CloudEvent and the dead letter."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from newswire.schemas.published import CONTRACT_MAJOR_VERSION, PublishedArticle

EVENT_TYPE = "org.newswire.article.published"
EVENT_SPECVERSION = "1.0"
# Where the data's JSON Schema lives below NEWSWIRE_SCHEMA_BASE_URL: the repository's `schemas/` folder has
# the same layout, so serving that folder at the base URL makes every `dataschema` resolve.
PUBLISHED_ARTICLE_SCHEMA_PATH = f"v{CONTRACT_MAJOR_VERSION}/published-article.json"


def dataschema_uri(base_url: str) -> str:
    """The `dataschema` of published events: the contract's major version is part of the URI."""
    return f"{base_url.rstrip('/')}/{PUBLISHED_ARTICLE_SCHEMA_PATH}"


class PublishedEvent(BaseModel):
    """One entry of the published stream: CloudEvents 1.0 attributes as entry fields, `data` as JSON.

    CloudEvents has no Redis binding; this mirrors its Kafka binding (binary mode), where each
    attribute is one field of the entry and `data` carries the article.
    """

    model_config = ConfigDict(extra="ignore", title="PublishedEvent")

    specversion: str = Field(default=EVENT_SPECVERSION, description="CloudEvents version, always `1.0`.")
    id: str = Field(
        description="Event id, `<article_id>/r<revision>`: the same article revision always has the same id, "
        "so a subscriber can deduplicate on it."
    )
    source: str = Field(description="URI reference of the origin: the canonical URL, else `newswire:<source>`.")
    type: str = Field(default=EVENT_TYPE, description=f"Event type, `{EVENT_TYPE}`.")
    time: datetime = Field(description="When the event was published (RFC 3339).")
    subject: str = Field(description="The article id.")
    datacontenttype: str = Field(default="application/json", description="Media type of `data`.")
    dataschema: str = Field(
        description="URI of the JSON Schema of `data`, `<NEWSWIRE_SCHEMA_BASE_URL>/v1/published-article.json`: "
        "the path carries the contract's major version."
    )
    traceparent: str | None = Field(
        default=None,
        description="W3C trace context, present when the scraper sent one (distributed tracing extension).",
    )
    data: PublishedArticle = Field(description="The article (contract v1).")


class DeadLetter(BaseModel):
    """What newswire adds to a refused entry in the dead-letter stream (beside its original fields)."""

    model_config = ConfigDict(extra="forbid", title="DeadLetter")

    stage: str = Field(description="The stage that refused the entry: `cleaner`, `enricher` or `publisher`.")
    error_type: str = Field(
        description="Machine-readable reason, e.g. `invalid_json`, `missing_content`, `too_large`, `max_deliveries`."
    )
    error: str = Field(description="One sentence a scraper author understands.")
    attempts: int = Field(ge=1, description="How many times the entry was delivered before it was refused.")
    source_stream: str = Field(description="The stream the entry was read from.")
    source_id: str = Field(description="The entry's id in `source_stream`.")
    failed_at: datetime = Field(description="When it was refused (UTC).")
    original: dict[str, str] = Field(
        default_factory=dict,
        description="The original entry's fields, unchanged. On the wire they are the entry's own fields, "
        "beside the fields above; this member exists only in the JSON Schema.",
    )
