"""People (and a few organisations and places) missing from the knowledge base, found from the words around them."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

from newswire.enricher.compiled import compiled
from newswire.enricher.entities.kb import Lexicon, load_common_words
from newswire.enricher.entities.normalize import alias_key, is_arabic
from newswire.schemas.articles import EntityType

TOKEN_RE = re.compile(r"\w+(?:[-'&]\w+)*")
# `tokenize` in C (`_tagger.c`; the same tokens as TOKEN_RE, which runs without it).
native = compiled("entities._tagger")
# Between two words of one name there is only a space; punctuation or a line break ends the name.
_SENTENCE_BREAK = re.compile(r"[.!?:;؛؟\"«»“”()\n،,]")
ARABIC_WINDOW = 10
_LATIN_CONNECTORS = frozenset(
    {"von", "van", "der", "den", "de", "da", "di", "du", "del", "bin", "ben", "al", "el", "le", "am", "of", "for"}
)
_SENTENCE_END_GAP = re.compile(r"[.!?\n]")
# Capitalised only because they open a sentence or a noun phrase: never the first word of a name.
_LATIN_OPENERS = frozenset(
    [
        "the",
        "a",
        "an",
        "with",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "key",
        "but",
        "and",
        "or",
        "as",
        "after",
        "before",
        "when",
        "while",
        "this",
        "that",
        "these",
        "those",
        "his",
        "her",
        "their",
        "its",
        "our",
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "der",
        "die",
        "das",
        "ein",
        "eine",
        "el",
        "los",
        "las",
        "un",
        "una",
    ]
)
ORG_HEADS = frozenset(
    [
        "party",
        "university",
        "council",
        "agency",
        "forum",
        "commission",
        "ministry",
        "department",
        "court",
        "airlines",
        "airways",
        "index",
        "group",
        "bank",
        "institute",
        "association",
        "network",
        "company",
        "corporation",
        "corp",
        "inc",
        "ltd",
        "co",
        "llc",
        "plc",
        "army",
        "committee",
        "foundation",
        "organization",
        "organisation",
        "union",
        "academy",
        "office",
        "exchange",
        "authority",
        "league",
        "assembly",
        "police",
        "service",
        "fund",
        "programme",
        "program",
        "centre",
        "center",
        "school",
        "college",
        "hospital",
        "klinik",
        "bureau",
        "board",
        "trust",
        "society",
        "movement",
        "front",
        "coalition",
        "alliance",
        "federation",
        "parliament",
        "cabinet",
        "times",
        "post",
        "news",
        "journal",
        "herald",
        "telegraph",
        "press",
        "television",
        "radio",
        "systems",
        "technologies",
        "holdings",
        "motors",
        "energy",
        "petroleum",
        "partners",
        "brigades",
        "guard",
    ]
)
LOC_HEADS = frozenset(
    [
        "sea",
        "ocean",
        "river",
        "island",
        "islands",
        "strait",
        "bay",
        "valley",
        "mountains",
        "desert",
        "region",
        "district",
        "county",
        "province",
        "peninsula",
        "plateau",
        "heights",
        "canal",
    ]
)
_HONORIFICS = frozenset({"mr", "ms", "mrs", "dr", "m", "mme", "herr", "frau", "sr", "sra"})


class Token(NamedTuple):
    """A word of the normalised text with its position."""

    start: int
    end: int
    norm: str


@dataclass(frozen=True, slots=True)
class CueFind:
    """A name found from context: its tokens' span and its type."""

    start: int
    end: int
    type: EntityType


def tokenize(norm: str) -> list[Token]:
    """Words of the normalised text (the matches of TOKEN_RE), in C where the package was built with it
    (`_tagger.words`: the same tokens, without a match object per word; under half the time)."""
    if native is not None:
        tokens: list[Token] = native.words(norm, Token)
        return tokens
    return [Token(*m.span(), m.group()) for m in TOKEN_RE.finditer(norm)]


def strip_proclitic(word: str) -> str:
    """The word without a leading و or ف (a conjunction never belongs to a role word)."""
    return word[1:] if len(word) > 3 and word[0] in "وف" else word


