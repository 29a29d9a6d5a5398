"""The Arabic sample: the gold file's `cleaned` section holds in full."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from newswire.cleaner.clean import clean_article
from newswire.schemas import CleanedArticle, DateSource, RawArticle
from tests.support import SAMPLE_GOLD as GOLD
from tests.support import SAMPLE_TEXT as SAMPLE

RECEIVED_AT = datetime(2024, 9, 20, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def gold() -> dict:
    return json.loads(GOLD.read_text(encoding="utf-8"))["cleaned"]


@pytest.fixture(scope="module")
def cleaned() -> CleanedArticle:
    return clean_article(RawArticle(text=SAMPLE.read_text(encoding="utf-8")), received_at=RECEIVED_AT)


def test_title(cleaned: CleanedArticle, gold: dict) -> None:
    assert cleaned.title == gold["title"]


def test_date_from_bilingual_header_line(cleaned: CleanedArticle, gold: dict) -> None:
    assert cleaned.date_published is not None
    assert cleaned.date_published.date().isoformat() == gold["date"]["must"]
    assert cleaned.date_published == datetime(2024, 9, 19, tzinfo=UTC)
    assert cleaned.date_published_source is DateSource.HEADER_LINE


def test_source_name_from_trailer(cleaned: CleanedArticle, gold: dict) -> None:
    assert cleaned.source_name == gold["source_name"]["must"]


def test_image_captions_moved_out(cleaned: CleanedArticle, gold: dict) -> None:
    captions = [image.caption for image in cleaned.images]
    for caption in gold["image_captions"]["must"]:
        assert caption in captions
    assert cleaned.images[0].credit == "تويتر"


def test_body_paragraphs_in_order(cleaned: CleanedArticle, gold: dict) -> None:
    assert [p.text for p in cleaned.paragraphs] == gold["body_paragraphs_in_order"]
    assert cleaned.body == "\n\n".join(gold["body_paragraphs_in_order"])


def test_subheadings_kept_in_place_as_headings(cleaned: CleanedArticle, gold: dict) -> None:
    headings = [p.text for p in cleaned.paragraphs if p.kind == "heading"]
    assert headings == gold["subheadings"]["must"]


def test_debris_not_in_body(cleaned: CleanedArticle, gold: dict) -> None:
    for debris in gold["must_not_appear_in_body"]:
        assert debris not in cleaned.body


def test_title_not_repeated(cleaned: CleanedArticle, gold: dict) -> None:
    assert gold["title_must_not_repeat_in_body"] is True
    assert cleaned.title is not None
    assert cleaned.title not in cleaned.body


def test_offsets_point_into_body(cleaned: CleanedArticle) -> None:
    for paragraph in cleaned.paragraphs:
        assert cleaned.body[paragraph.start : paragraph.start + len(paragraph.text)] == paragraph.text


def test_derived_fields(cleaned: CleanedArticle) -> None:
    assert cleaned.html is None
    assert len(cleaned.article_id) == 32
    assert cleaned.article_id == cleaned.content_hash[:32]
    assert len(cleaned.content_hash) == 64
    assert cleaned.word_count == len(cleaned.body.split())
    assert cleaned.canonical_url is None and cleaned.source_domain is None
    assert cleaned.received_at == RECEIVED_AT
