"""The trained named-entity recogniser: CRF models over word, shape, clitic and knowledge-base features.

`recognise` returns name spans (offsets into the normalised text) with their type; the linker decides which
knowledge-base entity each one is. A name recognised once is recognised at its other occurrences in the article.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from newswire.enricher.entities.crf import TAGS, LinearChainCRF
from newswire.enricher.entities.cues import LOC_HEADS, ORG_HEADS
from newswire.enricher.entities.features import (
    SENTENCE_END,
    TYPE_OF_LABEL,
    FeatureExtractor,
    WordFeatures,
    split_proclitics,
    token_bounds,
)
from newswire.enricher.entities.kb import DATA_DIR, KnownEntity, Lexicon, load_common_words
from newswire.enricher.entities.matcher import ARTICLE, AliasMatcher, Span
from newswire.enricher.entities.normalize import alias_key, is_arabic
from newswire.enricher.entities.window import CrfWithWindow, WindowTagger
from newswire.schemas.articles import EntityType

# Per script, the CRF's model and the window network's beside it (Arabic).
MODEL_FILES = {"ar": ("ner-ar.npz", "ner-ar-window.npz"), "latin": ("ner-latin.npz",)}
# How much the window network's scores count against the CRF's, chosen on the Arabic dev splits (RESULTS.md).
WINDOW_WEIGHT = 1.0
# Distinct spellings whose summed weights stay cached per CRF model: a few days of news vocabulary, about 15 MB;
# with a window network (840 bytes of scores a spelling, mostly its five positions of the hidden layer in one byte
# a value; about 1.1 KB with Python's objects), about 45 MB when full.
# On varied Arabic news a new spelling is most of a token's cost (RESULTS.md, "A larger spelling cache"). Of the
# distinct spellings a call meets there, the cache lacked 32 % with 25,000 forgetting the oldest, 28 % with 25,000
# forgetting the least recently used, 23 % with 40,000 (least recently used; RESULTS.md, "Spelling parts in one
# byte"): 40,000 since the window's parts take one byte a value instead of two, in the room 25,000 took before.
_SCORE_CACHE = 40_000
_WINDOW_CACHE = 40_000
_REBUILD = "rebuild it with `python -m newswire.enricher.entities.build_ner`"
_SENTENCE_END_CHARS = "".join(SENTENCE_END)
_QUOTES = frozenset('"«»“”„')
# Lower-case words that may stand inside a Latin-script name.
_CONNECTOR_WORDS = (
    "of for and & the 's de du des la le les d' l' von van der den da di del y e et bin ben al el am upon on"
)
_CONNECTORS = frozenset(_CONNECTOR_WORDS.split())
# Words before an Arabic place name that ANERcorp (news) leaves out of the name, unlike the Wikipedia corpora
# ("مدينة حلب" -> حلب; "شارع الحمراء" -> الحمراء); counted on the training splits: ANERcorp puts none of these
# inside a place name. Seas, hills, islands, rivers and mountains keep their word (بحر العرب, تل أبيب).
_PLACE_HEAD_WORDS = (
    "مدينه محافظه ولايه اقليم منطقه بلده قريه مخيم حي شارع ميناء مطار عاصمه مسجد متحف سجن دوله بحيره روضه ضريح"
)
_PLACE_HEADS = frozenset(_PLACE_HEAD_WORDS.split())
# A preposition with the article on a word ("بالقصاص", "للحكومة"): a phrase after a person's name, never part of it.
_PREPOSITION_ARTICLE = ("بال", "لل", "كال", "وبال", "ولل", "فبال", "فلل")
# The conjunction and prepositions written on a name; the article stays part of it (والصين -> الصين).
_BARE = ("وب", "ول", "وك", "فب", "فل", "فك", "و", "ف", "ب", "ل", "ك")


class ModelMissing(RuntimeError):
    """A model file is not in the package data (rebuild it with build_ner)."""


@dataclass(frozen=True, slots=True)
class RecognisedName:
    """A name the recogniser found: [start, end) in the normalised text, and its type."""

    start: int
    end: int
    type: EntityType


@dataclass(frozen=True, slots=True)
class TextToTag:
    """An article for `recognise_many`: its normalised text, the original and the offsets between them
    (`normalize_text`), the knowledge-base matches, and whether names are capitalised (`recognise`)."""

    norm: str
    original: str
    offsets: list[int] | None
    kb_spans: Sequence[Span]
    capitalised_names: bool = False


@dataclass(frozen=True, slots=True)
class _Tokens:
    """An article's tokens (offsets into the normalised text, spellings as written), their knowledge-base tags,
    sentences (token ranges) and runs of sentences in one script (`_chunks`)."""

    starts: list[int]
    ends: list[int]
    surfaces: list[str]
    kb: list[str]
    sentences: list[tuple[int, int]]
    chunks: list[tuple[str, int, int, list[int]]]


def _is_arabic_char(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff"


class Tagger(Protocol):
    """What the recogniser needs of a script's model (crf.LinearChainCRF, window.CrfWithWindow)."""

    rows: dict[str, int]  # the attributes the model was trained on

    def spelling_scores(self, spellings: Sequence[WordFeatures], surfaces: Sequence[str]) -> list[bytes]: ...

    def label_scores(
        self, words: Sequence[bytes], halves: Sequence[tuple[str, ...]], kb: Sequence[str], firsts: Sequence[int]
    ) -> npt.NDArray[np.float32]: ...

    def decode_tags(self, emit: npt.NDArray[np.float32], firsts: Sequence[int]) -> npt.NDArray[np.intp]: ...