class CueFinder:
    """Finds names by role cues (Arabic) and by capitalisation plus cues (Latin script)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.arabic_cues = {alias_key(word) for word in lexicon.arabic_cues}
        self.arabic_stop = {alias_key(word) for word in lexicon.arabic_name_terminators | lexicon.arabic_stopwords}
        self.latin_cues = {alias_key(word).rstrip(".") for word in lexicon.latin_cues}
        self.name_verbs = {alias_key(word) for word in lexicon.latin_name_verbs}
        self.given_names = {alias_key(word) for word in lexicon.given_names}
        self.common_english = load_common_words()

    def find(
        self,
        norm: str,
        original: str,
        tokens: list[Token],
        covered: list[bool],
        person_at: list[bool],
        offsets: list[int] | None = None,
    ) -> list[CueFind]:
        """Names found in the text; `covered[i]` marks tokens already linked, `person_at[i]` linked people.
        `offsets` maps `norm` back to `original` when normalising dropped characters."""
        finds: list[CueFind] = []
        finds.extend(self._arabic(norm, tokens, covered, person_at))
        if not any(map(str.isupper, set(original))):
            return finds  # a Latin-script name starts with a capital: none here (most Arabic text)
        # The original characters at the normalised text's positions: capitals, and line breaks (which the
        # normalised text writes as spaces) that end a name.
        aligned = original if offsets is None else "".join([original[offset] for offset in offsets])
        finds.extend(self._latin(norm, aligned, tokens, covered))
        return finds

    def _gap_breaks(self, norm: str, left: Token, right: Token, aligned: str | None = None) -> bool:
        """Whether the text between two tokens ends a name: punctuation, a line break, or more than two characters.
        The dot of an initial does not ("John A. Smith")."""
        initial = (
            aligned is not None
            and left.end - left.start == 1
            and aligned[left.start].isupper()
            and norm[left.end : right.start] in (".", ". ")
        )
        if initial:
            return False
        if right.start - left.end > 2 or _SENTENCE_BREAK.search(norm, left.end, right.start):
            return True
        return aligned is not None and "\n" in aligned[left.end : right.start]

    def _arabic_name_word(self, token: Token) -> bool:
        word = token.norm
        return (
            is_arabic(word)
            and len(word) >= 2
            and not word.startswith(("ال", "وال", "بال", "فال", "كال", "لل"))
            and word not in self.arabic_stop
            and strip_proclitic(word) not in self.arabic_cues
            and word not in self.arabic_cues
        )

    def _arabic(self, norm: str, tokens: list[Token], covered: list[bool], person_at: list[bool]) -> list[CueFind]:
        finds = []
        for i, token in enumerate(tokens):
            if strip_proclitic(token.norm) not in self.arabic_cues and token.norm not in self.arabic_cues:
                continue
            run: list[int] = []
            accepted = False
            for j in range(i + 1, min(len(tokens), i + 1 + ARABIC_WINDOW)):
                if self._gap_breaks(norm, tokens[j - 1], tokens[j]):
                    accepted = 2 <= len(run) <= 4
                    break
                if person_at[j]:
                    break
                if not covered[j] and self._arabic_name_word(tokens[j]):
                    run.append(j)
                    continue
                if 2 <= len(run) <= 4 and tokens[j].norm in self.arabic_stop:
                    accepted = True
                    break
                run = []
            else:
                accepted = 2 <= len(run) <= 4 and bool(run) and run[-1] == len(tokens) - 1
            if accepted:
                finds.append(CueFind(tokens[run[0]].start, tokens[run[-1]].end, EntityType.PERSON))
        return finds

    def _latin(self, norm: str, original: str, tokens: list[Token], covered: list[bool]) -> list[CueFind]:
        openers = self._sentence_openers(norm, original, tokens)
        finds = []
        runs: list[list[int]] = []
        closed = True
        for i, token in enumerate(tokens):
            word = original[token.start : token.end]
            capitalised = word[:1].isupper()  # Arabic letters have no case, so this is Latin or Cyrillic
            joinable = (
                not closed and runs[-1][-1] == i - 1 and not self._gap_breaks(norm, tokens[i - 1], token, original)
            )
            if capitalised and not joinable and (token.norm in _LATIN_OPENERS or (i in openers and not covered[i])):
                closed = True
                continue
            if capitalised or (token.norm in _LATIN_CONNECTORS and joinable):
                if joinable:
                    runs[-1].append(i)
                else:
                    runs.append([i])
                # A possessive ends the name: "Britain's Conservative Party" is two names.
                closed = token.norm.endswith("'s") or token.norm.endswith("'")
            else:
                closed = True
        for run in runs:
            while run and tokens[run[-1]].norm in _LATIN_CONNECTORS:
                run.pop()
            if run:
                finds.extend(self._classify_latin_run(norm, original, tokens, covered, run))
        return finds

    def _sentence_openers(self, norm: str, original: str, tokens: list[Token]) -> set[int]:
        """Tokens that a sentence's start alone capitalised: the first word of a sentence when it is a frequent
        English word that the article never writes with a capital elsewhere ("Former", "One", "Moreover")."""
        if not tokens:
            return set()
        token_starts = [token.start for token in tokens]
        starts = {0} | {bisect_left(token_starts, match.end()) for match in _SENTENCE_END_GAP.finditer(original)}
        # Only an opener followed by another capitalised word could start a name here (this finder's names have
        # two words at least); the openers of _LATIN_OPENERS are dropped anyway.
        candidates = {
            i: tokens[i].norm
            for i in starts
            if i + 1 < len(tokens)
            and original[tokens[i + 1].start : tokens[i + 1].start + 1].isupper()
            and tokens[i].norm in self.common_english
            and tokens[i].norm not in _LATIN_OPENERS
            and tokens[i].norm not in self.given_names
        }
        if not candidates:
            return set()
        words = set(candidates.values())
        inside = {
            token.norm
            for i, token in enumerate(tokens)
            if token.norm in words and i not in starts and original[token.start : token.start + 1].isupper()
        }
        return {i for i, word in candidates.items() if word not in inside}

    def _classify_latin_run(
        self, norm: str, original: str, tokens: list[Token], covered: list[bool], run: list[int]
    ) -> list[CueFind]:
        first, last = tokens[run[0]], tokens[run[-1]]
        end = last.end - 2 if last.norm.endswith("'s") else last.end
        after = run[-1] + 1
        words = [tokens[k].norm for k in run]
        head_of = any(w in ORG_HEADS and n == "of" for w, n in pairwise(words))
        if len(run) >= 2 and not all(covered[k] for k in run):
            if words[-1] in ORG_HEADS or head_of:
                return [CueFind(first.start, end, EntityType.ORG)]
            if words[-1] in LOC_HEADS:
                return [CueFind(first.start, end, EntityType.LOC)]
        if (
            after < len(tokens)
            and tokens[after].norm in {"province", "region", "district", "county"}
            and not any(covered[k] for k in run)
        ) and not self._gap_breaks(norm, last, tokens[after], original):
            return [CueFind(first.start, last.end, EntityType.LOC)]
        # People: split the run at linked words and title words, keep parts of 2-4 words.
        finds = []
        part: list[int] = []
        cue_before = run[0] > 0 and self._is_cue(tokens, run[0])
        for k in [*run, -1]:
            if k != -1 and not covered[k] and tokens[k].norm.rstrip(".") not in self.latin_cues | {"of", "for"}:
                part.append(k)
                continue
            if part:
                finds.extend(self._latin_person(norm, tokens, part, cue_before))
            part = []
            cue_before = k != -1 and tokens[k].norm.rstrip(".") in self.latin_cues
        return finds

    def _is_cue(self, tokens: list[Token], index: int) -> bool:
        before = tokens[index - 1].norm.rstrip(".")
        two = f"{tokens[index - 2].norm} {before}" if index >= 2 else before
        return before in self.latin_cues or two in self.latin_cues

    def _latin_person(self, norm: str, tokens: list[Token], part: list[int], cue_before: bool) -> list[CueFind]:
        if len(part) >= 3 and tokens[part[0]].norm not in self.given_names and tokens[part[1]].norm in self.given_names:
            part = part[1:]  # "American Kevin King": a nationality or role word before the first name
        if not 2 <= len(part) <= 4:
            return []
        first, last = tokens[part[0]], tokens[part[-1]]
        after = part[-1] + 1
        said = after < len(tokens) and tokens[after].norm in self.name_verbs
        if first.norm in self.given_names or cue_before or said:
            end = last.end - 2 if last.norm.endswith("'s") else last.end
            return [CueFind(first.start, end, EntityType.PERSON)]
        return []
