"""Tokens and their features for the named-entity recogniser, shared by training (build_ner) and tagging (ner).

A token's own features depend on its spelling only, so they are computed once per distinct word and cached;
features that depend on the position (knowledge-base spans, sentence start) are added per occurrence.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from newswire.enricher.compiled import compiled
from newswire.enricher.entities.cues import LOC_HEADS, ORG_HEADS
from newswire.enricher.entities.kb import KnownEntity, Lexicon
from newswire.enricher.entities.matcher import AliasMatcher, Span
from newswire.enricher.entities.normalize import alias_key, is_arabic, normalize_text
from newswire.schemas.articles import EntityType

# Word-like runs, dotted abbreviations ("U.S."), French elisions ("l'", "qu'") and English "'s" / "n't" are tokens
# of their own as in the training corpora; any other non-space character is a one-character token.
# Titles and company abbreviations keep their dot ("Sen.", "Corp."), as in the English corpora: the dot then ends
# no sentence; so does an initial before a name ("S. James", "John A. Smith", "J. R. Tolkien").
_ABBREVIATIONS = "mr|mrs|ms|dr|prof|sen|rep|gov|gen|col|lt|sgt|capt|maj|st|jr|sr|corp|inc|ltd|co|mt|ft"
TOKEN_PATTERN = (
    rf"(?:[^\W\d_]\.){{2,}}|(?<!\w)(?:{_ABBREVIATIONS})\.|(?<![\w.])[^\W\d_]\.(?= ?[^\W\d_])"
    rf"|(?<!\w)(?:qu|[ldjmnstc])'(?=\w)|'s\b|\w+(?:[-&]\w+)*|\S"
)
# The same tokens with a shortcut tried first: two Arabic letters or more, with no word character, dot, hyphen,
# ampersand or apostrophe after them, can be none of the pattern's first five alternatives (each needs a dot or an
# apostrophe right after one letter or a Latin abbreviation), and the sixth takes exactly that run. Most tokens of
# Arabic news are such words; the shortcut spares them the other alternatives (a quarter of the tokenising time).
TOKEN_RE = re.compile(rf"[\u0621-\u063a\u0641-\u064a]{{2,}}(?![\w.\-&'])|{TOKEN_PATTERN}")
# `token_bounds` in C (`_tagger.c`; the same tokens as TOKEN_RE.finditer, which runs without it).
native = compiled("entities._tagger")


def token_bounds(norm: str) -> tuple[list[int], list[int]]:
    """Where the tokens of a normalised text (the matches of TOKEN_RE) start and end. In C where the package was
    built with it (`_tagger.token_bounds`: Arabic words found without the pattern, any other token by it)."""
    if native is not None:
        bounds: tuple[list[int], list[int]] = native.token_bounds(norm, TOKEN_RE)
        return bounds
    spans = [match.span() for match in TOKEN_RE.finditer(norm)]
    return [start for start, _ in spans], [end for _, end in spans]


# Arabic proclitics, longest first: conjunction (و ف), preposition (ب ل ك), article (ال); ل + ال is written لل.
_PROCLITICS = tuple(
    sorted(
        {c + p + a for c in ("", "و", "ف") for p in ("", "ب", "ل", "ك") for a in ("", "ال")} | {"لل", "ولل", "فلل"},
        key=len,
        reverse=True,
    )
)
_MIN_STEM = 2
# Distinct spellings whose features stay cached: a few days of news vocabulary, a few tens of MB at most.
_WORD_CACHE = 40_000
SENTENCE_END = frozenset({".", "!", "?", "؟"})
# Head words of organisation and place names, and calendar words (capitalised in English, never names).
_ARABIC_ORG_HEADS = (
    "شركة وزارة حزب جامعة مجلس منظمة وكالة بنك مصرف هيئة جمعية اتحاد حركة جبهة صحيفة قناة مؤسسة محكمة جيش لجنة "
    "مركز معهد نادي فريق منتخب برلمان حكومة مجموعة تحالف كتائب"
)
_ARABIC_PLACE_HEADS = "مدينة محافظة ولاية إقليم منطقة بلدة قرية جزيرة نهر بحر جبل مخيم حي شارع ميناء مطار عاصمة"
_CALENDAR = (
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july august "
    "september october november december lundi mardi mercredi jeudi vendredi samedi dimanche janvier fevrier mars "
    "avril mai juin juillet aout septembre octobre novembre decembre الاثنين الثلاثاء الاربعاء الخميس الجمعة السبت "
    "الاحد يناير فبراير مارس ابريل مايو يونيو يوليو اغسطس سبتمبر اكتوبر نوفمبر ديسمبر"
)
TYPE_OF_LABEL = {"PER": EntityType.PERSON, "ORG": EntityType.ORG, "LOC": EntityType.LOC}
LABEL_OF_TYPE = {EntityType.PERSON: "PER", EntityType.ORG: "ORG", EntityType.LOC: "LOC", EntityType.EVENT: "MISC"}


# The proclitic combinations by their first letter, longest first (most words start with none of these letters).
_PROCLITICS_BY_LETTER = {
    letter: tuple(prefix for prefix in _PROCLITICS if prefix.startswith(letter))
    for letter in {prefix[0] for prefix in _PROCLITICS if prefix}
}


def split_proclitics(word: str) -> tuple[str, str]:
    """(proclitics, stem) of a normalised Arabic word; the stem keeps at least two letters."""
    for prefix in _PROCLITICS_BY_LETTER.get(word[:1], ()):
        if word.startswith(prefix) and len(word) - len(prefix) >= _MIN_STEM:
            return prefix, word[len(prefix) :]
    return "", word


def _shape(surface: str) -> str:
    """Letters as X/x, digits as d, runs collapsed: "McCain" -> "XxXx", "U.S." -> "X.X.", "2024" -> "d"."""
    out: list[str] = []
    for ch in surface:
        if ch.isupper():
            mark = "X"
        elif ch.isalpha():
            mark = "x"
        elif ch.isdigit():
            mark = "d"
        else:
            mark = ch
        if not out or out[-1] != mark:
            out.append(mark)
    return "".join(out)[:6]


@dataclass(frozen=True, slots=True)
class WordFeatures:
    """The features of one spelling: its own, and what it contributes as a neighbour at -2, -1, +1, +2."""

    own: tuple[str, ...]
    prev2: tuple[str, ...]
    prev: tuple[str, ...]
    next: tuple[str, ...]
    next2: tuple[str, ...]
    # An Arabic word's half of the two-word features (pair_features): stem, article flag, cue marks; () otherwise.
    pair: tuple[str, ...] = ()


def stem_pair(left: str, right: str) -> str:
    """The two-word feature of two consecutive Arabic words' stems."""
    return f"2s={left}|{right}"


