"""Article models, one per stream: raw -> cleaned -> enriched -> published.

Each internal stage's model extends the previous one and each field says what it means. What
subscribers receive is designed separately: `newswire.schemas.published` (contract v1).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    # Readers ignore fields they do not know, so a stage or subscriber on an older version keeps working
    # while a newer one adds fields (rolling upgrades, subscribers upgrading at their own pace).
    model_config = ConfigDict(extra="ignore")


class RawArticle(_Model):
    """What a scraper publishes into the raw stream (the JSON in the entry's `data` field)."""

    # Scrapers get a clear refusal for a misspelt field instead of losing it silently.
    model_config = ConfigDict(extra="forbid", title="RawArticle")

    id: str | None = Field(
        default=None,
        max_length=512,
        description="The scraper's own identifier for the article, kept as given. "
        "When absent, newswire derives a stable id from the canonical URL or the content.",
    )
    url: str | None = Field(default=None, max_length=8192, description="Address the page was fetched from.")
    title: str | None = Field(default=None, description="Headline as the scraper saw it, if it has one.")
    text: str | None = Field(
        default=None,
        description="Article text as scraped (may still contain page debris). One of `text` or `html` is required.",
    )
    html: str | None = Field(
        default=None,
        description="The full HTML page. One of `text` or `html` is required; when both are given `html` wins "
        "for extraction and `text` is kept as a fallback.",
    )
    source: str | None = Field(default=None, description="Name of the publication or scraper source, free text.")
    language: str | None = Field(
        default=None, max_length=35, description="Language hint from the scraper (BCP 47), if known."
    )
    published_at: str | None = Field(
        default=None, description="Publication date as the scraper found it, any common format."
    )
    fetched_at: str | None = Field(default=None, description="When the scraper fetched the page, any common format.")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Free object passed through every stage unchanged."
    )

    @model_validator(mode="after")
    def _has_content(self) -> RawArticle:
        if not (self.text and self.text.strip()) and not (self.html and self.html.strip()):
            raise ValueError("the article has neither `text` nor `html`; send at least one of them, non-empty")
        return self


class DateSource(StrEnum):
    """Where a date was read from."""

    SCRAPER = "scraper"
    META = "meta"
    JSON_LD = "json-ld"
    HEADER_LINE = "header-line"
    URL = "url"
    HTML = "html"


class Paragraph(_Model):
    """One block of the cleaned body."""

    text: str = Field(description="The block's text, normalised (NFC, no control characters, no tatweel).")
    kind: Literal["paragraph", "heading"] = Field(
        default="paragraph", description="`heading` for a subheading kept in place, else `paragraph`."
    )
    start: int = Field(description="Character offset of the block in `body`.")


class ArticleImage(_Model):
    """An image of the article, or only its caption when the page was scraped as text."""

    url: str | None = Field(default=None, description="Image address, when known.")
    caption: str | None = Field(default=None, description="Caption text, as printed under the image.")
    credit: str | None = Field(default=None, description="Photo credit, e.g. `AFP` or `تويتر`.")


class CleanedArticle(RawArticle):
    """The article itself, without page debris, plus the metadata read from the page.

    From this stage on `text` and `html` are empty (None): the article is `body`.
    """

    model_config = ConfigDict(extra="ignore", title="CleanedArticle")

    def _has_content(self) -> CleanedArticle:  # type: ignore[override]
        """`body` replaces `text` and `html` once an article is cleaned."""
        return self

    article_id: str = Field(
        description="Stable newswire id: the scraper's `id` when given, else derived from the canonical URL, "
        "else from the content hash."
    )
    body: str = Field(
        description="Cleaned article text, paragraphs separated by one blank line. Plain text, never HTML."
    )
    paragraphs: list[Paragraph] = Field(default_factory=list, description="The body's blocks, in order.")
    canonical_url: str | None = Field(
        default=None, description="Canonical address: the page's own canonical link or the URL with tracking "
        "parameters and fragment removed."
    )
    source_domain: str | None = Field(default=None, description="Registered domain of the canonical URL.")
    source_name: str | None = Field(
        default=None, description="Publication name: og:site_name, JSON-LD publisher, source trailer or domain."
    )
    authors: list[str] = Field(default_factory=list, description="Authors, as printed.")
    date_published: datetime | None = Field(
        default=None, description="Publication date-time (ISO 8601); date-only values are at 00:00 UTC."
    )
    date_published_source: DateSource | None = Field(
        default=None, description="Where `date_published` was read from."
    )
    date_modified: datetime | None = Field(default=None, description="Last modification date-time, if the page says.")
    description: str | None = Field(default=None, description="The page's own summary (meta description).")
    language_hint: str | None = Field(
        default=None, description="Language the page declares (html lang, meta) or the scraper hinted."
    )
    images: list[ArticleImage] = Field(default_factory=list, description="Images and their captions.")
    categories: list[str] = Field(default_factory=list, description="Section or category names from the page.")
    tags: list[str] = Field(default_factory=list, description="Keywords and tags from the page.")
    content_hash: str = Field(description="SHA-256 of the normalised title and body; equal texts, equal hash.")
    word_count: int = Field(ge=0, description="Number of words in the body.")
    received_at: datetime = Field(description="When newswire accepted the raw entry (UTC).")
    traceparent: str | None = Field(
        default=None, description="W3C trace context of the raw entry, carried to the published event."
    )


