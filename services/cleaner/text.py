"""Scraped-text path: the line classifier's article lines, the headline, leading metadata, captions, trailer."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from newswire.cleaner.dates import FoundDate, date_line, dateline_place, find_date
from newswire.cleaner.debris import caption_of_line, credit_of_line, is_debris, source_of_line
from newswire.cleaner.lines import content_probabilities, line_model
from newswire.cleaner.normalize import comparison_key, normalize_line, normalize_text
from newswire.schemas import ArticleImage

BlockKind = Literal["paragraph", "heading"]

# The page header (date, headline, byline) sits in the lines before the article, the trailer after it.
_HEADER_LINES = 8
_TRAILER_LINES = 6
# The headline is among the last lines before the article text starts.
_HEADLINE_WINDOW = 12
_MAX_HEADLINE_CHARS = 250
_MIN_HEADLINE_WORDS = 2
_MAX_HEADING_CHARS = 120
_MIN_SUBHEADING_WORDS = 2
_MAX_HEADING_WORDS = 16
_MAX_SOURCE_VALUE_CHARS = 60
# A text this short is read whole: the page classifier needs a page around a line to judge it.
_SHORT_TEXT_LINES = 3
# A scraper's already-extracted article: no line is page debris and the classifier keeps at least one of its lines
# (the share of lines it may drop is below 1). Page dumps nearly always carry debris (menus, share buttons,
# copyright lines); an article's lists, tables and quotations, which the classifier alone reads as page furniture,
# then stay, also a results table under one line of prose. Chosen by 5-fold cross-validation on the AEB pages sent
# as dumps and as their true bodies (RESULTS.md, "Scraped text"): 0.9 and 1.0 tie on the dumps, 1.0 keeps more of
# the true bodies.
_EXTRACTED_MAX_DROPPED = 1.0
# A line that is a sentence by itself: enough words (or letters, for scripts written without spaces).
_SENTENCE_MIN_WORDS = 4
_SENTENCE_MIN_LETTERS = 15
_MIN_UNSPACED_LETTERS = 5
_ENDS_SENTENCE = re.compile(r"[.!?。！？؟۔।][\"'”’»)]*$")
# A sentence ends with one of these (Latin, Arabic, Persian, CJK full stops, colons, commas);
# a subheading does not, though it may end with a question mark or a closing quote.
_SENTENCE_END = (".", "!", "…", ":", ";", ",", "،", "؛", "。", "۔")
_BYLINE = re.compile(
    r"^(?:by|par|por|von|di|автор|yazan|بقلم|كتب|نویسنده)\s*:?\s+(?P<names>[^\d\n]{2,100})$", re.IGNORECASE
)
_NAME_SEPARATORS = re.compile(r"\s*(?:,|&|\band\b|\bet\b|\by\b|\bund\b|\bve\b|\bи\b|\sو\s?)\s*", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_URL = re.compile(r"https?://[^\s<>\"']+|\bwww\.[^\s<>\"']+", re.IGNORECASE)
# Separators between the fields of a metadata line (`By Jane Doe | Published 3 March 2024`).
_FIELD_SEPARATORS = re.compile(r"\s+[|•·–—-]\s+|\s*\|\s*")
# Separators of a breadcrumb trail (`Home › World › Headline`).
_CRUMB_SEPARATORS = re.compile(r"\s*(?:[›»>/|]|\s-\s)\s*")
_MAX_CRUMB_WORDS = 3
_CLAUSE = re.compile(r"[,.;:!?،؛]")
# A short line at the edge of the article that speaks about the article itself is a notice (machine
# translation, corrections policy, "this story is available in"), not the story.
_SELF_REFERENCE = re.compile(
    r"\b(?:this|the) (?:article|story|page|post)\b|هذا المقال|هذه المقالة|هذا الخبر|هذه الصفحة|\bcet article\b"
    r"|\bcette page\b|\best[ea] (?:artículo|nota|página)\b|\bdiese[rs]? (?:artikel|seite|beitrag)\b"
    r"|\bэт(?:а|ой|у) стать|\bbu (?:haber|makale|sayfa)|این (?:مطلب|خبر|مقاله)",
    re.IGNORECASE,
)
_MAX_NOTICE_CHARS = 200
_NOTICE_EDGE_LINES = 2
# Words a metadata field may carry besides its value (`Source:`, `URL`, `Link`).
_MAX_LEFTOVER_WORDS = 2


@dataclass(slots=True)
class TextExtract:
    """What the scraped-text path found: the body's blocks and the metadata taken out of it."""

    title: str | None
    blocks: list[tuple[str, BlockKind]]
    date_published: datetime | None = None
    source_name: str | None = None
    authors: list[str] = field(default_factory=list)
    images: list[ArticleImage] = field(default_factory=list)
    url: str | None = None
    # Every line of the text (normalised), for the source-template store.
    lines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Metadata:
    date: datetime | None = None
    url: str | None = None
    authors: list[str] | None = None


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


