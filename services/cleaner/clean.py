"""Pure transform of the cleaning stage: RawArticle -> CleanedArticle (no broker, no I/O)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from newswire.cleaner.dates import date_from_url, parse_date_string
from newswire.cleaner.html_page import PageExtract, extract_page, parse_html_within_limits, reached_depth_limit
from newswire.cleaner.normalize import normalize_line
from newswire.cleaner.text import BlockKind, TextExtract, clean_scraped_text
from newswire.cleaner.urls import canonical_url, registered_domain
from newswire.errors import ArticleRefused
from newswire.schemas import ArticleImage, CleanedArticle, DateSource, Paragraph, RawArticle

_ID_CHARS = 32
_WORD = re.compile(r"\w")


def _paragraphs(blocks: list[tuple[str, BlockKind]]) -> tuple[str, list[Paragraph]]:
    paragraphs: list[Paragraph] = []
    offset = 0
    for text, kind in blocks:
        paragraphs.append(Paragraph(text=text, kind=kind, start=offset))
        offset += len(text) + 2
    return "\n\n".join(text for text, _ in blocks), paragraphs


def _word_count(body: str) -> int:
    return sum(1 for token in body.split() if _WORD.search(token))


def clean_article(raw: RawArticle, *, received_at: datetime) -> CleanedArticle:
    """Extract the article text and metadata from a raw entry; raise ArticleRefused for bad input."""
    return clean_article_with_lines(raw, received_at=received_at)[0]


def clean_article_with_lines(raw: RawArticle, *, received_at: datetime) -> tuple[CleanedArticle, list[str]]:
    """`clean_article`, plus every line of the page it read (what the source-template store learns from)."""
    # A publication date more than a year ahead of arrival is a misread, not a date.
    latest_year = received_at.year + 1
    page: PageExtract | None = None
    scraped: TextExtract | None = None
    if raw.html and raw.html.strip():
        tree = parse_html_within_limits(raw.html)
        page = extract_page(tree, url=raw.url, latest_year=latest_year)
        if not page.blocks and not (raw.text and raw.text.strip()):
            if reached_depth_limit(tree):
                raise ArticleRefused(
                    "pathological_html",
                    "the HTML nests elements deeper than 255 levels and no article text was found above that depth",
                )
            raise ArticleRefused(
                "empty_after_cleaning", "no article text was found in the HTML; send the article page, or `text`"
            )
    if page is None or not page.blocks:
        scraped = clean_scraped_text(raw.text or "", title=raw.title or (page.title if page else None),
                                     latest_year=latest_year)  # fmt: skip
    blocks = scraped.blocks if scraped is not None else page.blocks if page is not None else []
    if not blocks:
        raise ArticleRefused(
            "empty_after_cleaning", "nothing was left of the article after removing page debris; send the article text"
        )
    body, paragraphs = _paragraphs(blocks)

    title = normalize_line(raw.title) if raw.title and raw.title.strip() else None
    if title is None:
        title = (page.title if page is not None else None) or (scraped.title if scraped is not None else None)

    date_published: datetime | None = None
    date_source: DateSource | None = None
    if page is not None and page.date_published_source in (DateSource.JSON_LD, DateSource.META):
        date_published, date_source = page.date_published, page.date_published_source
    if date_published is None and raw.published_at:
        date_published = parse_date_string(raw.published_at, latest_year=latest_year)
        date_source = DateSource.SCRAPER if date_published else None
    header_date = scraped.date_published if scraped is not None else page.header_date if page is not None else None
    if date_published is None and header_date is not None:
        date_published, date_source = header_date, DateSource.HEADER_LINE
    if date_published is None and raw.url:
        date_published = date_from_url(raw.url, latest_year=latest_year)
        date_source = DateSource.URL if date_published else None
    if date_published is None and page is not None and page.date_published is not None:
        date_published, date_source = page.date_published, page.date_published_source

    canonical = canonical_url(page.canonical if page else None, raw.url or (scraped.url if scraped else None))
    domain = registered_domain(canonical or raw.url)
    source_name = (
        (page.site_name if page else None)
        or (scraped.source_name if scraped else None)
        or (normalize_line(raw.source) if raw.source and raw.source.strip() else None)
        or domain
    )
    images: list[ArticleImage] = list(page.images) if page is not None else []
    if scraped is not None:
        images.extend(scraped.images)
    authors = (page.authors if page is not None else []) or (scraped.authors if scraped is not None else [])

    content_hash = hashlib.sha256(f"{title or ''}\n{body}".encode()).hexdigest()
    if raw.id:
        article_id = raw.id
    elif canonical:
        article_id = hashlib.sha256(canonical.encode()).hexdigest()[:_ID_CHARS]
    else:
        article_id = content_hash[:_ID_CHARS]
    language_hint = (page.language if page is not None else None) or raw.language

    lines = scraped.lines if scraped is not None else [text for text, _ in blocks]
    cleaned = CleanedArticle(
        **raw.model_dump(exclude={"html", "text", "title"}),
        title=title,
        # The scraper's `text` and `html` are not carried on: `body` replaces them (never HTML).
        html=None,
        text=None,
        article_id=article_id,
        body=body,
        paragraphs=paragraphs,
        canonical_url=canonical,
        source_domain=domain,
        source_name=source_name,
        authors=authors,
        date_published=date_published,
        date_published_source=date_source,
        date_modified=page.date_modified if page is not None else None,
        description=page.description if page is not None else None,
        language_hint=language_hint,
        images=images,
        categories=page.categories if page is not None else [],
        tags=page.tags if page is not None else [],
        content_hash=content_hash,
        word_count=_word_count(body),
        received_at=received_at,
    )
    return cleaned, lines


def without_paragraphs(article: CleanedArticle, dropped: set[int]) -> CleanedArticle:
    """The article with the paragraphs at `dropped` removed; body, offsets, hash and word count follow.

    The article id stays: it names the article, whatever was later recognised as its source's template.
    """
    blocks = [(p.text, p.kind) for index, p in enumerate(article.paragraphs) if index not in dropped]
    body, paragraphs = _paragraphs(blocks)
    return article.model_copy(
        update={
            "body": body,
            "paragraphs": paragraphs,
            "content_hash": hashlib.sha256(f"{article.title or ''}\n{body}".encode()).hexdigest(),
            "word_count": _word_count(body),
        }
    )
