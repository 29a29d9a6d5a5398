"""HTML path: guarded parsing, trafilatura main text, and the page's own metadata (meta, Open Graph, JSON-LD)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import Document
from trafilatura.utils import load_html

from newswire.cleaner.dates import date_line, parse_date_string
from newswire.cleaner.debris import caption_of_line, credit_of_line, is_debris
from newswire.cleaner.normalize import comparison_key, normalize_line, normalize_text
from newswire.cleaner.text import BlockKind
from newswire.errors import ArticleRefused
from newswire.schemas import ArticleImage, DateSource

# Limits that keep one page within bounded time. libxml2 quadratically checks attribute
# names for duplicates, so a tag with thousands of attributes stalls the parser; a page with
# more elements than any real article page costs seconds in extraction.
MAX_ATTRIBUTES_PER_TAG = 1000
MAX_ELEMENTS = 50_000
MAX_ATTRIBUTE_CHARS = 4096
_LONG_TAG = re.compile(rf"<[^<>]{{{MAX_ATTRIBUTE_CHARS},}}")
_MAX_JSON_LD_CHARS = 1_000_000
_MAX_IMAGES = 20
_HEADER_BLOCKS = 3
_MAX_LIST_ITEMS = 50
_ARTICLE_TYPES = frozenset(
    {"newsarticle", "article", "reportagenewsarticle", "analysisnewsarticle", "blogposting", "opinionnewsarticle",
     "backgroundnewsarticle", "reviewnewsarticle", "liveblogposting", "report", "scholarlyarticle", "techarticle"}
)  # fmt: skip
_PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "og:published_time", "datepublished", "pubdate",
    "publishdate", "publish-date", "publish_date", "dc.date.issued", "dcterms.issued", "dc.date", "date",
    "sailthru.date", "parsely-pub-date", "citation_publication_date", "article.published",
    "cxenseparse:recs:publishtime",
)  # fmt: skip
_MODIFIED_META = ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified", "last-modified")
_CREDIT_CLASSES = re.compile(r"credit|copyright|author|source|byline", re.IGNORECASE)
_DUBIOUS_NAME = re.compile(r"^(?:https?://|www\.)|[<>{}]")


@dataclass(slots=True)
class PageExtract:
    """What the HTML path found: the body's blocks and the page's metadata."""

    blocks: list[tuple[str, BlockKind]]
    title: str | None = None
    header_date: datetime | None = None
    authors: list[str] = field(default_factory=list)
    date_published: datetime | None = None
    date_published_source: DateSource | None = None
    date_modified: datetime | None = None
    site_name: str | None = None
    canonical: str | None = None
    description: str | None = None
    language: str | None = None
    images: list[ArticleImage] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def parse_html_within_limits(html: str) -> HtmlElement:
    """Parse a page once, refusing input that would stall the parser or the extractor."""
    long_tags = [match.group() for match in _LONG_TAG.finditer(html)]
    for tag in long_tags:
        if tag.count("=") > MAX_ATTRIBUTES_PER_TAG:
            raise ArticleRefused(
                "pathological_html",
                f"the HTML has a tag with more than {MAX_ATTRIBUTES_PER_TAG} attributes; send the page as served",
            )
    tree = load_html(html)
    if tree is None:
        raise ArticleRefused("pathological_html", "the HTML could not be parsed; send the page as served, or `text`")
    elements = sum(1 for _ in tree.iter())
    if elements > MAX_ELEMENTS:
        raise ArticleRefused(
            "pathological_html", f"the HTML has {elements} elements, more than the {MAX_ELEMENTS} a page is allowed"
        )
    if long_tags:
        # Inline images and data blobs in attributes carry no text; dropping them keeps extraction fast.
        for element in tree.iter():
            for name, value in list(element.attrib.items()):
                if len(value) > MAX_ATTRIBUTE_CHARS:
                    del element.attrib[name]
    return tree


def reached_depth_limit(tree: HtmlElement) -> bool:
    """True when the parser cut the page off at libxml2's nesting limit (256 levels)."""
    return any(sum(1 for _ in leaf.iterancestors()) >= 255 for leaf in tree.iter() if len(leaf) == 0)


def _text_of(value: Any) -> str | None:
    if isinstance(value, str):
        text = normalize_line(value)
        return text or None
    if isinstance(value, dict):
        return _text_of(value.get("name"))
    return None


