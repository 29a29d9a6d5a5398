"""Contract v1 of the published article: drafted from an enriched article, documented from the one model."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import jsonschema

from newswire.cli.schema_export import published_field_table, schema_documents
from newswire.publisher.publish import draft_event, published_article
from newswire.schemas import EnrichedArticle, Entity, EntityType, Mention, Paragraph, Quote, Topic
from newswire.schemas.events import dataschema_uri
from tests.support import REPO

RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def enriched(**overrides: object) -> EnrichedArticle:
    body = "Putin met Xi in Beijing.\n\nTalks"
    fields: dict[str, object] = {
        "article_id": "a1",
        "title": "Putin meets Xi",
        "body": body,
        "paragraphs": [Paragraph(text="Putin met Xi in Beijing.", start=0), Paragraph(text="Talks", start=26,
                                                                                    kind="heading")],
        "content_hash": "h" * 64,
        "word_count": 6,
        "received_at": RECEIVED,
        "language": "en",
        "language_confidence": 0.97,
        "topics": [Topic(qcode="medtop:11000000", label="politics", level=1, score=0.9, cues=["met"])],
        "entities": [
            Entity(id="nw:person:putin", wikidata_id="Q7747", type=EntityType.PERSON, name="Vladimir Putin",
                   mentions=[Mention(text="Putin", start=0, end=5)], salience=1.0),
            Entity(id="nw:loc:x", type=EntityType.LOC, name="Beijing", salience=0.5, country="CN"),
        ],
        "quotes": [Quote(text="we agree", speaker="Vladimir Putin", speaker_entity_id="nw:person:putin",
                         start=0, end=5)],
    }
    fields.update(overrides)
    return EnrichedArticle.model_validate(fields)


def test_unknown_values_are_left_out_and_internal_fields_stay_behind() -> None:
    article = json.loads(published_article(enriched(), revision=1).model_dump_json(exclude_none=True))
    assert "null" not in json.dumps(article)
    assert not {"content_hash", "text", "html", "language_hint", "traceparent", "title", "paragraphs"} & set(article)
    assert article["headline"] == "Putin meets Xi"
    assert article["blocks"] == [{"kind": "paragraph", "start": 0, "end": 24}, {"kind": "heading", "start": 26,
                                                                              "end": 31}]
    assert "cues" not in article["topics"][0]
    # Entities are identified by Wikidata when linked; quotes point at the published ids.
    assert [entity["id"] for entity in article["entities"]] == ["Q7747", "nw:loc:x"]
    assert article["quotes"][0]["speaker_entity_id"] == "Q7747"
    assert article["source"] == {}
    assert "duplicate_of" not in article and "metadata" not in article


def test_urls_source_and_duplicate_link() -> None:
    article = published_article(
        enriched(url="https://www.alaraby.co.uk/a?utm_source=x", canonical_url="https://www.alaraby.co.uk/a",
                 source_domain="alaraby.co.uk", source_name="العربي الجديد", source="alaraby.co.uk",
                 metadata={"feed": 7}),
        revision=3, duplicate_of="a0", similarity=0.8,
    )
    assert (article.url, article.fetched_url) == ("https://www.alaraby.co.uk/a", "https://www.alaraby.co.uk/a?utm_source=x")
    # The scraper's label says nothing the domain does not: one field per fact.
    source = article.source
    assert (source.name, source.domain, source.label) == ("العربي الجديد", "alaraby.co.uk", None)
    assert article.duplicate_of is not None and article.duplicate_of.article_id == "a0"
    assert article.metadata == {"feed": 7}
    same_url = published_article(enriched(url="https://x.example/a", canonical_url="https://x.example/a"), revision=1)
    assert same_url.fetched_url is None
    # Without a URL, a source label that is a host name gives the domain; a free-text label stays a label.
    assert published_article(enriched(source="www.bbc.co.uk"), revision=1).source.domain == "bbc.co.uk"
    labelled = published_article(enriched(source="Reuters wire"), revision=1).source
    assert (labelled.domain, labelled.label) == (None, "Reuters wire")


def test_a_drafted_event_validates_against_the_published_event_schema() -> None:
    draft = draft_event(enriched(), now=RECEIVED, default_source="newswire", schema_url=dataschema_uri("urn:x"))
    fields = dict(draft.fields)
    # What forward.lua does when it adds the event: the revision goes first and completes the id.
    fields["data"] = '{"revision":1,' + fields["data"]
    fields["id"] = f"{draft.article_id}/r1"
    event = {**fields, "data": json.loads(fields["data"])}
    jsonschema.validate(event, schema_documents()["v1/published-event.json"])
    assert event["dataschema"] == "urn:x/v1/published-article.json"
    asyncapi = schema_documents()["asyncapi.json"]
    jsonschema.validate(event, {"$ref": "#/components/schemas/PublishedEvent", **asyncapi})
    # The schema refuses nulls: a v1 reader never has to handle them.
    event["data"]["headline"] = None
    assert not jsonschema.Draft202012Validator(schema_documents()["v1/published-event.json"]).is_valid(event)


def test_the_readme_field_table_is_the_generated_one() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- published-article-fields:start -->\n(.*?)<!-- published-article-fields:end -->", readme,
                      flags=re.DOTALL)
    assert found, "the README lost its published-article field table markers"
    assert found.group(1) == published_field_table(), "run `newswire schema fields` and paste it into the README"


def test_every_model_field_is_in_the_table() -> None:
    table = published_field_table()
    from newswire.schemas import PublishedArticle

    for name in PublishedArticle.model_fields:
        assert f"| `{name}` |" in table
