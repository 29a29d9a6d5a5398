"""Pathological input: the transform returns or refuses within bounded time, never hangs or crashes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from newswire.cleaner.clean import clean_article
from newswire.errors import ArticleRefused
from newswire.schemas import RawArticle

RECEIVED_AT = datetime(2024, 1, 1, tzinfo=UTC)
ARTICLE = "<p>An ordinary sentence of article text that goes on for a little while here.</p>" * 8
# Generous for a shared 2-core machine; a hang or a quadratic blow-up takes minutes.
TIME_LIMIT_SECONDS = 15.0

CASES = {
    "deep_nesting": "<html><body>" + "<div>" * 100_000 + "deep" + "</div>" * 100_000 + "</body></html>",
    "unclosed_inline_tags": "<html><body>" + "<b><i>" * 20_000 + "</body></html>",
    "giant_attribute": f"<html><body><div class=\"{'a' * 3_000_000}\">x</div>{ARTICLE}</body></html>",
    "many_attributes": "<html><body><div "
    + " ".join(f"a{i}=1" for i in range(100_000))
    + f">x</div>{ARTICLE}</body></html>",
    "megabyte_line": "<html><body><p>" + "word " * 300_000 + f"</p>{ARTICLE}</body></html>",
    "megabyte_token": "<html><body><p>" + "x" * 2_000_000 + f"</p>{ARTICLE}</body></html>",
    "too_many_elements": "<html><body>" + "<span>a</span>" * 120_000 + "</body></html>",
    "binary_garbage": "\x00\x01<<<>>>&&&;;" * 50_000,
}


@pytest.mark.parametrize("name", list(CASES))
def test_returns_or_refuses_in_bounded_time(name: str) -> None:
    started = time.perf_counter()
    try:
        cleaned = clean_article(RawArticle(html=CASES[name]), received_at=RECEIVED_AT)
    except ArticleRefused as refused:
        assert refused.error_type in {"pathological_html", "empty_after_cleaning"}
        assert refused.reason
    else:
        assert cleaned.body
    assert time.perf_counter() - started < TIME_LIMIT_SECONDS


def test_many_attributes_refused_as_pathological() -> None:
    with pytest.raises(ArticleRefused) as refused:
        clean_article(RawArticle(html=CASES["many_attributes"]), received_at=RECEIVED_AT)
    assert refused.value.error_type == "pathological_html"


def test_too_many_elements_refused_as_pathological() -> None:
    with pytest.raises(ArticleRefused) as refused:
        clean_article(RawArticle(html=CASES["too_many_elements"]), received_at=RECEIVED_AT)
    assert refused.value.error_type == "pathological_html"


def test_deep_nesting_without_text_refused_as_pathological() -> None:
    with pytest.raises(ArticleRefused) as refused:
        clean_article(RawArticle(html=CASES["deep_nesting"]), received_at=RECEIVED_AT)
    assert refused.value.error_type == "pathological_html"


def test_giant_attribute_keeps_the_article() -> None:
    cleaned = clean_article(RawArticle(html=CASES["giant_attribute"]), received_at=RECEIVED_AT)
    assert "An ordinary sentence of article text" in cleaned.body


def test_only_debris_is_refused_as_empty() -> None:
    with pytest.raises(ArticleRefused) as refused:
        clean_article(RawArticle(text="Share\nClose\nشارك القصة\nRead more"), received_at=RECEIVED_AT)
    assert refused.value.error_type == "empty_after_cleaning"


def test_megabyte_scraped_text_line_is_bounded() -> None:
    started = time.perf_counter()
    cleaned = clean_article(RawArticle(text="Title\n" + "word " * 400_000), received_at=RECEIVED_AT)
    assert cleaned.word_count == 400_000
    assert time.perf_counter() - started < TIME_LIMIT_SECONDS
