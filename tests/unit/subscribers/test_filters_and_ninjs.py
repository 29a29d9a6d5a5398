"""The shared filter expressions, and ninjs 2.2 renderings validated against IPTC's published schema."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest

from newswire.subscribers.filters import EventFilter
from newswire.subscribers.ninjs import to_ninjs
from tests.subscriber_support import event_json, published_fields
from tests.support import REPO

NINJS_SCHEMA = json.loads((REPO / "tests" / "fixtures" / "ninjs" / "ninjs-schema_2.2.json").read_text("utf-8"))


def article(**overrides: Any) -> dict[str, Any]:
    data = json.loads(published_fields(1, **overrides)["data"])
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("event_filter", "expected"),
    [
        (EventFilter(), True),
        (EventFilter(language="ar"), True),
        (EventFilter(language=["en", "fr"]), False),
        (EventFilter(topic="medtop:11000000"), True),  # the parent of the article's subtopic
        (EventFilter(topic="medtop:20000638"), True),
        (EventFilter(topic="medtop:04000000"), False),
        (EventFilter(entity="q7747"), True),
        (EventFilter(entity="Vladimir Putin"), True),
        (EventFilter(entity="Q148"), False),
        (EventFilter(source="alaraby.co.uk"), True),
        (EventFilter(source="co.uk"), True),  # a domain selects its subdomains
        (EventFilter(source="raby.co.uk"), False),
        (EventFilter(source="Alaraby"), True),  # or the source's name
        (EventFilter(language="ar", topic="medtop:11000000", entity="Q7747", source="alaraby.co.uk"), True),
        (EventFilter(language="ar", entity="Q148"), False),
    ],
)
def test_filters(event_filter: EventFilter, expected: bool) -> None:
    data = article(language="ar", domain="alaraby.co.uk", topics=(("medtop:20000638", "medtop:11000000"),),
                   entities=(("Q7747", "Vladimir Putin"),))
    assert event_filter.accepts(data) is expected


def test_a_regional_language_tag_matches_its_language() -> None:
    assert EventFilter(language="ar").accepts({"language": "ar-EG"})
    assert not EventFilter(language="ar").accepts({})


def absolute_uris(item: Any) -> list[str]:
    """Every `uri` and `href` in a ninjs item; the schema's `format: uri` is not checked by jsonschema alone."""
    found = []
    if isinstance(item, dict):
        for key, value in item.items():
            if key in {"uri", "href", "schema"} and isinstance(value, str):
                found.append(value)
            else:
                found.extend(absolute_uris(value))
    elif isinstance(item, list):
        for value in item:
            found.extend(absolute_uris(value))
    return found


def test_ninjs_rendering_validates_and_carries_iptc_and_wikidata_uris() -> None:
    event = event_json(published_fields(
        7, revision=2, language="ar", domain="alaraby.co.uk", topics=(("medtop:11000000", None),),
        entities=(("Q7747", "Vladimir Putin"), ("nw:person:someone", "Someone")),
    ))
    item = to_ninjs(event)
    jsonschema.Draft202012Validator(NINJS_SCHEMA).validate(item)
    assert all(urlparse(uri).scheme for uri in absolute_uris(item))
    assert item["uri"] == "urn:newswire:article:art-7" and item["version"] == "2"
    assert item["language"] == "ar"
    assert item["headlines"] == [{"role": "main", "value": "عنوان 7"}]
    assert item["bodies"][0]["value"] == event["data"]["body"]  # type: ignore[index]
    assert item["subjects"][0]["uri"] == "http://cv.iptc.org/newscodes/mediatopic/11000000"
    assert item["subjects"][0]["literal"] == "medtop:11000000"
    assert item["people"] == [
        {"name": "Vladimir Putin", "rel": "mentioned", "uri": "http://www.wikidata.org/entity/Q7747"},
        {"name": "Someone", "rel": "mentioned", "literal": "nw:person:someone"},
    ]
    assert item["firstcreated"].endswith("Z") and item["versioncreated"] >= item["firstcreated"]
    assert item["infosources"] == [{"name": "Alaraby", "role": "publisher", "uri": "https://alaraby.co.uk/"}]


def test_an_invalid_rendering_would_be_caught() -> None:
    """The schema check is not vacuous: ninjs refuses what it does not define."""
    item = to_ninjs(event_json(published_fields(1)))
    item["headline"] = "not a ninjs property"
    assert not jsonschema.Draft202012Validator(NINJS_SCHEMA).is_valid(item)


def test_tail_skips_an_event_it_cannot_render_as_ninjs(capsys: pytest.CaptureFixture[str]) -> None:
    from newswire.cli.sink import renderer

    render = renderer("ninjs")
    assert render({"id": "old/r1", "data": {"title": "no body"}}) is None
    assert "event old/r1 is not a v1 published article; skipped" in capsys.readouterr().err
    line = render(event_json(published_fields(3)))
    assert line is not None and json.loads(line)["uri"] == "urn:newswire:article:art-3"
