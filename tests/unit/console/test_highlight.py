"""The article body as HTML: spans from offsets, nesting, escaping, bad offsets."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from newswire.console.highlight import highlight_body, spans_of, wikidata_id


def _text_of(html: str) -> str:
    """The visible text of highlighted HTML (tags removed, the few escapes undone)."""
    import html as html_module

    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


def test_entities_quotes_and_amounts_are_marked_at_their_offsets() -> None:
    body = 'قال بوتين إن "روسيا ستدفع 5 مليارات دولار" للصين.'
    putin, russia = body.index("بوتين"), body.index("روسيا")
    quote_start, quote_end = body.index('"') + 1, body.rindex('"')
    amount = body.index("5 مليارات دولار")
    article = {
        "body": body,
        "entities": [
            {"id": "Q7747", "type": "PERSON", "name": "Vladimir Putin",
             "mentions": [{"text": "بوتين", "start": putin, "end": putin + 5}]},
            {"id": "Q159", "type": "LOC", "name": "Russia",
             "mentions": [{"text": "روسيا", "start": russia, "end": russia + 5}]},
        ],
        "quotes": [{"text": body[quote_start:quote_end], "speaker": "Vladimir Putin", "start": quote_start,
                    "end": quote_end}],
        "amounts": [{"text": "5 مليارات دولار", "kind": "money", "value": 5e9, "unit": "USD", "start": amount,
                     "end": amount + len("5 مليارات دولار")}],
    }
    html = str(highlight_body(article))
    assert _text_of(html) == body
    assert 'title="Vladimir Putin (PERSON) · Wikidata Q7747"' in html
    assert 'href="https://www.wikidata.org/wiki/Q7747"' in html
    # Russia and the amount are inside the quote: nested marks, not dropped.
    assert re.search(r'hl-quote"[^>]*>[^<]*<mark class="hl hl-entity"[^>]*data-name="Russia"', html)
    assert html.count("</mark></mark>") == 1  # the amount ends where the quote ends, inside it
    assert html.count("<mark") == 4
    assert 'title="money: 5,000,000,000 USD"' in html


def test_every_piece_of_text_and_every_attribute_is_escaped() -> None:
    body = '<script>alert("x")</script> & <b>bold</b>'
    article: dict[str, Any] = {
        "body": body,
        "entities": [{"id": 'nw:"><script>', "type": "ORG", "name": '"><img src=x onerror=alert(1)>',
                      "mentions": [{"start": 0, "end": 8}]}],
    }
    html = str(highlight_body(article))
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html
    assert _text_of(html) == body


def test_offsets_outside_the_body_or_crossing_a_kept_span_are_skipped() -> None:
    body = "Alpha Beta Gamma"
    article = {
        "body": body,
        "entities": [
            {"id": "nw:a", "type": "ORG", "name": "AB", "mentions": [{"start": 0, "end": 10}]},
            {"id": "nw:b", "type": "ORG", "name": "BG", "mentions": [{"start": 6, "end": 16}]},  # crosses the first
            {"id": "nw:c", "type": "ORG", "name": "X", "mentions": [{"start": 12, "end": 99}]},  # past the end
            {"id": "nw:d", "type": "ORG", "name": "Y", "mentions": [{"start": "3", "end": 4}]},  # not a number
        ],
    }
    html = str(highlight_body(article))
    assert html.count("<mark") == 1
    assert _text_of(html) == body
    assert len(spans_of(article)) == 2


def test_a_wikidata_id_is_only_a_real_q_number() -> None:
    assert wikidata_id({"id": "Q42"}) == "Q42"
    assert wikidata_id({"id": "nw:person:abc"}) is None
    assert wikidata_id({"id": "javascript:alert(1)"}) is None
    assert wikidata_id({"id": "nw:x", "wikidata_id": "Q7"}) == "Q7"


def test_an_article_without_annotations_is_its_escaped_body() -> None:
    assert highlight_body({"body": "a < b"}) == Markup("a &lt; b")
    assert highlight_body({}) == Markup("")


spans = st.lists(st.tuples(st.integers(-5, 60), st.integers(-5, 60), st.sampled_from(["entity", "quote", "amount"])),
                 max_size=12)


@given(body=st.text(max_size=50), raw_spans=spans)
def test_the_visible_text_is_always_the_body(body: str, raw_spans: list[tuple[int, int, str]]) -> None:
    article: dict[str, Any] = {"body": body, "entities": [], "quotes": [], "amounts": []}
    for start, end, kind in raw_spans:
        if kind == "entity":
            article["entities"].append({"id": "nw:x", "type": "MISC", "name": "x",
                                        "mentions": [{"start": start, "end": end}]})
        elif kind == "quote":
            article["quotes"].append({"text": "", "start": start, "end": end})
        else:
            article["amounts"].append({"text": "", "kind": "quantity", "value": 1.0, "start": start, "end": end})
    html = str(highlight_body(article))
    assert _text_of(html) == body
    assert html.count("<mark") == html.count("</mark>")
