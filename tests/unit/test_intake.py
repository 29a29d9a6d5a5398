"""Reading raw entries: every kind of bad input is refused with a reason a scraper author understands."""

from __future__ import annotations

import json

import pytest
from faststream.redis.parser.binary import BinaryMessageFormatV1

from newswire.cleaner.intake import MAX_JSON_DEPTH, read_raw_entry
from newswire.errors import ArticleRefused

LIMIT = 1024 * 1024


def refuse(fields: dict[bytes, bytes]) -> ArticleRefused:
    with pytest.raises(ArticleRefused) as info:
        read_raw_entry(fields, max_bytes=LIMIT)
    return info.value


def test_a_good_entry_is_read() -> None:
    entry = read_raw_entry({b"data": json.dumps({"text": "Hello", "url": "https://a.b/c"}).encode()}, max_bytes=LIMIT)
    assert entry.article.text == "Hello"
    assert entry.article.url == "https://a.b/c"
    assert entry.traceparent is None


def test_a_valid_traceparent_is_kept_and_an_invalid_one_ignored() -> None:
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    data = json.dumps({"text": "x"}).encode()
    assert read_raw_entry({b"data": data, b"traceparent": tp.encode()}, max_bytes=LIMIT).traceparent == tp
    assert read_raw_entry({b"data": data, b"traceparent": b"garbage"}, max_bytes=LIMIT).traceparent is None


@pytest.mark.parametrize(
    ("fields", "error_type", "words"),
    [
        ({b"data": b"{not json"}, "invalid_json", "not valid JSON"),
        ({b"data": b"[1, 2]"}, "not_an_object", "JSON array"),
        ({b"data": b'"text"'}, "not_an_object", "JSON string"),
        ({b"data": b'{"title": "t"}'}, "missing_content", "neither `text` nor `html`"),
        ({b"data": b'{"text": "   "}'}, "missing_content", "neither `text` nor `html`"),
        ({b"data": b'{"text": 42}'}, "wrong_type", "`text` should be a valid string, not number"),
        ({b"data": b'{"text": "x", "metadata": []}'}, "wrong_type", "`metadata`"),
        ({b"data": b'{"text": "x", "author": "me"}'}, "unknown_field", "put extra information under `metadata`"),
        ({b"data": b'{"text": "caf\xe9"}'}, "not_utf8", "not valid UTF-8"),
        ({b"url": b"https://a.b"}, "missing_data_field", "no `data` field (fields: url)"),
        ({b"data": b'{"text": "\\ud800 x"}'}, "invalid_unicode", "surrogate"),
    ],
)
def test_bad_input_is_refused_with_a_reason(fields: dict[bytes, bytes], error_type: str, words: str) -> None:
    refused = refuse(fields)
    assert refused.error_type == error_type
    assert words in refused.reason


def test_deeply_nested_json_is_refused() -> None:
    nested = "[" * (MAX_JSON_DEPTH + 5) + "]" * (MAX_JSON_DEPTH + 5)
    refused = refuse({b"data": f'{{"text": "x", "metadata": {{"a": {nested}}}}}'.encode()})
    assert refused.error_type == "too_deeply_nested"
    # Far deeper than Python's recursion limit: refused the same way, no crash.
    refused = refuse({b"data": ("[" * 100_000 + "]" * 100_000).encode()})
    assert refused.error_type == "too_deeply_nested"


def test_oversize_entries_are_refused_before_parsing() -> None:
    refused = refuse({b"data": b'{"text": "' + b"a" * LIMIT + b'"}'})
    assert refused.error_type == "too_large"
    assert "1.0 MB limit (NEWSWIRE_MAX_ARTICLE_BYTES)" in refused.reason


async def test_entries_in_faststream_format_are_read() -> None:
    encoded = await BinaryMessageFormatV1.encode(
        message={"text": "from FastStream"}, reply_to=None, headers={}, correlation_id="1"
    )
    entry = read_raw_entry({b"__data__": encoded}, max_bytes=LIMIT)
    assert entry.article.text == "from FastStream"