class NamedEntityRecogniser:
    """One tagger per script (for Arabic a CRF with a window network beside it, for Latin script a CRF), sharing
    one feature extractor."""

    def __init__(self, features: FeatureExtractor, models: dict[str, tuple[Path, ...]]) -> None:
        self.features = features
        self.nationalities = nationality_adjectives(features.entities)
        self.common_english = load_common_words()
        self.models: dict[str, Tagger] = {}
        # Per model, what each spelling adds to the scores and its half of the two-word features (`_spellings`).
        self.cached: dict[str, dict[str, tuple[bytes, tuple[str, ...]]]] = {}
        self.cache_sizes: dict[str, int] = {}
        for script, paths in models.items():
            for path in paths:
                if not path.is_file():
                    raise ModelMissing(f"the recogniser model {path.name} is missing from {path.parent}; {_REBUILD}")
            crf = LinearChainCRF(paths[0])
            self.models[script] = CrfWithWindow(crf, WindowTagger(paths[1]), WINDOW_WEIGHT) if paths[1:] else crf
            self.cached[script] = {}
            self.cache_sizes[script] = _WINDOW_CACHE if paths[1:] else _SCORE_CACHE

    def _without_nationality(self, run: tuple[int, int, str], words: list[str]) -> tuple[int, int, str]:
        """An Arabic organisation's name without the nationality adjective after it: "حزب الله اللبناني" is
        Hezbollah, as the news corpora annotate it (and "Lebanese Hezbollah" in English)."""
        first, last, label = run
        if label == "ORG" and last - first >= 2 and words[last - 1] in self.nationalities:
            return first, last - 1, label
        return run

    def _not_nationality(self, run: tuple[int, int, str], words: list[str]) -> bool:
        """Whether a name is more than a nationality adjective alone ("السويسري", "البريطانية")."""
        first, last, _ = run
        return last - first > 1 or _word_key(words[first]) not in self.nationalities

    def _without_openers(
        self, runs: list[tuple[int, int, str]], words: list[str], surfaces: list[str], kb: list[str], firsts: set[int]
    ) -> list[tuple[int, int, str]]:
        """English names without what only a sentence's start capitalised. Numbers are no part of a name ("18
        Northern"); a sentence's first word is not when it is a frequent English word that the knowledge base does
        not match and that the article writes with a capital nowhere else ("Moreover", "Benchmark", "One Napa
        County"); a name made only of weekdays and months is none ("Tuesday")."""
        out: list[tuple[int, int, str]] = []
        suspects: list[tuple[int, int, int, str]] = []  # (position in out, first, last, label) to check below
        for first, last, label in runs:
            if _is_arabic_char(words[first][0]):
                out.append((first, last, label))
                continue
            opens_sentence = first in firsts
            while first < last and words[first].isdigit():
                first += 1
            calendar = self.features.calendar
            if first == last or (words[first] in calendar and all(word in calendar for word in words[first:last])):
                continue
            if (
                opens_sentence
                # "Will Smith", "Chris Tang": many given names are English words too.
                and (label != "PER" or last - first == 1)
                and words[first] in self.common_english
                and not kb[first]
            ):
                suspects.append((len(out), first, last, label))
            out.append((first, last, label))
        if not suspects:
            return out
        # A suspect opener stays a name when the article writes it with a capital elsewhere ("Apple said ...
        # shares of Apple").
        wanted = {words[first] for _, first, _, _ in suspects}
        capitalised_inside = {
            words[index]
            for index, surface in enumerate(surfaces)
            if words[index] in wanted and index not in firsts and surface[:1].isupper()
        }
        dropped = set()
        for position, first, last, label in suspects:
            if words[first] in capitalised_inside:
                continue
            if last - first == 1:
                dropped.add(position)
            else:
                out[position] = (first + 1, last, label)
        return [run for position, run in enumerate(out) if position not in dropped]

    def _with_first_name(self, runs: list[tuple[int, int, str]], words: list[str]) -> list[tuple[int, int, str]]:
        """An Arabic person's name with the given name just before it that the tagger left out."""
        out = []
        end_before = 0
        for first, last, label in runs:
            if (
                label == "PER"
                and first > end_before
                and _is_arabic_char(words[first][0])
                and _is_arabic_char(words[first - 1][0])
                and _word_key(words[first - 1]) in self.features.first_names
            ):
                first -= 1
            out.append((first, last, label))
            end_before = last
        return out

    def knows(self, word: str) -> bool:
        """Whether the recogniser was trained on `word` (normalised; the Arabic model for a word in Arabic script)."""
        if _is_arabic_char(word[0]):
            # With its proclitics or without them: "بلاعبين" is "لاعبين".
            rows = self.models["ar"].rows
            return ("w=" + word) in rows or ("s=" + split_proclitics(word)[1]) in rows
        return ("w=" + word) in self.models["latin"].rows

    def _spellings(self, script: str, surfaces: Sequence[str]) -> dict[str, tuple[bytes, tuple[str, ...]]]:
        """Each distinct spelling's weights under the script's model and its half of the two-word features. A
        word's features depend on its spelling only, so both are cached (the weights are all the tagger needs: the
        features themselves take ten times the room); an article's new spellings are summed in one numpy call.
        When full, the cache forgets the spellings least recently used: a spelling found moves to its end."""
        cache = self.cached[script]
        found: dict[str, tuple[bytes, tuple[str, ...]]] = {}
        new: list[str] = []
        for surface in dict.fromkeys(surfaces):
            entry = cache.pop(surface, None)
            if entry is None:
                new.append(surface)
            else:
                found[surface] = cache[surface] = entry
        if new:
            features = [self.features.features_of(surface) for surface in new]
            scores = self.models[script].spelling_scores(features, new)
            entries = list(zip(scores, (f.pair for f in features), strict=True))
            found.update(zip(new, entries, strict=True))
            cache.update(zip(new, entries, strict=True))
            excess = len(cache) - self.cache_sizes[script]
            if excess > 0:
                for surface in list(islice(cache, excess)):
                    del cache[surface]
        return found

    def recognise(
        self,
        norm: str,
        original: str,
        offsets: list[int] | None,
        kb_spans: Sequence[Span],
        *,
        capitalised_names: bool = False,
    ) -> list[RecognisedName]:
        """Names in `norm` (the normalised form of `original`), in text order, consistent across the article.

        `capitalised_names`: the language writes every word of a name with a capital but connectors (English),
        so a Latin-script name is cut at any other lower-case word."""
        return self.recognise_many([TextToTag(norm, original, offsets, kb_spans, capitalised_names)])[0]

    def recognise_many(self, texts: Sequence[TextToTag]) -> list[list[RecognisedName]]:
        """`recognise` for many articles, the same names as one by one: their sentences are scored and decoded in
        one call, which costs less per article (numpy's fixed cost per call is most of a short article's
        decoding). The caller bounds the batch (`EntityLinker.link_many`)."""
        tokenised = [self._tokenised(text) for text in texts]
        tags = self._group_labels(tokenised)
        return [self._names(text, tokens, labels) for text, tokens, labels in zip(texts, tokenised, tags, strict=True)]

    def _tokenised(self, text: TextToTag) -> _Tokens:
        """An article's tokens, their knowledge-base tags, sentences and script runs (`_chunks`)."""
        norm, original, offsets = text.norm, text.original, text.offsets
        starts, ends = token_bounds(norm)
        if offsets is None:
            surfaces = [original[start:end] for start, end in zip(starts, ends, strict=True)]
        else:
            surfaces = [
                original[offsets[start] : offsets[end - 1] + 1] for start, end in zip(starts, ends, strict=True)
            ]
        kb = self.features.kb_tags_at(starts, ends, text.kb_spans)
        sentences = self._sentences(norm, original, offsets, starts, ends) if starts else []
        return _Tokens(starts, ends, surfaces, kb, sentences, self._chunks(sentences, norm, starts, surfaces))

    def _group_labels(self, group: Sequence[_Tokens]) -> list[npt.NDArray[np.intp]]:
        """`_labels` of several articles in one call, split back per article."""
        chunks: list[tuple[str, int, int, list[int]]] = []
        surfaces: list[str] = []
        kb: list[str] = []
        for tokens in group:
            at = len(surfaces)
            chunks.extend((script, first + at, last + at, firsts) for script, first, last, firsts in tokens.chunks)
            surfaces.extend(tokens.surfaces)
            kb.extend(tokens.kb)
        bounds = np.cumsum([len(tokens.surfaces) for tokens in group])[:-1]
        return np.split(self._labels(chunks, surfaces, kb), bounds)

    def _names(self, text: TextToTag, tokens: _Tokens, labels: npt.NDArray[np.intp]) -> list[RecognisedName]:
        """The names of the tagged runs of an article, after the rules on names and the consistency step."""
        runs = _runs(labels)
        if not runs:
            return []
        norm, starts, ends, surfaces = text.norm, tokens.starts, tokens.ends, tokens.surfaces
        words = [norm[start:end] for start, end in zip(starts, ends, strict=True)]
        runs = arabic_quoted_parts(arabic_conjunction_parts(single_script_parts(runs, words), words), words)
        runs = [_without_head(self._without_nationality(run, words), words) for run in runs]
        runs = [run for run in runs if self._not_nationality(run, words)]
        runs = self._with_first_name(_without_preposition_tail(_without_number_tail(runs, words), words), words)
        if text.capitalised_names:
            runs = capitalised_parts(runs, words, surfaces)
            firsts = set()
            for first, last in tokens.sentences:
                # The sentence's first word, after any quotation mark or bracket: "“Moreover", "(Graphic".
                while first < last - 1 and not words[first][0].isalnum():
                    first += 1
                firsts.add(first)
            runs = self._without_openers(runs, words, surfaces, tokens.kb, firsts)
            runs = [_typed_by_head(run, words) for run in runs]
        runs = _consistent(runs, words, surfaces)
        vocabulary = set(words)
        return [_name(norm, starts[first], ends[last - 1], label, vocabulary) for first, last, label in runs]

    def _labels(
        self, chunks: list[tuple[str, int, int, list[int]]], surfaces: list[str], kb: list[str]
    ) -> npt.NDArray[np.intp]:
        """The tag of every token (indexes into TAGS): the chunks of one script are decoded together, sentence by
        sentence."""
        tags = np.zeros(len(surfaces), dtype=np.intp)
        for script, model in self.models.items():
            mine = [chunk for chunk in chunks if chunk[0] == script]
            if not mine:
                continue
            positions = np.concatenate([np.arange(first, last) for _, first, last, _ in mine])
            mine_surfaces = [surfaces[index] for index in positions.tolist()]
            spellings = self._spellings(script, mine_surfaces)
            words, halves = zip(*map(spellings.__getitem__, mine_surfaces), strict=True)
            sentences: list[int] = []
            at = 0
            for _, first, last, firsts in mine:
                sentences.extend(at + start for start in firsts)
                at += last - first
            # A chunk starts a sentence, so the chunks are one run of sentences: scored and decoded at once.
            emissions = model.label_scores(words, halves, [kb[index] for index in positions.tolist()], sentences)
            tags[positions] = model.decode_tags(emissions, sentences)
        return tags

    @staticmethod
    def _chunks(
        sentences: list[tuple[int, int]], norm: str, starts: list[int], surfaces: list[str]
    ) -> list[tuple[str, int, int, list[int]]]:
        """Runs of consecutive sentences in one script: (model, first token, last token + 1, sentence starts
        relative to the first token). Model "" marks a Latin-script line in capitals (a headline, a dateline),
        where capitals tell nothing: it is left to the knowledge base and to names recognised elsewhere."""
        chunks: list[tuple[str, int, int, list[int]]] = []
        for first, last in sentences:
            arabic = sum(1 for start in starts[first:last] if "\u0600" <= norm[start] <= "\u06ff")
            script = "ar" if arabic * 2 > last - first else "latin"
            if script == "latin" and shouted(surfaces[first:last]):
                script = ""
            if chunks and chunks[-1][0] == script:
                _, chunk_first, _, firsts = chunks[-1]
                firsts.append(first - chunk_first)
                chunks[-1] = (script, chunk_first, last, firsts)
            else:
                chunks.append((script, first, last, [0]))
        return chunks

    @staticmethod
    def _sentences(
        norm: str, original: str, offsets: list[int] | None, starts: list[int], ends: list[int]
    ) -> list[tuple[int, int]]:
        """Token ranges of sentences: after . ! ? and at a line break."""
        breaks = {
            index + 1
            for index, (start, end) in enumerate(zip(starts, ends, strict=True))
            if end - start == 1 and norm[start] in _SENTENCE_END_CHARS
        }
        position = original.find("\n")
        while position != -1:
            at = position if offsets is None else bisect_left(offsets, position)
            breaks.add(bisect_left(starts, at))
            position = original.find("\n", position + 1)
        found, first = [], 0
        for index in sorted(breaks):
            if first < index <= len(starts):
                found.append((first, index))
                first = index
        if first < len(starts):
            found.append((first, len(starts)))
        return found