def is_sentence(line: str) -> bool:
    """True when a line reads as a sentence on its own: enough words, not page furniture, not a link."""
    if is_debris(line) or _URL.search(line):
        return False
    words = len(_WORD.findall(line))
    letters = len(_LETTER.findall(line))
    if words >= _SENTENCE_MIN_WORDS or (words >= 1 and letters >= _SENTENCE_MIN_LETTERS):
        return True
    # Two words and a full stop (`Terrible keyboard.`), or a short sentence in a script without spaces.
    return _ENDS_SENTENCE.search(line) is not None and (words >= 2 or letters >= _MIN_UNSPACED_LETTERS)


def metadata_of_line(line: str, *, latest_year: int) -> _Metadata | None:
    """Date, URL and authors if the whole line is a scraper's or a page's metadata line, else None.

    `2024-03-05 https://example.com/a`, `By Jane Doe | Published 5 March 2024`, `Source: https://...`.
    """
    if not _DIGIT.search(line) and not _URL.search(line) and _BYLINE.match(line) is None:
        return None  # no date, no URL, no byline: not a metadata line (and no costly date parsing)
    # Date parsing is the costly part: each text is searched once, and read as a date line only if it holds a date.
    dates: dict[str, FoundDate | None] = {}

    def date_in(text: str) -> FoundDate | None:
        if text not in dates:
            dates[text] = find_date(text, latest_year=latest_year)
        return dates[text]

    if date_in(line) is not None and (found := date_line(line, latest_year=latest_year)) is not None:
        return _Metadata(date=found)
    if (names := _byline_names(line)) is not None and not _FIELD_SEPARATORS.search(line):
        return _Metadata(authors=names)
    result = _Metadata()
    rest = line
    if (url := _URL.search(rest)) is not None:
        result.url = url.group().rstrip(".,;)")
        rest = rest[: url.start()] + " " + rest[url.end() :]
    for part in _FIELD_SEPARATORS.split(rest):
        part = part.strip(" :|")
        if not part:
            continue
        if result.authors is None and (names := _byline_names(part)) is not None:
            result.authors = names
            continue
        if result.date is None and (date := date_in(part)) is not None:
            if (found := date_line(part, latest_year=latest_year)) is not None:
                result.date = found
                continue
            leftover = part[: date.start] + " " + part[date.end :]
            if len(_WORD.findall(leftover)) <= _MAX_LEFTOVER_WORDS:
                result.date = date.value
                continue
        if len(_WORD.findall(part)) > _MAX_LEFTOVER_WORDS:
            return None
    if result.url is None and result.date is None and result.authors is None:
        return None
    # A URL alone with a label is metadata; a URL inside a sentence is not.
    return result


def headline_of_breadcrumb(line: str) -> str | None:
    """The last crumb of a trail (`Home › World › Headline`) when it reads like a headline."""
    crumbs = [crumb for crumb in _CRUMB_SEPARATORS.split(line) if crumb.strip()]
    if len(crumbs) < 2:
        return None
    *path, last = crumbs
    if any(len(_WORD.findall(crumb)) > _MAX_CRUMB_WORDS or _CLAUSE.search(crumb) for crumb in path):
        return None
    return last.strip() if len(_WORD.findall(last)) >= _MIN_HEADLINE_WORDS else None


def _headline_score(line: str, distance: int, repeated: bool, debris: bool) -> float | None:
    """How much a line before the article reads like its headline (None: it cannot be)."""
    words = len(_WORD.findall(line))
    if len(line) > _MAX_HEADLINE_CHARS or words < _MIN_HEADLINE_WORDS or debris or _URL.search(line):
        return None
    if line.endswith(_SENTENCE_END) and not line.endswith("…"):
        return None
    score = min(words, 14) / 2 - distance * 0.6 + (3.0 if repeated else 0.0)
    if words < 8 and len({_script_of(char) for char in line if char.isalpha()}) > 1:
        score -= 4.0  # a bilingual menu label (`Accueil الرئيسية`)
    return score


def _script_of(char: str) -> str:
    # Enough to tell Latin, Arabic, Cyrillic, Greek, Hebrew and CJK apart.
    code = ord(char)
    if code < 0x250:
        return "latin"
    if 0x370 <= code < 0x400:
        return "greek"
    if 0x400 <= code < 0x530:
        return "cyrillic"
    if 0x590 <= code < 0x600:
        return "hebrew"
    if 0x600 <= code < 0x780 or 0xFB50 <= code < 0xFF00:
        return "arabic"
    return "other"


