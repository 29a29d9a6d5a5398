"""Scraped-text fixtures in eight languages, each with its expected title, date, source and body."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswire.cleaner.clean import clean_article
from newswire.schemas import CleanedArticle, RawArticle

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cleaner" / "text"
CASES = sorted(FIXTURES.glob("*.json"))
RECEIVED_AT = datetime(2025, 2, 1, tzinfo=UTC)


def _load(path: Path) -> tuple[CleanedArticle, dict]:
    case = json.loads(path.read_text(encoding="utf-8"))
    return clean_article(RawArticle(**case["raw"]), received_at=RECEIVED_AT), case["expect"]


def test_fixture_set_covers_the_languages() -> None:
    languages = {path.name.split("-")[0] for path in CASES}
    assert {"ar", "en", "fr", "es", "de", "ru", "tr", "fa"} <= languages
    assert len(CASES) >= 12


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_text_fixture(path: Path) -> None:
    cleaned, expect = _load(path)
    assert cleaned.title == expect["title"]
    assert [p.text for p in cleaned.paragraphs] == expect["paragraphs"]
    assert cleaned.body == "\n\n".join(expect["paragraphs"])
    assert cleaned.source_name == expect["source_name"]
    assert cleaned.date_published is not None
    expected_date = expect["date"]
    if "T" in expected_date:
        assert cleaned.date_published == datetime.fromisoformat(expected_date)
    else:
        assert cleaned.date_published == datetime.fromisoformat(expected_date).replace(tzinfo=UTC)
    assert cleaned.date_published_source == expect["date_source"]
    headings = [p.text for p in cleaned.paragraphs if p.kind == "heading"]
    assert headings == expect.get("headings", [])
    captions = [image.caption for image in cleaned.images if image.caption]
    assert captions == expect.get("captions", [])
    credits = [image.credit for image in cleaned.images if image.credit]
    assert credits == expect.get("credits", [])
    for debris in expect.get("must_not_appear", []):
        assert debris not in cleaned.body
    assert cleaned.title not in cleaned.body
    if "authors" in expect:
        assert cleaned.authors == expect["authors"]
    if "canonical_url" in expect:
        assert cleaned.canonical_url == expect["canonical_url"]
    if "article_id" in expect:
        assert cleaned.article_id == expect["article_id"]
    for paragraph in cleaned.paragraphs:
        assert cleaned.body[paragraph.start : paragraph.start + len(paragraph.text)] == paragraph.text