def _consistent(runs: list[tuple[int, int, str]], words: list[str], surfaces: list[str]) -> list[tuple[int, int, str]]:
    """Tag every other occurrence of a recognised name, with the type most of its occurrences got."""
    keys = [_word_key(word) for word in words]
    runs = _coordinations_split(runs, keys)
    votes: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for first, last, label in runs:
        votes[tuple(keys[first:last])][label] += 1
    by_first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for name in sorted(votes, key=len, reverse=True):
        by_first[name[0]].append(name)
    taken = bytearray(len(words))
    # The run each token is in (-1: none); a run of the tagger may give way to a longer name (below).
    owner = [-1] * len(words)
    for number, (first, last, _) in enumerate(runs):
        taken[first:last] = b"\x01" * (last - first)
        owner[first:last] = [number] * (last - first)
    extra: list[tuple[int, int, str]] = []
    replaced: set[int] = set()
    for index, key in enumerate(keys):
        if key not in by_first or taken[index]:
            continue
        latin = not _is_arabic_char(words[index][0])
        # A capital letter is what makes a Latin-script word a name ("Bush" and "bush").
        if latin and not surfaces[index][:1].isupper():
            continue
        for name in by_first[key]:
            end = index + len(name)
            if tuple(keys[index:end]) != name:
                continue
            inner = _runs_inside(runs, owner, index, end) if latin else None
            if not any(taken[index:end]) or inner:
                # In Latin script the longer name also takes in shorter runs of the tagger inside it: "Real
                # Madrid" recognised once is "Real Madrid" where only "Madrid" was tagged.
                replaced.update(inner or ())
                extra.append((index, end, ""))
                taken[index:end] = b"\x01" * len(name)
                owner[index:end] = [-2] * len(name)
                break
    runs = [run for number, run in enumerate(runs) if number not in replaced]
    merged = sorted(runs + extra)
    return [(first, last, votes[tuple(keys[first:last])].most_common(1)[0][0]) for first, last, _ in merged]


