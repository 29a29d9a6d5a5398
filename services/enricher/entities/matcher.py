"""Multi-pattern search of every knowledge-base alias in a text, with Arabic clitics and Latin word boundaries."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import ahocorasick

from newswire.enricher.entities.kb import KnownEntity, Lexicon
from newswire.enricher.entities.normalize import alias_key, is_arabic

ARTICLE = "ال"
# Arabic proclitics written before a name: a conjunction (و, ف), then a preposition (ب, ل, ك). Before the
# article ل fuses with it (ل + الصين -> للصين), so the text then shows لل and no alef.
BARE_PREFIXES = frozenset({"", "و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل", "فك"})
ARTICLE_PREFIXES = frozenset(p + ARTICLE for p in BARE_PREFIXES) | {"لل", "ولل", "فلل"}
MAX_PREFIX = 4
# Aliases with an article whose core is this long also match without it (ناتو as well as الناتو).
MIN_BARE_CORE = 4


class CaseRule(Enum):
    """How the case of a Latin-script match must agree with the alias."""

    EXACT = "exact"  # acronyms: "US" is the country, "us" is not
    CAPITALISED = "capitalised"  # names: "Nice" may be the city, "nice" is not
    ANY = "any"


@dataclass(frozen=True, slots=True)
class AliasRef:
    """One alias of one entity, as stored under its normalised key."""

    entity: int
    alias: str
    arabic: bool
    article: bool
    case: CaseRule
    single_word: bool


@dataclass(frozen=True, slots=True)
class Span:
    """A matched alias in the text: where the word starts, where the name starts and ends, and who it may be."""

    word_start: int
    start: int
    end: int
    refs: tuple[AliasRef, ...]


def _case_rule(alias: str) -> CaseRule:
    letters = [ch for ch in alias if ch.isalpha()]
    if not letters or not letters[0].isupper():
        return CaseRule.ANY
    if all(ch.isupper() for ch in letters) and len(letters) <= 6:
        return CaseRule.EXACT
    return CaseRule.CAPITALISED


def _compound_end(original: str, start: int) -> bool:
    """Whether a Latin-script word at `start` ends a compound name: after "&" joined to a capital ("T" in "AT&T")
    or after a hyphen joined to a single letter or to digits ("Mobile" in "T-Mobile", "16" in "F-16"); "US-China",
    two names joined, is not one."""
    if start < 2 or original[start - 1] not in "-&":
        return False
    before = start - 1
    while before > 0 and original[before - 1].isalnum():
        before -= 1
    joined = original[before : start - 1]
    if original[start - 1] == "&":
        return joined[-1:].isupper()
    return len(joined) == 1 or joined.isdigit()


def _is_word_char(ch: str) -> bool:
    return ch.isalnum()


class AliasMatcher:
    """An Aho-Corasick automaton over all aliases; `find` returns non-overlapping spans, longest first."""

    def __init__(self, entities: tuple[KnownEntity, ...], lexicon: Lexicon) -> None:
        stopwords = {alias_key(word) for word in lexicon.arabic_stopwords}
        by_key: dict[str, list[AliasRef]] = {}
        for index, entity in enumerate(entities):
            for alias in entity.aliases:
                key = alias_key(alias)
                arabic = is_arabic(key)
                single_word = " " not in key
                if len(key) < 2 or (arabic and single_word and key in stopwords):
                    continue
                article = arabic and key.startswith(ARTICLE) and len(key) > len(ARTICLE) + 2
                if article:
                    key = key[len(ARTICLE) :]
                case = CaseRule.ANY if arabic else _case_rule(alias)
                refs = by_key.setdefault(key, [])
                if all((ref.entity, ref.article, ref.case) != (index, article, case) for ref in refs):
                    refs.append(AliasRef(index, alias, arabic, article, case, single_word))
        self.automaton: Any = ahocorasick.Automaton()
        for key, refs in by_key.items():
            self.automaton.add_word(key, (len(key), tuple(refs)))
        self.automaton.make_automaton()

    def find(self, norm: str, original: str, offsets: list[int] | None) -> list[Span]:
        """Spans of aliases in `norm` (the normalised text); `original` is used for case checks."""
        candidates: list[Span] = []
        length = len(norm)
        for last, (key_length, refs) in self.automaton.iter(norm):
            start, end = last - key_length + 1, last + 1
            if end < length and _is_word_char(norm[end]):
                continue
            word_start = start
            while word_start > 0 and _is_word_char(norm[word_start - 1]) and start - word_start <= MAX_PREFIX:
                word_start -= 1
            if word_start > 0 and _is_word_char(norm[word_start - 1]):
                continue
            prefix = norm[word_start:start]
            kept = tuple(ref for ref in refs if self._accepts(ref, prefix, key_length, original, offsets, start, end))
            if not kept:
                continue
            name_start = start - len(ARTICLE) if prefix.endswith(ARTICLE) and kept[0].article else start
            candidates.append(Span(word_start, name_start, end, kept))
        # Longest alias wins, so "فلاديمير بوتين" beats the city "فلاديمير" and "بكين" beats "كين" in "وبكين".
        candidates.sort(key=lambda span: (-(span.end - span.start), span.word_start))
        # One byte per character marks what a chosen span covers: an overlap test is one C-level find,
        # so long texts stay linear (a list of taken spans made a 400 KB text take seconds).
        taken = bytearray(length)
        chosen: list[Span] = []
        for span in candidates:
            if taken.find(1, span.word_start, span.end) != -1:
                continue
            taken[span.word_start : span.end] = b"\x01" * (span.end - span.word_start)
            chosen.append(span)
        chosen.sort(key=lambda span: span.start)
        return chosen

    @staticmethod
    def _accepts(
        ref: AliasRef, prefix: str, key_length: int, original: str, offsets: list[int] | None, start: int, end: int
    ) -> bool:
        if ref.arabic:
            if ref.article:
                return prefix in ARTICLE_PREFIXES or (prefix in BARE_PREFIXES and key_length >= MIN_BARE_CORE)
            return prefix in BARE_PREFIXES
        if prefix:
            return False
        o_start = offsets[start] if offsets else start
        if _compound_end(original, o_start):
            return False
        if ref.case is CaseRule.ANY:
            return True
        o_end = offsets[end - 1] + 1 if offsets else end
        written = original[o_start:o_end]
        if ref.case is CaseRule.EXACT:
            return written == ref.alias or written.replace(".", "") == ref.alias.replace(".", "")
        return written[:1].isupper()