def _choose_headline(
    lines: list[str], keys: list[str], debris: list[bool], first_body: int, removed: set[int]
) -> tuple[str, int | None] | None:
    """The headline among the lines before the article: (headline, index of a breadcrumb it came from)."""
    key_counts = Counter(keys)
    best: tuple[float, str, int | None] | None = None
    start = max(0, first_body - _HEADLINE_WINDOW)
    for index in range(start, first_body):
        if index in removed:
            continue
        line = lines[index]
        crumb = headline_of_breadcrumb(line)
        if crumb is None:
            candidate, source, key, candidate_debris = line, None, keys[index], debris[index]
        else:
            candidate, source, key = crumb, index, comparison_key(crumb)
            candidate_debris = is_debris(crumb, key)
        score = _headline_score(candidate, first_body - index - 1, key_counts[key] > 1, candidate_debris)
        if score is not None and (best is None or score > best[0]):
            best = (score, candidate, source)
    return (best[1], best[2]) if best is not None else None


def _lone_word(line: str) -> bool:
    """One short word on its own line (`Loading`, `null`, `Follow`): an interface label, whatever surrounds it."""
    return (
        len(_WORD.findall(line)) < _MIN_SUBHEADING_WORDS
        and len(_LETTER.findall(line)) < _SENTENCE_MIN_LETTERS
        and _ENDS_SENTENCE.search(line) is None
    )


def _kept_lines(lines: list[str], keys: list[str], debris: list[bool]) -> tuple[list[bool], bool]:
    """The classifier's verdict per line (a short text keeps every line that is a sentence), and whether the text
    is an article already, with no page around it."""
    threshold = line_model().threshold
    probabilities = content_probabilities(lines, keys=keys, debris=debris)
    kept = [
        p >= threshold and not flag and not _lone_word(line)
        for line, p, flag in zip(lines, probabilities, debris, strict=True)
    ]
    if len(lines) <= _SHORT_TEXT_LINES or not any(kept):
        # A real sentence is never debris: with too little page to judge, keep what reads as prose.
        kept = [keep or is_sentence(line) for keep, line in zip(kept, lines, strict=True)]
    return kept, is_extracted_article(probabilities, debris, threshold)


def is_extracted_article(probabilities: list[float], debris: list[bool], threshold: float) -> bool:
    """Whether a text is an article already (no page around it): no debris line, and the classifier keeps at least
    one of its lines."""
    if not probabilities or any(debris):
        return False
    dropped = sum(1 for p in probabilities if p < threshold) / len(probabilities)
    return dropped < _EXTRACTED_MAX_DROPPED


def _without_edge_notices(body: list[str]) -> list[str]:
    """Drop notices about the article itself among its first and last lines (never the whole body)."""
    edges = set(range(_NOTICE_EDGE_LINES)) | set(range(len(body) - _NOTICE_EDGE_LINES, len(body)))
    notices = {
        index
        for index in edges
        if 0 <= index < len(body) and len(body[index]) <= _MAX_NOTICE_CHARS and _SELF_REFERENCE.search(body[index])
    }
    return body if len(notices) >= len(body) else [line for index, line in enumerate(body) if index not in notices]


def _subheading_between(lines: list[str], kept: list[bool], debris: list[bool], removed: set[int], index: int) -> bool:
    """A short unpunctuated line inside the article that introduces the kept paragraph after it."""
    following = next((i for i in range(index + 1, len(lines)) if i not in removed), None)
    if following is None or not kept[following] or not any(kept[:index]):
        return False
    line = lines[index]
    # A single word between paragraphs is an interface label (`Loading`, `Follow`), not a subheading.
    if debris[index] or _URL.search(line) or len(_WORD.findall(line)) < _MIN_SUBHEADING_WORDS:
        return False
    return _looks_like_heading(line, lines[following])