def _typed_by_head(run: tuple[int, int, str], words: list[str]) -> tuple[int, int, str]:
    """An English name of two words or more takes the type of its head word, as the cue finder types names: "Sierra
    Nevada Corp." is an organisation, "Napa County" a place, whatever the tagger said."""
    first, last, _ = run
    if last - first < 2 or _is_arabic_char(words[first][0]):
        return run
    head = words[last - 1].rstrip(".")
    if head in ORG_HEADS:
        return first, last, "ORG"
    if head in LOC_HEADS:
        return first, last, "LOC"
    return run


def _coordinations_split(runs: list[tuple[int, int, str]], keys: list[str]) -> list[tuple[int, int, str]]:
    """Cut a Latin-script run at "and" or "&" when the words on each side are a name the tagger found on its own
    elsewhere in the article: "Real Madrid and Manchester United" is two clubs when each is named alone too, while
    "Securities and Exchange Commission" stays one name."""
    alone = {tuple(keys[first:last]) for first, last, _ in runs}
    parts = []
    for first, last, label in runs:
        cut = next(
            (
                index
                for index in range(first + 1, last - 1)
                if keys[index] in ("and", "&")
                and not _is_arabic_char(keys[first][0])
                and tuple(keys[first:index]) in alone
                and tuple(keys[index + 1 : last]) in alone
            ),
            None,
        )
        if cut is None:
            parts.append((first, last, label))
        else:
            parts += [(first, cut, label), (cut + 1, last, label)]
    return parts


