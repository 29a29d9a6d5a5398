"""Pure transform of the cleaning stage: RawArticle -> CleanedArticle (no broker, no I/O)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime

import trafilatura

from schemas import CleanedArticle, Paragraph, RawArticle
from services.errors import ArticleRefused

_BOILERPLATE = re.compile(r"^(close|share|شارك القصة|تابع القراءة|read more)$", re.IGNORECASE)


def clean_article(raw: RawArticle, *, received_at: datetime) -> CleanedArticle:
    """Extract the article text and metadata from a raw entry."""
    text = raw.text or ""
    if raw.html:
        text = trafilatura.extract(raw.html, url=raw.url) or text
    blocks = [unicodedata.normalize("NFC", b.strip()) for b in re.split(r"\n\s*\n|\n", text)]
    blocks = [b for b in blocks if b and not _BOILERPLATE.match(b)]
    title = raw.title
    if title is None and blocks:
        title = blocks[0]
    blocks = [b for b in blocks if b != title]
    if not blocks:
        raise ArticleRefused("empty_after_cleaning", "nothing was left of the article after removing page debris")
    paragraphs: list[Paragraph] = []
    offset = 0
    for block in blocks:
        paragraphs.append(Paragraph(text=block, start=offset))
        offset += len(block) + 2
    body = "\n\n".join(blocks)
    content_hash = hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()
    return CleanedArticle(
        **raw.model_dump(exclude={"html", "title"}),
        title=title,
        article_id=raw.id or content_hash[:32],
        body=body,
        paragraphs=paragraphs,
        content_hash=content_hash,
        word_count=len(body.split()),
        received_at=received_at,
    )