def _list_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _json_ld_objects(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    for script in tree.iterfind(".//script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        if len(script.text) > _MAX_JSON_LD_CHARS:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            # Broken JSON-LD is common (trailing commas, HTML entities); the page has other signals.
            continue
        stack = _list_of(data)
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                yield item
                stack.extend(_list_of(item.get("@graph")))


def _is_article(item: dict[str, Any]) -> bool:
    return any(isinstance(kind, str) and kind.lower() in _ARTICLE_TYPES for kind in _list_of(item.get("@type")))


def _unique(values: list[str], limit: int) -> list[str]:
    seen: set[str] = set()
    result: list[str] = []
    for value in values:
        key = value.casefold()
        if value and key not in seen:
            seen.add(key)
            result.append(value)
    return result[:limit]


def _split_keywords(value: Any) -> list[str]:
    words: list[str] = []
    for item in _list_of(value):
        text = _text_of(item)
        if text:
            words.extend(part.strip() for part in text.split(",") if part.strip())
    return words


def _image_url(value: Any, base: str | None) -> str | None:
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    if not isinstance(value, str) or not value.strip() or value.startswith("data:"):
        return None
    return urljoin(base, value.strip()) if base else value.strip()


def _figure_images(tree: HtmlElement, base: str | None) -> list[ArticleImage]:
    images: list[ArticleImage] = []
    for figure in tree.iter("figure"):
        img = next(figure.iter("img"), None)
        src = None
        if img is not None:
            srcset = (img.get("srcset") or img.get("data-srcset") or "").split(",")[0].split(" ")[0]
            src = _image_url(img.get("src") or img.get("data-src") or srcset or None, base)
        figcaption = next(figure.iter("figcaption"), None)
        caption = credit = None
        if figcaption is not None:
            for part in figcaption.iter():
                if part is not figcaption and _CREDIT_CLASSES.search(part.get("class") or ""):
                    printed = normalize_line(part.text_content()).strip(" ©")
                    credit = credit_of_line(printed) or printed or None
            caption = normalize_line(figcaption.text_content()) or None
            if caption is not None and credit is None:
                found = caption_of_line(caption)
                credit = found[1] if found else None
        if src is None and caption is None:
            continue
        images.append(ArticleImage(url=src, caption=caption, credit=credit))
        if len(images) >= _MAX_IMAGES:
            break
    return images


def _page_blocks(document: Document, title: str | None) -> list[tuple[str, BlockKind]]:
    text = document.text or ""
    body = document.body
    headings: set[str] = set()
    items: set[str] = set()
    if body is not None:
        headings = {normalize_line("".join(head.itertext())) for head in body.iter("head")}
        items = {normalize_line("".join(item.itertext())) for item in body.iter("item")}
    title_key = comparison_key(title) if title else None
    blocks: list[tuple[str, BlockKind]] = []
    for raw_line in normalize_text(text).split("\n"):
        line = raw_line.strip()
        if line.startswith("- ") and line[2:] in items:
            line = line[2:]
        if not line or is_debris(line):
            continue
        if not blocks and title_key is not None and comparison_key(line) == title_key:
            continue
        blocks.append((line, "heading" if line in headings else "paragraph"))
    return blocks


def extract_page(tree: HtmlElement, *, url: str | None, latest_year: int) -> PageExtract:
    """Main text with trafilatura (settings chosen on the extraction benchmark) and the page's metadata."""
    meta: dict[str, list[str]] = {}
    for element in tree.iter("meta"):
        key = (element.get("property") or element.get("name") or element.get("itemprop") or "").strip().lower()
        content = element.get("content")
        if key and content and content.strip():
            meta.setdefault(key, []).append(content.strip())
    canonical = None
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            canonical = link.get("href")
            break
    articles = [item for item in _json_ld_objects(tree) if _is_article(item)]
    article: dict[str, Any] = articles[0] if articles else {}
    figures = _figure_images(tree, url)
    html_lang = tree.get("lang") or tree.get("xml:lang")

    # include_comments=False and favor_precision=True scored best on the benchmark (see
    # tests/benchmarks/RESULTS.md); deduplicate stays off because its cache is shared across
    # calls, which would make the output depend on earlier articles.
    extracted = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        favor_precision=True,
        include_tables=True,
        deduplicate=False,
        date_extraction_params={"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%d"},
    )
    document = extracted if isinstance(extracted, Document) else None

    def first_meta(*keys: str) -> str | None:
        for key in keys:
            for value in meta.get(key, []):
                text = normalize_line(value)
                if text:
                    return text
        return None

    title = _text_of(article.get("headline"))
    if title is None and document is not None and document.title:
        title = normalize_line(document.title) or None
    title = title or first_meta("og:title", "twitter:title")
    page = PageExtract(blocks=_page_blocks(document, title) if document is not None else [], title=title)
    # A date line printed above the text (`الخميس ٢٦ أيلول/سبتمبر ٢٠٢٤`) is metadata, not body.
    for index, (line, _) in enumerate(page.blocks[:_HEADER_BLOCKS]):
        if (found := date_line(line, latest_year=latest_year)) is not None:
            page.header_date = found
            del page.blocks[index]
            break

    # Dates: the page's structured data first, the extractor's guess last.
    for value, source in (
        (article.get("datePublished"), DateSource.JSON_LD),
        (first_meta(*_PUBLISHED_META), DateSource.META),
    ):
        if isinstance(value, str) and (parsed := parse_date_string(value, latest_year=latest_year)) is not None:
            page.date_published, page.date_published_source = parsed, source
            break
    if page.date_published is None:
        for time_element in tree.iter("time"):
            stamp = time_element.get("datetime")
            if stamp and (time_element.get("itemprop") == "datePublished" or time_element.get("pubdate") is not None):
                page.date_published = parse_date_string(stamp, latest_year=latest_year)
                page.date_published_source = DateSource.HTML if page.date_published else None
                break
    for value in (article.get("dateModified"), first_meta(*_MODIFIED_META)):
        if isinstance(value, str) and (parsed := parse_date_string(value, latest_year=latest_year)) is not None:
            page.date_modified = parsed
            break
    if page.date_published is None and document is not None and document.date:
        page.date_published = parse_date_string(document.date, latest_year=latest_year)
        page.date_published_source = DateSource.HTML if page.date_published else None

    # Site name: trafilatura sometimes returns the headline or a URL, so the page's own signals come first.
    publisher = _text_of(article.get("publisher"))
    candidates = [publisher, first_meta("og:site_name", "application-name", "twitter:site")]
    candidates.append(normalize_line(document.sitename) if document is not None and document.sitename else None)
    title_key = comparison_key(title) if title else ""
    for name in candidates:
        if name and not _DUBIOUS_NAME.search(name) and comparison_key(name) != title_key:
            page.site_name = name.lstrip("@") if name.startswith("@") else name
            break

    authors = [_text_of(author) for author in _list_of(article.get("author"))]
    if not any(authors):
        authors = [first_meta("author", "article:author", "dc.creator", "sailthru.author", "parsely-author")]
    if not any(authors) and document is not None and document.author:
        authors = [normalize_line(name) for name in document.author.split(";")]
    page.authors = _unique([a for a in authors if a and not _DUBIOUS_NAME.search(a) and a != page.site_name], 10)

    page.canonical = canonical or first_meta("og:url")
    page.description = (
        _text_of(article.get("description"))
        or first_meta("description", "og:description", "twitter:description")
        or (normalize_line(document.description) if document is not None and document.description else None)
    )
    locale = first_meta("og:locale", "content-language", "language", "dc.language")
    language = html_lang or _text_of(article.get("inLanguage")) or locale
    page.language = language.strip().replace("_", "-") if language and language.strip() else None

    sections = _split_keywords(article.get("articleSection")) + meta.get("article:section", [])
    if document is not None and document.categories:
        sections += document.categories
    page.categories = _unique([normalize_line(s) for s in sections], _MAX_LIST_ITEMS)
    keywords = _split_keywords(article.get("keywords")) + meta.get("article:tag", [])
    for key in ("news_keywords", "keywords"):
        keywords += _split_keywords(meta.get(key, []))
    if document is not None and document.tags:
        keywords += _split_keywords(document.tags)
    page.tags = _unique([normalize_line(k) for k in keywords], _MAX_LIST_ITEMS)

    images: list[ArticleImage] = []
    lead = _image_url(first_meta("og:image", "twitter:image"), url)
    for image in _list_of(article.get("image")):
        image_url = _image_url(image, url)
        if image_url:
            caption = _text_of(image.get("caption")) if isinstance(image, dict) else None
            images.append(ArticleImage(url=image_url, caption=caption))
    if lead:
        images.append(ArticleImage(url=lead))
    images.extend(figures)
    seen_urls: set[str] = set()
    for image in images:
        if image.url is not None and image.url in seen_urls:
            continue
        if image.url is not None:
            seen_urls.add(image.url)
        page.images.append(image)
    page.images = page.images[:_MAX_IMAGES]
    return page