def _runs_inside(runs: list[tuple[int, int, str]], owner: list[int], first: int, last: int) -> set[int]:
    """The tagger's runs that lie wholly inside tokens first..last - 1 and cover every taken token there; empty
    when a token there belongs to a run reaching outside or to a name already placed."""
    inner = set()
    for index in range(first, last):
        number = owner[index]
        if number == -1:
            continue
        if number < 0 or runs[number][0] < first or runs[number][1] > last:
            return set()
        inner.add(number)
    return inner


def _without_head(run: tuple[int, int, str], words: list[str]) -> tuple[int, int, str]:
    """An Arabic place name without the word for a city, province, street ... before it."""
    first, last, label = run
    if label == "LOC" and last - first >= 2 and place_head(words[first]):
        return first + 1, last, label
    return run


def _without_number_tail(runs: list[tuple[int, int, str]], words: list[str]) -> list[tuple[int, int, str]]:
    """A name does not end in a bare number: in "Everton 1" or "Ollie Peters 61" (a results line, a scorecard)
    the number is the score."""
    out = []
    for first, last, label in runs:
        while last > first and words[last - 1].isdigit():
            last -= 1
        if last > first:
            out.append((first, last, label))
    return out


def _without_preposition_tail(runs: list[tuple[int, int, str]], words: list[str]) -> list[tuple[int, int, str]]:
    """An Arabic person's name ends before a word with a preposition and the article on it ("بالقصاص", "للحكومة"):
    such a word follows a name, it is not part of one."""
    out = []
    for first, last, label in runs:
        if label == "PER" and _is_arabic_char(words[first][0]):
            for index in range(first + 1, last):
                if words[index].startswith(_PREPOSITION_ARTICLE):
                    last = index
                    break
        out.append((first, last, label))
    return out


