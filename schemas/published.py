"""The published article, contract v1: what subscribers receive as the `data` of a published event.

Designed for readers rather than grown from the internal models: one field per fact, names a
newsroom developer knows, and no field that is always empty. A value that is not known is left
out of the JSON (never `null`); lists are always present, empty when there is nothing to list.
Internal bookkeeping (content hash, detector details, topic cues, trace context) stays on the
internal streams.

Compatibility: within v1 fields are only added, never renamed, retyped or removed, so ignore the
fields you do not know. A breaking change is a new major version with its own CloudEvents `type`
and `dataschema` (`.../v2/published-article.json`), published beside v1 for a transition period.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from newswire.schemas.articles import Amount, ArticleImage, EntityType, LanguageGuess, Mention, Quote

CONTRACT_MAJOR_VERSION = 1


class _V1(BaseModel):
    # Readers ignore fields they do not know: v1 grows by adding fields.
    model_config = ConfigDict(extra="ignore")


class Source(_V1):
    """The publication the article comes from."""

    name: str | None = Field(
        default=None, description="Publication name as it presents itself, e.g. `العربي الجديد` or `BBC News`."
    )
    domain: str | None = Field(
        default=None, description="Registered domain of the article's address, e.g. `alaraby.co.uk`."
    )
    label: str | None = Field(
        default=None,
        description="The scraper's own name for the source, as it sent it, when that differs from `name` and "
        "`domain`.",
    )


class Block(_V1):
    """One block of the body: a paragraph or a subheading kept in place."""

    kind: Literal["paragraph", "heading"] = Field(description="`heading` for a subheading, else `paragraph`.")
    start: int = Field(ge=0, description="Start character offset in `body`.")
    end: int = Field(ge=0, description="End character offset (exclusive) in `body`.")


class ArticleTopic(_V1):
    """An IPTC Media Topic the article is about."""

    qcode: str = Field(
        description="IPTC Media Topic qcode, e.g. `medtop:11000000`; the concept's URI is "
        "`http://cv.iptc.org/newscodes/mediatopic/` followed by the digits."
    )
    label: str = Field(description="English label from the IPTC taxonomy.")
    label_local: str | None = Field(
        default=None, description="Label in the article's language, where IPTC publishes one."
    )
    level: int = Field(ge=1, description="Depth in the taxonomy; 1 is top level.")
    parent: str | None = Field(default=None, description="Parent qcode, for topics below level 1.")
    score: float = Field(ge=0.0, le=1.0, description="Relative confidence, 0 to 1.")


class ArticleEntity(_V1):
    """A person, organisation, place or event the article mentions, the same in every language."""

    id: str = Field(
        description="Wikidata id (`Q7747`) when the entity is linked to Wikidata, else a stable newswire id "
        "starting with `nw:`."
    )
    type: EntityType = Field(description="Entity type.")
    name: str = Field(
        description="Canonical English name; for a person found only from context, the name as written."
    )
    name_local: str | None = Field(default=None, description="Name in the article's language.")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 code of the country, for places.")
    salience: float = Field(ge=0.0, le=1.0, description="How central the entity is (mentions, position), 0 to 1.")
    mentions: list[Mention] = Field(default_factory=list, description="Every mention in the body.")


class DuplicateLink(_V1):
    """An earlier article from another address telling the same story (syndication, rewrites)."""

    article_id: str = Field(description="`article_id` of the earlier article.")
    similarity: float = Field(ge=0.0, le=1.0, description="Estimated similarity of the two bodies, 0 to 1.")


class PublishedArticle(_V1):
    """The article, as every subscriber receives it (contract v1)."""

    model_config = ConfigDict(extra="ignore", title="PublishedArticle")

    revision: int = Field(
        ge=1, description="1 for the first version of an article; +1 each time its content changes."
    )
    article_id: str = Field(
        description="Stable newswire id of the article, the same for every revision: the scraper's id when it "
        "sent one, else derived from the canonical address, else from the content."
    )
    url: str | None = Field(
        default=None,
        description="The article's canonical address: the page's canonical link, else the address it was fetched "
        "from without tracking parameters and fragment.",
    )
    fetched_url: str | None = Field(
        default=None, description="The address the page was fetched from, when it differs from `url`."
    )
    headline: str | None = Field(default=None, description="The headline.")
    summary: str | None = Field(default=None, description="The page's own summary (meta description).")
    body: str = Field(description="The article text, paragraphs separated by one blank line. Plain text, never HTML.")
    blocks: list[Block] = Field(default_factory=list, description="Paragraphs and subheadings of `body`, in order.")
    language: str | None = Field(default=None, description="BCP 47 code of the body's language, detected.")
    language_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Detector confidence in `language`, 0 to 1."
    )
    languages: list[LanguageGuess] = Field(
        default_factory=list,
        description="Languages of the body with their share, only when it mixes languages.",
    )
    published_at: datetime | None = Field(
        default=None,
        description="When the publication first published the article (RFC 3339, UTC); a date without a time "
        "is at 00:00.",
    )
    modified_at: datetime | None = Field(
        default=None, description="When the publication last modified the article, if the page says."
    )
    received_at: datetime = Field(description="When newswire received this version of the article (UTC).")
    source: Source = Field(default_factory=Source, description="The publication.")
    authors: list[str] = Field(default_factory=list, description="Authors, as printed.")
    images: list[ArticleImage] = Field(default_factory=list, description="Images and their captions.")
    sections: list[str] = Field(default_factory=list, description="Section or category names the page gives.")
    keywords: list[str] = Field(default_factory=list, description="Keywords and tags the page gives.")
    word_count: int = Field(ge=0, description="Number of words in `body`.")
    topics: list[ArticleTopic] = Field(default_factory=list, description="IPTC Media Topics, best first.")
    entities: list[ArticleEntity] = Field(default_factory=list, description="Named entities, most salient first.")
    quotes: list[Quote] = Field(
        default_factory=list, description="Direct quotations, in order; `speaker_entity_id` is an `entities[].id`."
    )
    amounts: list[Amount] = Field(default_factory=list, description="Money, percentages and quantities, in order.")
    duplicate_of: DuplicateLink | None = Field(
        default=None, description="An earlier article from another address telling the same story."
    )
    metadata: dict[str, Any] | None = Field(
        default=None, description="The scraper's `metadata` object, passed through untouched, when it sent one."
    )


class OmittedWhenUnknown(GenerateJsonSchema):
    """JSON Schema of the published JSON: an unknown value is absent, never `null`; everything else is present.

    A field whose default is `None` is left out when unknown; a field with any other default (lists, objects)
    is always sent, so the schema marks it required.
    """

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        schema = field["schema"]
        if field["type"] != "model-field" or schema["type"] != "default":
            return super().field_is_required(field, total)
        return "default_factory" in schema or schema.get("default") is not None

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if "default" in json_schema and json_schema["default"] is None:
            del json_schema["default"]
        return json_schema


def published_json(article: PublishedArticle, *, exclude: set[str] | None = None) -> str:
    """The article as v1 JSON: unknown values left out."""
    return article.model_dump_json(exclude_none=True, exclude=exclude)
