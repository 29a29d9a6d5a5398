"""Stories with their names marked inline, `[[PER|Anders Karlsson]] beat [[PER|Luis Moreno]] ( [[LOC|Spain]] )`,
read as the recogniser's training sentences (`token`, BIO tag) and as plain text with gold mentions.

The wire stories of `tests/fixtures/entities/wire_stories*.json` are written this way. Tokens and sentences are
cut as the recogniser cuts them at run time (`features.TOKEN_RE`, a sentence ends at a line break or after
. ! ?), so the model learns from the same units it later reads.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from newswire.enricher.entities.features import SENTENCE_END, TOKEN_RE

MARK = re.compile(r"\[\[(PER|ORG|LOC|MISC)\|([^\[\]|]+)\]\]")
TYPES = ("PER", "ORG", "LOC", "MISC")

Sentence = list[tuple[str, str]]


class MarkupError(ValueError):
    """A story whose marks cannot be read."""


def unmark(text: str) -> tuple[str, list[tuple[int, int, str]]]:
    """The plain text of a marked story and its names as (start, end, type) character spans of that text."""
    plain: list[str] = []
    spans: list[tuple[int, int, str]] = []
    at = 0
    length = 0
    for match in MARK.finditer(text):
        before = text[at : match.start()]
        plain.append(before)
        length += len(before)
        name = match.group(2)
        spans.append((length, length + len(name), match.group(1)))
        plain.append(name)
        length += len(name)
        at = match.end()
    plain.append(text[at:])
    result = "".join(plain)
    if "[[" in result or "]]" in result:
        raise MarkupError(f"an unreadable mark is left in: {result[result.find('[['):][:60]!r}")
    return result, spans


def tagged_sentences(text: str) -> list[Sentence]:
    """A marked story as sentences of (token, BIO tag); a token belongs to the name whose span holds it."""
    plain, spans = unmark(text)
    sentences: list[Sentence] = []
    for line_match in re.finditer(r"[^\n]+", plain):
        current: Sentence = []
        previous: int | None = None
        for token in TOKEN_RE.finditer(line_match.group()):
            start, end = token.start() + line_match.start(), token.end() + line_match.start()
            owner = next((index for index, (first, last, _) in enumerate(spans) if first <= start < end <= last), None)
            tag = "O" if owner is None else f"{'I' if owner == previous else 'B'}-{spans[owner][2]}"
            previous = owner
            current.append((token.group(), tag))
            if token.group() in SENTENCE_END:
                sentences.append(current)
                current, previous = [], None
        if current:
            sentences.append(current)
    return sentences


def read_stories(path: Path) -> list[tuple[str, str]]:
    """(id, marked text) of every story of a `{"about", "stories": [{"id", "text"}]}` file."""
    stories = json.loads(path.read_text(encoding="utf-8"))["stories"]
    return [(story["id"], story["text"]) for story in stories]