def place_head(word: str) -> bool:
    """Whether a word (normalised or not) is the word for a city, street ... at the head of a construct; such a
    head has no article ("مدينة حلب"): "المدينة المنورة" is a name in full."""
    return bool(word) and _is_arabic_char(word[0]) and _word_key(alias_key(word)) in _PLACE_HEADS


def nationality_adjectives(entities: tuple[KnownEntity, ...]) -> frozenset[str]:
    """Arabic adjectives of the countries and regions in the knowledge base, normalised, with and without the
    article, masculine and feminine: لبنان -> لبناني اللبناني لبنانيه اللبنانيه, فرنسا -> فرنسي, روسيا -> روسي."""
    forms, places = set(), set()
    for entity in entities:
        if entity.type is not EntityType.LOC:
            continue
        for alias in entity.aliases:
            key = alias_key(alias)
            if " " in key or not is_arabic(key):
                continue
            places |= {key, key.removeprefix(ARTICLE)}
            if entity.id.startswith("nw:loc:geonames"):
                continue
            stem = key.removeprefix(ARTICLE)
            stem = stem[:-2] if stem.endswith("يا") else stem[:-1] if stem.endswith(("ا", "ه")) else stem
            if len(stem) < 3:
                continue
            adjective = stem if stem.endswith("ي") else stem + "ي"
            forms |= {adjective, adjective + "ه", ARTICLE + adjective, ARTICLE + adjective + "ه"}
    # A place's own name is no adjective, even when it looks like one (السعودية, سورية, دبي).
    return frozenset(forms - places)