class LanguageGuess(_Model):
    """A detected language."""

    code: str = Field(description="BCP 47 language code, e.g. `ar`, `fa`, `en`.")
    confidence: float = Field(ge=0.0, le=1.0, description="Detector confidence, 0 to 1.")


class Topic(_Model):
    """An IPTC Media Topic assigned to the article."""

    qcode: str = Field(description="IPTC Media Topic qcode, e.g. `medtop:11000000`.")
    label: str = Field(description="English label from the IPTC taxonomy.")
    label_local: str | None = Field(
        default=None, description="Label in the article's language, where IPTC publishes one."
    )
    level: int = Field(ge=1, description="Depth in the taxonomy; 1 is top level.")
    parent: str | None = Field(default=None, description="Parent qcode, for levels below 1.")
    score: float = Field(ge=0.0, le=1.0, description="Relative confidence, 0 to 1.")
    cues: list[str] = Field(default_factory=list, description="The words or entities that triggered the topic.")


class EntityType(StrEnum):
    """Kind of named entity."""

    PERSON = "PERSON"
    ORG = "ORG"
    LOC = "LOC"
    EVENT = "EVENT"
    MISC = "MISC"


class Mention(_Model):
    """One occurrence of an entity in the body."""

    text: str = Field(description="The mention as written.")
    start: int = Field(ge=0, description="Start character offset in the cleaned `body`.")
    end: int = Field(ge=0, description="End character offset (exclusive) in the cleaned `body`.")


class Entity(_Model):
    """A person, organisation, place or event the article mentions, the same in every language."""

    id: str = Field(description="Wikidata id (`Q7747`) where known, else a stable `nw:` id.")
    wikidata_id: str | None = Field(default=None, description="Wikidata id, only when certain.")
    type: EntityType = Field(description="Entity type.")
    name: str = Field(
        description="Canonical English name; for a person found only from context (not in the knowledge base), "
        "the name as written in the article."
    )
    name_local: str | None = Field(default=None, description="Name in the article's language.")
    name_latin: str | None = Field(
        default=None,
        description="Latin-script form of a name written in another script that is not in the knowledge base "
        "(a romanisation of the Arabic, as a reader would say it).",
    )
    mentions: list[Mention] = Field(default_factory=list, description="Every mention in the body.")
    salience: float = Field(ge=0.0, le=1.0, description="How central the entity is (mentions, position), 0 to 1.")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 code of the country, for places.")


class Quote(_Model):
    """A direct quotation."""

    text: str = Field(description="The quoted words, without the quotation marks.")
    speaker: str | None = Field(default=None, description="Who said it, canonical name when linked.")
    speaker_entity_id: str | None = Field(default=None, description="`Entity.id` of the speaker, when linked.")
    start: int = Field(ge=0, description="Start offset of the quoted words in `body`.")
    end: int = Field(ge=0, description="End offset (exclusive) of the quoted words in `body`.")


class Amount(_Model):
    """A money amount, percentage or quantity."""

    text: str = Field(description="The amount as written.")
    kind: Literal["money", "percent", "quantity", "duration"] = Field(description="What is measured.")
    value: float = Field(description="Numeric value, scaled (`117.5 مليار` -> 117500000000).")
    unit: str | None = Field(
        default=None, description="ISO 4217 currency for money, `%` for percentages, unit name otherwise."
    )
    start: int = Field(ge=0, description="Start offset in `body`.")
    end: int = Field(ge=0, description="End offset (exclusive) in `body`.")


class EnrichedArticle(CleanedArticle):
    """The cleaned article plus what it is about."""

    model_config = ConfigDict(extra="ignore", title="EnrichedArticle")

    language: str | None = Field(
        default=None,
        description="Detected BCP 47 code of the body's language (the scraper's hint stays in `language_hint`).",
    )
    language_confidence: float = Field(default=0.0, ge=0.0, le=1.0, description="Confidence of `language`.")
    title_language: LanguageGuess | None = Field(default=None, description="Language of the title, detected alone.")
    languages: list[LanguageGuess] = Field(
        default_factory=list,
        description="Languages found in the body with their share, when the article mixes languages.",
    )
    topics: list[Topic] = Field(default_factory=list, description="IPTC Media Topics, best first.")
    entities: list[Entity] = Field(default_factory=list, description="Named entities, most salient first.")
    quotes: list[Quote] = Field(default_factory=list, description="Direct quotations, in order.")
    amounts: list[Amount] = Field(default_factory=list, description="Money, percentages and quantities, in order.")