def clean_scraped_text(text: str, *, title: str | None, latest_year: int) -> TextExtract:
    """Split scraped text into body blocks and take the page debris and metadata out of it."""
    lines = [line.strip() for line in normalize_text(text).split("\n")]
    lines = [line for line in lines if line]
    result = TextExtract(title=normalize_line(title) if title and title.strip() else None, blocks=[], lines=lines)
    if not lines:
        return result
    keys = [comparison_key(line) for line in lines]
    debris = [is_debris(line, key) for line, key in zip(lines, keys, strict=True)]
    kept, extracted = _kept_lines(lines, keys, debris)
    first_body = next((index for index, keep in enumerate(kept) if keep), len(lines))
    last_body = max((index for index, keep in enumerate(kept) if keep), default=-1)
    if extracted:
        # An article already starts at its first line, whatever the classifier made of its first lines (a
        # dateline, a results table): its header and headline are looked for there, not deeper in.
        first_body, last_body = 0, len(lines) - 1
    removed: set[int] = set()
    # A wire dateline (`LONDON 2025-11-08`) gives the date; its place stays in the body.
    datelines: dict[int, str] = {}

    # Header: metadata lines (date, byline, URL) before the article and in its first lines leave the body.
    for index in range(max(0, first_body - _HEADLINE_WINDOW), min(len(lines), first_body + _HEADER_LINES)):
        found = metadata_of_line(lines[index], latest_year=latest_year)
        if found is None:
            continue
        if found.date is not None and result.date_published is None:
            result.date_published = found.date
        if found.date is not None and found.authors is None and _BYLINE.match(lines[index]) is None:
            place = dateline_place(lines[index], latest_year=latest_year)
            if place is not None:
                datelines[index] = place
        if found.url is not None and result.url is None:
            result.url = found.url
        if found.authors and not result.authors:
            result.authors = found.authors
        removed.add(index)
    for index in range(max(0, last_body - _TRAILER_LINES), min(len(lines), last_body + _TRAILER_LINES)):
        if index in removed or not _DIGIT.search(lines[index]):
            continue  # a date needs a day and a year
        if (found_date := date_line(lines[index], latest_year=latest_year)) is not None:
            result.date_published = result.date_published or found_date
            removed.add(index)

    # Trailer: `Source: X` or `المصادر:` with the value on the next line.
    for index in range(max(0, last_body - _TRAILER_LINES), min(len(lines), last_body + _TRAILER_LINES + 1)):
        source = source_of_line(lines[index])
        if source is None or index in removed:
            continue
        value = source[0]
        removed.add(index)
        if value is None and index + 1 < len(lines) and len(lines[index + 1]) <= _MAX_SOURCE_VALUE_CHARS:
            value = lines[index + 1].strip(" .")
            removed.add(index + 1)
        result.source_name = value
        break

    # Captions and credits around the article move into images.
    previous_image = -2
    for index in range(max(0, first_body - _HEADLINE_WINDOW), min(len(lines), last_body + _TRAILER_LINES)):
        if index in removed:
            continue
        line = lines[index]
        credit = credit_of_line(line)
        caption = caption_of_line(line) if credit is None else None
        if credit is None and caption is None:
            continue
        removed.add(index)
        joins = previous_image == index - 1
        if credit is not None:
            if joins and result.images[-1].credit is None:
                result.images[-1] = result.images[-1].model_copy(update={"credit": credit})
            else:
                result.images.append(ArticleImage(credit=credit))
        elif caption is not None:
            if joins and result.images[-1].caption is None:
                result.images[-1] = result.images[-1].model_copy(update={"caption": caption[0]})
            else:
                result.images.append(ArticleImage(caption=caption[0], credit=caption[1]))
        previous_image = index

    # Headline: the scraper's title, else the line before the article that reads most like one.
    if result.title is None and extracted:
        # Of an article already extracted, only its first line after any metadata can be its headline.
        top = next((index for index in range(len(lines)) if index not in removed), None)
        if top is not None and top < len(lines) - 1 and _headline_score(lines[top], 0, False, debris[top]) is not None:
            result.title = lines[top]
    elif result.title is None:
        chosen = _choose_headline(lines, keys, debris, first_body, removed)
        if chosen is None and kept[0] and len(lines) > 1 and not lines[0].endswith(_SENTENCE_END):
            chosen = (lines[0], None)
        if chosen is not None:
            result.title = chosen[0]
            if chosen[1] is not None:
                removed.add(chosen[1])
    if result.title is not None:
        title_key = comparison_key(result.title)
        removed.update(index for index, key in enumerate(keys) if key == title_key)

    # The body: the classifier's lines, and the subheadings between them; of an extracted article, every line
    # but its metadata, headline, captions and lone interface words.
    body: list[str] = []
    for index in range(0, len(lines)) if extracted else range(first_body, last_body + 1):
        line = lines[index]
        if index in datelines and (not body or body[-1] != datelines[index]):
            body.append(datelines[index])
            continue
        if index in removed:
            continue
        if not (kept[index] or (extracted and not _lone_word(line))) and not _subheading_between(
            lines, kept, debris, removed, index
        ):
            continue
        if body and body[-1] == line:
            continue
        body.append(line)

    body = _without_edge_notices(body)
    for index, line in enumerate(body):
        next_line = body[index + 1] if index + 1 < len(body) else None
        kind: BlockKind = "heading" if index > 0 and _looks_like_heading(line, next_line) else "paragraph"
        result.blocks.append((line, kind))
    return result