def shouted(surfaces: list[str]) -> bool:
    """Whether most words of a sentence are in capitals (at least three of them)."""
    words = [surface for surface in surfaces if surface[:1].isalpha()]
    capitals = sum(1 for word in words if word.isupper() and word.isalpha() and len(word) > 1)  # not "A1", "G7"
    return capitals >= 3 and capitals * 10 >= len(words) * 6


def single_script_parts(runs: list[tuple[int, int, str]], words: list[str]) -> list[tuple[int, int, str]]:
    """Cut names where the script changes between Arabic and Latin letters: no name is written in both."""
    parts = []
    for first, last, label in runs:
        start, script = first, ""
        for index in range(first, last):
            char = words[index][0]
            here = "ar" if _is_arabic_char(char) else "latin" if char.isalpha() else ""
            if here and script and here != script:
                parts.append((start, index, label))
                start = index
            script = here or script
        parts.append((start, last, label))
    return parts


def arabic_conjunction_parts(runs: list[tuple[int, int, str]], words: list[str]) -> list[tuple[int, int, str]]:
    """Cut Arabic names at a conjunction written apart ("أبو الحسن و حيدر" is two names)."""
    parts = []
    for first, last, label in runs:
        start = first
        for index in range(first, last + 1):
            if index == last or words[index] == "و":
                if index > start:
                    parts.append((start, index, label))
                start = index + 1
    return parts


def arabic_quoted_parts(runs: list[tuple[int, int, str]], words: list[str]) -> list[tuple[int, int, str]]:
    """An Arabic name holds no quotation mark: the news corpus marks the quoted name alone (صحيفة "المستقبل" is
    المستقبل; none of its training names has a mark inside), so a run keeps its part after the last mark, and a
    mark at its end goes."""
    parts = []
    for first, last, label in runs:
        if any(_is_arabic_char(words[index][0]) for index in range(first, last)):
            while last > first and words[last - 1] in _QUOTES:
                last -= 1
            marks = [index for index in range(first, last) if words[index] in _QUOTES]
            first = marks[-1] + 1 if marks else first
        if last > first:
            parts.append((first, last, label))
    return parts


