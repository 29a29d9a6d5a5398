"""The scraped-text cleaner before the line classifier (frozen copy of services/cleaner/text.py at 184454f).

Kept so the extraction benchmark can score the previous text cleaner in the same run as the current one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from newswire.cleaner.dates import date_line
from newswire.cleaner.debris import caption_of_line, credit_of_line, is_debris, source_of_line
from newswire.cleaner.normalize import comparison_key, normalize_line, normalize_text
from newswire.schemas import ArticleImage

BlockKind = Literal["paragraph", "heading"]

# The page header (date, headline, byline) sits in the first lines, the trailer in the last.
_HEADER_LINES = 8
_TRAILER_LINES = 6
_MAX_HEADLINE_CHARS = 250
_MAX_HEADING_CHARS = 120
_MAX_HEADING_WORDS = 16
_MAX_SOURCE_VALUE_CHARS = 60
# A sentence ends with one of these (Latin, Arabic, Persian, CJK full stops, colons, commas);
# a subheading does not, though it may end with a question mark or a closing quote.
_SENTENCE_END = (".", "!", "…", ":", ";", ",", "،", "؛", "。", "۔")
_BYLINE = re.compile(
    r"^(?:by|par|por|von|di|автор|yazan|بقلم|كتب|نویسنده)\s*:?\s+(?P<names>[^\d\n]{2,100})$", re.IGNORECASE
)
_NAME_SEPARATORS = re.compile(r"\s*(?:,|&|\band\b|\bet\b|\by\b|\bund\b|\bve\b|\bи\b|\sو\s?)\s*", re.IGNORECASE)
_WORD = re.compile(r"\w+")


@dataclass(slots=True)
class TextExtract:
    """What the scraped-text path found: the body's blocks and the metadata taken out of it."""

    title: str | None
    blocks: list[tuple[str, BlockKind]]
    date_published: datetime | None = None
    source_name: str | None = None
    authors: list[str] = field(default_factory=list)
    images: list[ArticleImage] = field(default_factory=list)


def _looks_like_headline(line: str) -> bool:
    return len(line) <= _MAX_HEADLINE_CHARS and not line.endswith(_SENTENCE_END)


def _looks_like_heading(line: str, next_line: str | None) -> bool:
    if next_line is None or len(line) > _MAX_HEADING_CHARS or line.endswith(_SENTENCE_END):
        return False
    if len(_WORD.findall(line)) > _MAX_HEADING_WORDS:
        return False
    # A subheading introduces a longer paragraph; two short lines in a row are more likely a list.
    return len(next_line) > len(line)


def _byline_names(line: str) -> list[str] | None:
    match = _BYLINE.match(line)
    if match is None:
        return None
    names = [name.strip(" .") for name in _NAME_SEPARATORS.split(match["names"])]
    return [name for name in names if name] or None


def clean_scraped_text(text: str, *, title: str | None, latest_year: int) -> TextExtract:
    """Split scraped text into body blocks and take the page debris and metadata out of it."""
    lines = [line.strip() for line in normalize_text(text).split("\n")]
    lines = [line for line in lines if line and not is_debris(line)]
    result = TextExtract(title=normalize_line(title) if title and title.strip() else None, blocks=[])

    # Header: date line and byline among the first lines; they leave the body.
    kept: list[str] = []
    for index, line in enumerate(lines):
        if index < _HEADER_LINES or index >= len(lines) - _TRAILER_LINES:
            found = date_line(line, latest_year=latest_year)
            if found is not None:
                if result.date_published is None:
                    result.date_published = found
                continue
            if index < _HEADER_LINES and not result.authors:
                names = _byline_names(line)
                if names is not None:
                    result.authors = names
                    continue
        kept.append(line)
    lines = kept

    # Trailer: `Source: X` or `المصادر:` with the value on the next line.
    for index in range(max(0, len(lines) - _TRAILER_LINES), len(lines)):
        source = source_of_line(lines[index])
        if source is None:
            continue
        value = source[0]
        consumed = 1
        if value is None and index + 1 < len(lines) and len(lines[index + 1]) <= _MAX_SOURCE_VALUE_CHARS:
            value = lines[index + 1].strip(" .")
            consumed = 2
        result.source_name = value
        del lines[index : index + consumed]
        break

    # Headline: the scraper's title, else a first line that is repeated or reads like a headline.
    if result.title is None and lines:
        first_key = comparison_key(lines[0])
        repeated = any(comparison_key(line) == first_key for line in lines[1:4])
        if repeated or (_looks_like_headline(lines[0]) and len(lines) > 1):
            result.title = lines[0]
    if result.title is not None:
        title_key = comparison_key(result.title)
        lines = [line for line in lines if comparison_key(line) != title_key]

    # Captions and credits move into images; what is left is the body.
    body: list[str] = []
    previous_was_image = False
    for line in lines:
        credit = credit_of_line(line)
        if credit is not None:
            if previous_was_image and result.images[-1].credit is None:
                result.images[-1] = result.images[-1].model_copy(update={"credit": credit})
            else:
                result.images.append(ArticleImage(credit=credit))
            previous_was_image = True
            continue
        caption = caption_of_line(line)
        if caption is not None:
            if previous_was_image and result.images[-1].caption is None:
                result.images[-1] = result.images[-1].model_copy(update={"caption": caption[0]})
            else:
                result.images.append(ArticleImage(caption=caption[0], credit=caption[1]))
            previous_was_image = True
            continue
        previous_was_image = False
        if body and body[-1] == line:
            continue
        body.append(line)

    for index, line in enumerate(body):
        next_line = body[index + 1] if index + 1 < len(body) else None
        kind: BlockKind = "heading" if index > 0 and _looks_like_heading(line, next_line) else "paragraph"
        result.blocks.append((line, kind))
    return result
