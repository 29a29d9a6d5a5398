"""HTML path: main text plus metadata from JSON-LD, Open Graph and the page itself."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from newswire.cleaner.clean import clean_article
from newswire.schemas import DateSource, RawArticle

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cleaner" / "html"
RECEIVED_AT = datetime(2024, 12, 2, tzinfo=UTC)


def _page(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_json_ld_news_article() -> None:
    url = "https://www.coastalherald.example.co.uk/news/harbour-bridge-reopens?utm_source=rss&fbclid=x#top"
    cleaned = clean_article(RawArticle(html=_page("jsonld-newsarticle.html"), url=url), received_at=RECEIVED_AT)
    assert cleaned.title == "Harbour bridge reopens after eight months of repairs"
    assert cleaned.html is None
    assert [p.text for p in cleaned.paragraphs if p.kind == "heading"] == ["Traffic returns to the quay"]
    assert cleaned.paragraphs[0].text.startswith("The harbour bridge in the town centre reopened")
    assert cleaned.paragraphs[-1].text.endswith("completed in January.")
    for debris in ("Most read", "Storm warning", "All rights reserved", "Cookie policy", "By Megan Price"):
        assert debris not in cleaned.body
    assert cleaned.title not in cleaned.body
    # JSON-LD wins over the Open Graph time, which says 08:00 on 30 November.
    assert cleaned.date_published == datetime(2023, 12, 1, 8, 15, tzinfo=UTC)
    assert cleaned.date_published_source is DateSource.JSON_LD
    assert cleaned.date_modified == datetime(2023, 12, 1, 11, 40, tzinfo=UTC)
    assert cleaned.authors == ["Megan Price", "Tom Okafor"]
    assert cleaned.source_name == "The Coastal Herald"
    assert cleaned.canonical_url == "https://www.coastalherald.example.co.uk/news/harbour-bridge-reopens"
    assert cleaned.source_domain == "example.co.uk"
    assert cleaned.description == "The town's harbour bridge reopened on Friday after eight months of repairs."
    assert cleaned.language_hint == "en-GB"
    assert cleaned.categories == ["Local news"]
    assert cleaned.tags == ["bridges", "harbour", "roadworks", "Transport"]
    by_url = {image.url: image for image in cleaned.images}
    assert by_url["https://cdn.coastalherald.example.co.uk/img/bridge.jpg"].caption == "The bridge on its reopening day"
    assert "https://cdn.coastalherald.example.co.uk/img/bridge-lead.jpg" in by_url
    figure = by_url["https://www.coastalherald.example.co.uk/img/bridge.jpg"]
    assert figure.caption is not None and figure.caption.startswith("Cars cross the bridge on Friday morning.")
    assert figure.credit == "Coastal Herald"
    assert cleaned.article_id != cleaned.content_hash[:32]
    assert len(cleaned.article_id) == 32
    for paragraph in cleaned.paragraphs:
        assert cleaned.body[paragraph.start : paragraph.start + len(paragraph.text)] == paragraph.text


def test_open_graph_page_with_date_line_and_site_name() -> None:
    cleaned = clean_article(RawArticle(html=_page("og-sitename-equals-title.html")), received_at=RECEIVED_AT)
    assert cleaned.title == "افتتاح معرض الكتاب في الرياض بمشاركة ألف دار نشر"
    assert cleaned.source_name == "صحيفة المثال"
    assert cleaned.canonical_url == "https://www.almithal.example.com/culture/book-fair-riyadh"
    assert cleaned.language_hint == "ar"
    assert cleaned.date_published == datetime(2024, 9, 26, tzinfo=UTC)
    assert cleaned.date_published_source is DateSource.HEADER_LINE
    assert "أيلول" not in cleaned.body and "شارك" not in cleaned.body.split()
    assert len(cleaned.paragraphs) == 3
    assert cleaned.paragraphs[0].text.startswith("افتتح معرض الرياض الدولي للكتاب")
    assert cleaned.categories == ["ثقافة"]
    assert cleaned.tags == ["معرض الكتاب", "الرياض", "ثقافة"]


def test_site_name_equal_to_title_falls_back_to_domain() -> None:
    html = (
        "<html><head><title>Council approves new budget</title>"
        "<meta property='og:site_name' content='Council approves new budget'></head><body><article>"
        "<h1>Council approves new budget</h1>"
        + "<p>The city council approved a new budget on Tuesday evening after a long debate about schools.</p>" * 3
        + "</article></body></html>"
    )
    cleaned = clean_article(
        RawArticle(html=html, url="https://news.example.org/2024/05/07/budget"), received_at=RECEIVED_AT
    )
    assert cleaned.source_name == "example.org"
    assert cleaned.date_published == datetime(2024, 5, 7, tzinfo=UTC)
    assert cleaned.date_published_source is DateSource.URL


def test_scraper_date_used_when_page_has_none() -> None:
    html = "<html><body><article>" + "<p>A paragraph of plain article text that runs long enough to keep.</p>" * 4
    html += "</article></body></html>"
    raw = RawArticle(html=html, published_at="Thu, 19 Sep 2024 10:32:00 +0200", source="Example Wire")
    cleaned = clean_article(raw, received_at=RECEIVED_AT)
    assert cleaned.date_published == datetime(2024, 9, 19, 8, 32, tzinfo=UTC)
    assert cleaned.date_published_source is DateSource.SCRAPER
    assert cleaned.source_name == "Example Wire"


def test_html_without_article_falls_back_to_text() -> None:
    raw = RawArticle(html="<html><body><nav>Home</nav></body></html>", text="Headline here\nThe body sentence stays.")
    cleaned = clean_article(raw, received_at=RECEIVED_AT)
    assert cleaned.title == "Headline here"
    assert cleaned.body == "The body sentence stays."