def capitalised_parts(
    runs: list[tuple[int, int, str]], words: list[str], surfaces: list[str]
) -> list[tuple[int, int, str]]:
    """Cut Latin-script names at lower-case words other than connectors ("of", "de", "von"): a run such as
    "Afghan government said Israeli" is two names at most, and a name does not end with a connector."""
    parts = []
    for first, last, label in runs:
        if _is_arabic_char(words[first][0]):
            parts.append((first, last, label))
            continue
        start = -1
        for index in range(first, last + 1):
            named = index < last and not surfaces[index][:1].islower()
            if named and start < 0:
                start = index
            elif index == last or not (named or (start >= 0 and words[index] in _CONNECTORS)):
                if start >= 0:
                    end = index
                    while end > start and words[end - 1] in _CONNECTORS:
                        end -= 1
                    if end > start:  # "The" or "De" alone is no name
                        parts.append((start, end, label))
                start = -1
    return parts


@lru_cache(maxsize=40_000)
def _word_key(word: str) -> str:
    """A word without its Arabic conjunction and preposition, so "وبيسكوف" is another occurrence of "بيسكوف"."""
    if not _is_arabic_char(word[0]):
        return word
    prefix, stem = split_proclitics(word)
    return ARTICLE + stem if prefix.endswith(ARTICLE) or prefix.endswith("لل") else stem


def _name(norm: str, start: int, end: int, label: str, vocabulary: set[str]) -> RecognisedName:
    if _is_arabic_char(norm[start]):
        first_word_end = norm.find(" ", start, end)
        start += proclitic_length(norm[start : end if first_word_end == -1 else first_word_end], vocabulary)
    return RecognisedName(start, end, TYPE_OF_LABEL[label])


def proclitic_length(word: str, vocabulary: set[str]) -> int:
    """Letters of a conjunction or preposition before a name: only when what remains is itself a word we know
    (it starts with the article, or the text also has it without the prefix), since many names start with و ب ل ف ك
    (وليد, لبنان)."""
    for prefix in _BARE:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            rest = word[len(prefix) :]
            if rest.startswith(ARTICLE) or rest in vocabulary:
                return len(prefix)
    return 0


def _runs(tags: npt.NDArray[np.intp]) -> list[tuple[int, int, str]]:
    """(first, last + 1, label) of each PER/ORG/LOC run in IOB2 tags (indexes into TAGS, 0 is O); MISC is trained
    on but not returned. Only the tokens that are not O are visited."""
    values = tags.tolist()
    found = []
    start, current, previous = -1, "", -2
    for index in np.flatnonzero(tags).tolist():
        tag = TAGS[values[index]]
        inside = index == previous + 1 and tag.startswith("I-") and tag[2:] == current
        if start >= 0 and not inside:
            if current in TYPE_OF_LABEL:
                found.append((start, previous + 1, current))
            start = -1
        if not inside:
            start, current = index, tag[2:]
        previous = index
    if start >= 0 and current in TYPE_OF_LABEL:
        found.append((start, previous + 1, current))
    return found


def model_paths(directory: Path = DATA_DIR) -> dict[str, tuple[Path, ...]]:
    """Where the models are in the package data."""
    return {script: tuple(directory / name for name in names) for script, names in MODEL_FILES.items()}


def load_recogniser(
    entities: tuple[KnownEntity, ...], lexicon: Lexicon, matcher: AliasMatcher
) -> NamedEntityRecogniser:
    """Load both models from the package data, with features over the linker's knowledge base and matcher."""
    return NamedEntityRecogniser(FeatureExtractor(entities, lexicon, matcher), model_paths())