def pair_features(left: tuple[str, ...], right: tuple[str, ...]) -> tuple[str, ...]:
    """Features of two consecutive Arabic words (their `WordFeatures.pair` halves), on the second: their stems
    together, whether each carries the article, and their cue marks together ("عبد الله", "وزير الخارجية", a given
    name before an unknown word)."""
    (left_stem, left_article, left_marks), (right_stem, right_article, right_marks) = left, right
    return (
        stem_pair(left_stem, right_stem),
        f"2a={left_article}{right_article}",
        f"2m={left_marks}|{right_marks}",
    )


class FeatureExtractor:
    """Word lists (cues, given names) and the knowledge-base matcher that features refer to."""

    def __init__(self, entities: tuple[KnownEntity, ...], lexicon: Lexicon, matcher: AliasMatcher) -> None:
        self.entities = entities
        self.matcher = matcher
        self.cues = frozenset(alias_key(w) for w in (*lexicon.arabic_cues, *lexicon.latin_cues) if " " not in w)
        first = {alias_key(name) for name in lexicon.given_names}
        for entity in entities:
            if entity.type is EntityType.PERSON:
                for alias in entity.aliases:
                    key = alias_key(alias)
                    if " " in key:
                        first.add(key.split(" ", 1)[0].removeprefix("ال"))
        self.first_names = frozenset(first)
        self.org_heads = frozenset(alias_key(w) for w in (*ORG_HEADS, *_ARABIC_ORG_HEADS.split()))
        self.place_heads = frozenset(alias_key(w) for w in (*LOC_HEADS, *_ARABIC_PLACE_HEADS.split()))
        self.calendar = frozenset(alias_key(w) for w in _CALENDAR.split())
        self.word_features = lru_cache(maxsize=_WORD_CACHE)(self.features_of)

    def features_of(self, surface: str) -> WordFeatures:
        """The features of one spelling (`word_features` is the same, cached, for training)."""
        norm = alias_key(surface)
        if is_arabic(norm):
            prefix, stem = split_proclitics(norm)
            core = stem.removeprefix("ال") if prefix.endswith("ال") or prefix == "لل" else stem
            own = [f"w={norm}", f"s={stem}", f"p={prefix}", f"s3={core[-3:]}", f"s2={core[-2:]}", f"b2={core[:2]}"]
            own.append(f"ln={min(len(core), 8)}")
            key = stem
            shape = "al" if "ال" in prefix or prefix == "لل" else "ar"
        else:
            shape = _shape(surface)
            # Two fewer features than for Arabic (length, 2-letter suffix): as good on the dev splits, and faster.
            own = [f"w={norm}", f"sh={shape}", f"p3={norm[:3]}", f"s3={norm[-3:]}"]
            if surface[:1].isupper() and surface[1:].islower():
                own.append("title")
            elif surface.isupper() and len(surface) > 1:
                own.append("caps")
            key = norm
        marks = []
        if norm in self.cues or key in self.cues:
            marks.append("cue")
        if key in self.first_names:
            marks.append("fn")
        forms = {norm, key, key.removeprefix("ال")}
        if not forms.isdisjoint(self.org_heads):
            marks.append("orgh")
        if not forms.isdisjoint(self.place_heads):
            marks.append("loch")
        if key in self.calendar or norm in self.calendar:
            marks.append("cal")
        own.extend(marks)
        word = f"{key}"
        return WordFeatures(
            own=tuple(own),
            prev2=(f"-2w={word}",),
            prev=(f"-1w={word}", f"-1sh={shape}", *(f"-1{m}" for m in marks)),
            next=(f"+1w={word}", f"+1sh={shape}", *(f"+1{m}" for m in marks)),
            next2=(f"+2w={word}",),
            pair=(key, str(int(shape == "al")), "+".join(marks)) if shape in ("al", "ar") else (),
        )

    def kb_tags(self, words: Sequence[str]) -> list[str]:
        """Knowledge-base match of each token, as "B-LOC", "I-PER" or "" (tokens joined by single spaces)."""
        text = " ".join(words)
        norm, offsets = normalize_text(text)
        starts, position = [], 0
        for word in words:
            starts.append(position)
            position += len(word) + 1
        if offsets is not None:  # characters were dropped: map the token offsets into the normalised text
            where = {original: index for index, original in enumerate(offsets)}
            starts = [_next_kept(where, s, len(norm)) for s in starts]
        ends = [*(s - 1 for s in starts[1:]), len(norm)]
        return self.kb_tags_at(starts, ends, self.matcher.find(norm, text, offsets))

    def kb_tags_at(self, starts: Sequence[int], ends: Sequence[int], spans: Sequence[Span]) -> list[str]:
        """Knowledge-base match of the tokens at `starts`/`ends`, given the matcher's spans (same offsets)."""
        tags = [""] * len(starts)
        for span in spans:
            best = max(span.refs, key=lambda ref: self.entities[ref.entity].prior)
            label = LABEL_OF_TYPE[self.entities[best.entity].type]
            first = index = bisect_left(ends, span.word_start + 1)
            while index < len(starts) and starts[index] < span.end:
                tags[index] = ("B-" if index == first else "I-") + label
                index += 1
        return tags

    def sequence(self, surfaces: Sequence[str], kb: Sequence[str], firsts: Sequence[int] = (0,)) -> list[list[str]]:
        """The feature lists of consecutive sentences starting at the token indexes `firsts` (one CRF call for
        many sentences is cheaper; context features never cross a sentence boundary)."""
        words = [self.word_features(surface) for surface in surfaces]
        count = len(words)
        begins = bytearray(count + 2)
        for first in firsts:
            begins[first] = 1
        begins[count] = begins[count + 1] = 1
        items: list[list[str]] = []
        for index, word in enumerate(words):
            features = list(word.own)
            if begins[index]:
                features.append("BOS")
            else:
                features.extend(words[index - 1].prev)
                if kb[index - 1]:
                    features.append("-1kb=" + kb[index - 1])
                if not begins[index - 1]:
                    features.extend(words[index - 2].prev2)
                if word.pair and words[index - 1].pair:
                    features.extend(pair_features(words[index - 1].pair, word.pair))
            if begins[index + 1]:
                features.append("EOS")
            else:
                features.extend(words[index + 1].next)
                if kb[index + 1]:
                    features.append("+1kb=" + kb[index + 1])
                if not begins[index + 2]:
                    features.extend(words[index + 2].next2)
            if kb[index]:
                features.append("kb=" + kb[index])
            items.append(features)
        return items


def _next_kept(where: dict[int, int], position: int, length: int) -> int:
    while position not in where and position < length + len(where):
        position += 1
    return where.get(position, length)
