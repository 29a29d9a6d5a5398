"""Entity linking: knowledge-base matches, disambiguation, names found from cues, surnames, salience."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

from newswire.enricher.entities.cues import CueFinder, Token, tokenize
from newswire.enricher.entities.kb import KnownEntity, Lexicon, load_entities, load_lexicon
from newswire.enricher.entities.matcher import ARTICLE, BARE_PREFIXES, AliasMatcher, AliasRef, Span
from newswire.enricher.entities.ner import RecognisedName, TextToTag, load_recogniser, nationality_adjectives
from newswire.enricher.entities.normalize import alias_key, is_arabic, normalize_text
from newswire.enricher.entities.romanize import romanize
from newswire.schemas.articles import Entity, EntityType, Mention

# A place whose name is also a first name (فلاديمير, Victoria) is read as a person's name when another name-like
# word follows it, unless the place is famous enough to be meant on its own.
FIRST_NAME_PLACE_MAX_PRIOR = 0.7
# Capitalisation tells nothing at the start of a sentence, so obscure places need more than a capital letter there.
SENTENCE_START_MIN_PRIOR = 0.5
CONTEXT_COUNTRY_BONUS = 0.25
# With the recogniser, a one-word Arabic place below this prior must be read as a name by the recogniser too
# (ANERcorp dev, untyped F1: 0.761 without the rule; 0.769 below 0.5 or 0.7; 0.766 for every place).
UNCONFIRMED_PLACE_MAX_PRIOR = 0.5
# Many small towns have Arabic names that are everyday words (الجديدة "the new one"); below this prior a one-word
# Arabic place name needs a locative word before it (في, مدينة ...).
LOCATIVE_CUE_BELOW_PRIOR = 0.5
_LOCATIVE_RE = re.compile(r"(?:^|\s)(?:[وف]?(?:في|من|الى|قرب|[بل]?مدينه|بلده|محافظه|ولايه|اقليم|بلدة))\s+$")
# Languages the recogniser's models were trained and measured on; German, for one, capitalises every noun, so a
# model that reads capitals as names would find names everywhere. Others get the knowledge base and cues.
RECOGNISED_LANGUAGES = frozenset({"ar", "en", "fr"})
# Characters of the articles `link_many` links as one group: the recogniser's fixed cost per call is paid off by a
# few short articles (on 1,700-character Arabic news about the same from 1,000 to 8,000 tokens a call, RESULTS.md),
# and a group's tokens, matches and the window network's hidden layer (2.5 KB a token) stay a few MB.
_GROUP_CHARS = 6_000
TITLE_WEIGHT = 2.0
LEAD_WEIGHT = 1.5
_SENTENCE_END = re.compile(r"(?:^|[.!?؟\n\"“«]\s*)$")
_SLUG_RE = re.compile(r"\W+")


@dataclass
class FoundEntity:
    """An entity being assembled for one article."""

    id: str
    type: EntityType
    name: str
    known: KnownEntity | None = None
    mentions: list[tuple[int, int]] = field(default_factory=list)
    in_title: int = 0


class ArticleText(NamedTuple):
    """What `EntityLinker.link_many` reads of an article: its body, language code and title."""

    body: str
    language: str | None
    title: str | None = None


@dataclass(slots=True)
class _Matched:
    """An article's normalised text, tokens and knowledge-base matches: the entities they resolved to so far
    (`found`) and the matches no entity was chosen for (`rejected`)."""

    norm: str
    offsets: list[int] | None
    tokens: list[Token]
    spans: list[Span]
    found: dict[str, FoundEntity] = field(default_factory=dict)
    rejected: dict[tuple[int, int], Span] = field(default_factory=dict)


def _language_code(language: str | None) -> str:
    return (language or "").split("-")[0].lower()


class EntityLinker:
    """Knowledge base, automaton and word lists, built once per process."""

    def __init__(self, entities: tuple[KnownEntity, ...], lexicon: Lexicon, *, recogniser: bool = True) -> None:
        self.entities = entities
        self.matcher = AliasMatcher(entities, lexicon)
        self.recogniser = load_recogniser(entities, lexicon, self.matcher) if recogniser else None
        self.cues = CueFinder(lexicon)
        self.nationalities = nationality_adjectives(entities)
        self.terminators = {alias_key(word) for word in lexicon.arabic_name_terminators}
        first_names = {alias_key(name) for name in lexicon.given_names}
        for entity in entities:
            if entity.type is EntityType.PERSON:
                for alias in entity.aliases:
                    key = alias_key(alias)
                    if " " in key:
                        first_names.add(key.split(" ", 1)[0])
        self.first_names = frozenset(first_names)

    def link(self, body: str, language: str | None, title: str | None) -> list[Entity]:
        """Entities of `body`, most salient first."""
        return self.link_many([ArticleText(body, language, title)])[0]

    def link_many(self, articles: Sequence[ArticleText]) -> list[list[Entity]]:
        """`link` for many articles, the same entities as one by one: the recogniser tags a group of articles of
        about `_GROUP_CHARS` characters together (`NamedEntityRecogniser.recognise_many`), which costs less per
        article; one group's work is held at a time."""
        linked: list[list[Entity]] = []
        group: list[ArticleText] = []
        size = 0
        for article in articles:
            group.append(article)
            size += len(article.body)
            if size >= _GROUP_CHARS:
                linked.extend(self._link_group(group))
                group, size = [], 0
        if group:
            linked.extend(self._link_group(group))
        return linked

    def _link_group(self, articles: Sequence[ArticleText]) -> list[list[Entity]]:
        matched = [self._matched(article.body) for article in articles]
        tagged = [index for index, article in enumerate(articles) if self._recognised(article.language)]
        names: dict[int, list[RecognisedName]] = {}
        if self.recogniser is not None and tagged:
            texts = [
                TextToTag(
                    matched[index].norm,
                    articles[index].body,
                    matched[index].offsets,
                    matched[index].spans,
                    capitalised_names=_language_code(articles[index].language) in ("", "en"),
                )
                for index in tagged
            ]
            names = dict(zip(tagged, self.recogniser.recognise_many(texts), strict=True))
        return [
            self._linked(article, found, names.get(index))
            for index, (article, found) in enumerate(zip(articles, matched, strict=True))
        ]

    def _recognised(self, language: str | None) -> bool:
        """Whether the recogniser reads text in this language (also text of unknown language)."""
        code = _language_code(language)
        return self.recogniser is not None and (not code or code in RECOGNISED_LANGUAGES)

    def _matched(self, body: str) -> _Matched:
        """The knowledge base's matches in `body`, each resolved to an entity or set aside as rejected."""
        norm, offsets = normalize_text(body)
        tokens = tokenize(norm)
        spans = self.matcher.find(norm, body, offsets)
        matched = _Matched(norm, offsets, tokens, spans)
        context = self._context_countries(spans)
        for span in spans:
            entity = self._choose(span, norm, body, offsets, tokens, context)
            if entity is not None and entity.type is EntityType.ORG:
                end = self._without_nationality(norm, span.start, span.end)
                if end > span.start:
                    self._add(matched.found, entity.id, entity.type, entity.name, entity, (span.start, end))
            elif entity is not None:
                self._add(matched.found, entity.id, entity.type, entity.name, entity, (span.start, span.end))
            else:
                matched.rejected[span.start, span.end] = span
        return matched

    def _linked(self, article: ArticleText, matched: _Matched, names: list[RecognisedName] | None) -> list[Entity]:
        """The article's entities from its knowledge-base matches, cue finds and (when the recogniser read the
        article) recognised names."""
        body, norm, offsets, tokens, found = article.body, matched.norm, matched.offsets, matched.tokens, matched.found
        recognised = bytearray(len(norm))
        for name in names or ():
            recognised[name.start : name.end] = b"\x01" * (name.end - name.start)
        if names is not None:
            self._drop_unconfirmed_places(found, norm, recognised)
        covered, person_at = self._coverage(tokens, found)
        for cue in self.cues.find(norm, body, tokens, covered, person_at, offsets):
            if names is None or self._confirmed(cue.start, cue.end, norm, recognised):
                self._add_cue_find(found, cue.type, norm, body, offsets, cue.start, cue.end)
        if names is not None:
            # Longest first, so a full name is in place before its surname alone is met.
            # Most recognised names touch no mention found so far: they skip the search through the mentions.
            taken = bytearray(len(norm))
            for entry in found.values():
                for m_start, m_end in entry.mentions:
                    taken[m_start:m_end] = b"\x01" * (m_end - m_start)
            for name in sorted(names, key=lambda n: (n.start - n.end, n.start)):
                clear = taken.find(1, name.start, name.end) == -1
                self._add_recognised(found, name, norm, body, offsets, matched.rejected, clear=clear)
                taken[name.start : name.end] = b"\x01" * (name.end - name.start)
        self._attach_surnames(found, norm, body, offsets, tokens)
        if article.title:
            self._count_title(found, article.title)
        return self._to_entities(found, body, offsets, article.language, len(norm))

    def _drop_unconfirmed_places(self, found: dict[str, FoundEntity], norm: str, recognised: bytearray) -> None:
        """Drop one-word Arabic names of little-known places from the knowledge base that the recogniser, which
        saw the word in training and knew the knowledge base matched it, does not read as a name here: many towns
        are named with everyday words (مدينة, سن, إب)."""
        assert self.recogniser is not None
        for entry in list(found.values()):
            known = entry.known
            if entry.type is not EntityType.LOC or known is None or known.prior >= UNCONFIRMED_PLACE_MAX_PRIOR:
                continue
            kept = []
            for start, end in entry.mentions:
                word = norm[start:end]
                if (
                    " " not in word
                    and is_arabic(word)
                    and recognised.find(1, start, end) == -1
                    and self.recogniser.knows(word)
                ):
                    continue
                kept.append((start, end))
            entry.mentions = kept
            if not kept:
                del found[entry.id]

    def _without_nationality(self, norm: str, start: int, end: int) -> int:
        """Where an Arabic organisation's name ends without the nationality adjective an alias may carry ("حزب
        الله اللبناني" is Hezbollah, as the news corpora annotate it); `start` when the name is that adjective
        alone ("القطرية" is "Qatari" far more often than Qatar Airways)."""
        space = norm.rfind(" ", start, end)
        if norm[space + 1 : end] not in self.nationalities:
            return end
        return start if space == -1 else space

    def _confirmed(self, start: int, end: int, norm: str, recognised: bytearray) -> bool:
        """Whether the recogniser agrees with a name read from a cue word. A cue alone also takes in the words
        after a title that are no name ("دبلوماسي ياباني كبير", "اتصالا تليفونيا"), so the name must be a name
        to the recogniser too, unless it has two words at most and the recogniser never saw them in training:
        it misses many foreign names that a title announces ("الباحث السياسي فيتشسلاف ماتوزوف")."""
        if recognised.find(1, start, end) != -1:
            return True
        words = norm[start:end].split()
        assert self.recogniser is not None
        return len(words) <= 2 and not any(self.recogniser.knows(word) for word in words)

    def _context_countries(self, spans: list[Span]) -> set[str]:
        countries = set()
        for span in spans:
            ids = {ref.entity for ref in span.refs}
            if len(ids) == 1:
                country = self.entities[next(iter(ids))].country
                if country:
                    countries.add(country)
        return countries

    def _choose(
        self,
        span: Span,
        norm: str,
        original: str,
        offsets: list[int] | None,
        tokens: list[Token],
        context: set[str],
    ) -> KnownEntity | None:
        best: tuple[float, KnownEntity] | None = None
        for ref in span.refs:
            entity = self.entities[ref.entity]
            if not self._plausible(ref, entity, span, norm, original, offsets, tokens):
                continue
            score = entity.prior
            if entity.type is EntityType.LOC and entity.country in context and not entity.id.startswith("nw:loc:iso"):
                score += CONTEXT_COUNTRY_BONUS
            if best is None or score > best[0]:
                best = (score, entity)
        return best[1] if best else None

    def _plausible(
        self,
        ref: AliasRef,
        entity: KnownEntity,
        span: Span,
        norm: str,
        original: str,
        offsets: list[int] | None,
        tokens: list[Token],
    ) -> bool:
        if entity.type is not EntityType.LOC or not ref.single_word:
            return True
        if ref.arabic and entity.prior < LOCATIVE_CUE_BELOW_PRIOR and not self._after_locative(norm, span.word_start):
            return False
        key = norm[span.start : span.end].removeprefix(ARTICLE) if ref.arabic else norm[span.start : span.end]
        if key in self.first_names and entity.prior < FIRST_NAME_PLACE_MAX_PRIOR:
            following = next((t for t in tokens if t.start > span.end), None)
            adjacent = following is not None and following.start - span.end <= 2
            if following is not None and adjacent and self._name_like(following, original, offsets):
                return False
        if not ref.arabic and entity.prior < SENTENCE_START_MIN_PRIOR:
            o_start = offsets[span.start] if offsets else span.start
            if _SENTENCE_END.search(original, max(0, o_start - 4), o_start):
                return False
        return True

    @staticmethod
    def _after_locative(norm: str, word_start: int) -> bool:
        return bool(_LOCATIVE_RE.search(norm[max(0, word_start - 16) : word_start]))

    def _name_like(self, token: Token, original: str, offsets: list[int] | None) -> bool:
        if is_arabic(token.norm):
            return token.norm not in self.terminators and not token.norm.startswith(ARTICLE)
        start = offsets[token.start] if offsets else token.start
        return original[start : start + 1].isupper()

    @staticmethod
    def _add(
        found: dict[str, FoundEntity],
        entity_id: str,
        entity_type: EntityType,
        name: str,
        known: KnownEntity | None,
        mention: tuple[int, int],
    ) -> None:
        entry = found.get(entity_id)
        if entry is None:
            entry = found[entity_id] = FoundEntity(entity_id, entity_type, name, known)
        entry.mentions.append(mention)

    @staticmethod
    def _coverage(tokens: list[Token], found: dict[str, FoundEntity]) -> tuple[list[bool], list[bool]]:
        covered = [False] * len(tokens)
        person_at = [False] * len(tokens)
        starts = [token.start for token in tokens]
        for entry in found.values():
            for start, end in entry.mentions:
                for index in range(_first_token_at(starts, start), len(tokens)):
                    if tokens[index].start >= end:
                        break
                    if tokens[index].end > start:
                        covered[index] = True
                        person_at[index] = person_at[index] or entry.type is EntityType.PERSON
        return covered, person_at

    def _add_cue_find(
        self,
        found: dict[str, FoundEntity],
        entity_type: EntityType,
        norm: str,
        original: str,
        offsets: list[int] | None,
        start: int,
        end: int,
    ) -> None:
        written = _original_slice(original, offsets, start, end)
        slug = _SLUG_RE.sub("-", norm[start:end]).strip("-")
        entity_id = f"nw:{entity_type.value.lower()}:{slug}"
        # A new ORG or place may contain a linked place ("Diplomatic Academy of Vietnam"): the longer name wins,
        # but a linked name that reaches past it ("International Court of Justice") keeps its words.
        for entry in found.values():
            if any(m[0] < end and start < m[1] and not (start <= m[0] and m[1] <= end) for m in entry.mentions):
                return
            if any(m == (start, end) for m in entry.mentions):
                return
        for entry in list(found.values()):
            entry.mentions = [m for m in entry.mentions if not (start <= m[0] and m[1] <= end)]
            if not entry.mentions:
                del found[entry.id]
        self._add(found, entity_id, entity_type, written, None, (start, end))

    def _add_recognised(
        self,
        found: dict[str, FoundEntity],
        name: RecognisedName,
        norm: str,
        original: str,
        offsets: list[int] | None,
        rejected: dict[tuple[int, int], Span],
        *,
        clear: bool = False,
    ) -> None:
        """Link a recognised name, or add it as a new entity, unless a linked name already covers it differently.
        `clear`: no mention found so far overlaps the name."""
        start, end = name.start, name.end
        word_end = norm.find(" ", start, end)
        word_end = end if word_end == -1 else word_end
        # Only the mentions overlapping the name matter below (the start only moves forward).
        near = [] if clear else [(e, m) for e in found.values() for m in e.mentions if m[0] < end and start < m[1]]
        for _, (m_start, _) in near:
            if start < m_start < word_end:
                start = m_start  # the matcher read the clitics of this word ("وللصين" -> "صين")
        inside: list[FoundEntity] = []
        for entry, (m_start, m_end) in near:
            if (m_start, m_end) == (start, end) or (m_start <= start and end <= m_end):
                return  # already linked, or part of a longer linked name
            if m_start < end and start < m_end:
                if not (start <= m_start and m_end <= end):
                    return  # overlaps a linked name without containing it: the knowledge base wins
                inside.append(entry)
        if len({entry.id for entry in inside}) > 1 or any(entry.type is EntityType.PERSON for entry in inside):
            return  # a recognised span across two linked names, or around a linked person: too long
        if inside and inside[0].type is name.type:
            # "President Joe Biden" around "Joe Biden": the linked entity takes the longer mention.
            entry = inside[0]
            entry.mentions = [m for m in entry.mentions if not (start <= m[0] and m[1] <= end)]
            entry.mentions.append((start, end))
            return
        span = rejected.get((start, end))
        if span is not None and not inside:
            # The knowledge base knows this name but doubted it here (a rare place at a sentence start, a first
            # name that is also a town); the recogniser's reading of the context decides.
            known = [self.entities[ref.entity] for ref in span.refs if self.entities[ref.entity].type is name.type]
            if known:
                best = max(known, key=lambda entity: entity.prior)
                self._add(found, best.id, best.type, best.name, best, (start, end))
                return
        words = norm[start:end].split()
        # A surname alone is the person named in full: also when the tagger read it as a place or an organisation
        # ("Claure" after "Marcelo Claure"); a name the knowledge base knows does not come here.
        if len(words) == 1 and (name.type is EntityType.PERSON or not is_arabic(words[0])):
            person = self._person_with_surname(found, norm, words[0])
            if person is not None:
                person.mentions.append((start, end))
                return
        for entry in {entry.id: entry for entry in inside}.values():
            entry.mentions = [m for m in entry.mentions if not (start <= m[0] and m[1] <= end)]
            if not entry.mentions:
                del found[entry.id]
        written = _original_slice(original, offsets, start, end)
        slug = _SLUG_RE.sub("-", norm[start:end]).strip("-")
        self._add(found, f"nw:{name.type.value.lower()}:{slug}", name.type, written, None, (start, end))

    @staticmethod
    def _person_with_surname(found: dict[str, FoundEntity], norm: str, word: str) -> FoundEntity | None:
        """The person already found whose full name, as written here, ends with `word`."""
        size = len(word)
        for entry in found.values():
            if entry.type is not EntityType.PERSON:
                continue
            for m_start, m_end in entry.mentions:
                # The mention's last word is `word` and another word comes before it (compared in place).
                cut = m_end - size - 1
                if cut > m_start and norm[cut] == " " and norm.startswith(word, cut + 1) and norm[m_start:cut].strip():
                    return entry
        return None

    def _attach_surnames(
        self, found: dict[str, FoundEntity], norm: str, original: str, offsets: list[int] | None, tokens: list[Token]
    ) -> None:
        """Link later surname-only mentions ("بيسكوف", "Kroenig") to the person named in full earlier."""
        surnames: dict[str, FoundEntity] = {}
        for entry in found.values():
            if entry.type is not EntityType.PERSON:
                continue
            for start, end in entry.mentions:
                words = norm[start:end].split()
                if len(words) >= 2 and len(words[-1]) >= 3:
                    surnames.setdefault(words[-1], entry)
        if not surnames:
            return
        covered, _ = self._coverage(tokens, found)
        # Only a word starting like a surname or with a proclitic letter can be one.
        initials = {surname[0] for surname in surnames} | set("وفبلك")
        for index, token in enumerate(tokens):
            if covered[index] or token.norm[0] not in initials:
                continue
            person, skip = self._surname_match(token.norm, surnames)
            if person is None:
                continue
            o_start = offsets[token.start] if offsets else token.start
            if not is_arabic(token.norm) and not original[o_start : o_start + 1].isupper():
                continue
            person.mentions.append((token.start + skip, token.end))

    @staticmethod
    def _surname_match(word: str, surnames: dict[str, FoundEntity]) -> tuple[FoundEntity | None, int]:
        if word in surnames:
            return surnames[word], 0
        if is_arabic(word):
            for length in (1, 2):
                if word[:length] in BARE_PREFIXES and word[length:] in surnames:
                    return surnames[word[length:]], length
        return None, 0

    def _count_title(self, found: dict[str, FoundEntity], title: str) -> None:
        norm, offsets = normalize_text(title)
        tokens = tokenize(norm)
        for span in self.matcher.find(norm, title, offsets):
            entity = self._choose(span, norm, title, offsets, tokens, set())
            if entity is not None and entity.id in found:
                found[entity.id].in_title += 1

    def _to_entities(
        self,
        found: dict[str, FoundEntity],
        body: str,
        offsets: list[int] | None,
        language: str | None,
        length: int,
    ) -> list[Entity]:
        lang = _language_code(language)
        scored = []
        for entry in found.values():
            mentions = sorted(set(entry.mentions))
            weight = sum(LEAD_WEIGHT if start < 0.15 * length else 1.0 for start, _ in mentions)
            weight += TITLE_WEIGHT * min(entry.in_title, 2) + 0.5 * (1.0 - mentions[0][0] / max(length, 1))
            scored.append((weight, entry, mentions))
        top = max((weight for weight, _, _ in scored), default=1.0)
        entities = []
        for weight, entry, mentions in sorted(scored, key=lambda item: (-item[0], item[2][0][0])):
            written = [_original_slice(body, offsets, start, end) for start, end in mentions]
            known = entry.known
            local = _local_name(known, lang, written, entry.name)
            entities.append(
                Entity(
                    id=entry.id,
                    wikidata_id=known.wikidata_id if known else None,
                    type=entry.type,
                    name=entry.name,
                    name_local=local,
                    name_latin=romanize(entry.name) if known is None and is_arabic(entry.name) else None,
                    mentions=[
                        Mention(text=text, start=_orig(offsets, start), end=_orig_end(offsets, end))
                        for text, (start, end) in zip(written, mentions, strict=True)
                    ],
                    salience=round(weight / top, 3),
                    country=known.country if known and entry.type is EntityType.LOC else None,
                )
            )
        return entities


def _local_name(known: KnownEntity | None, lang: str, written: list[str], default: str) -> str:
    if known is not None:
        if lang == "en":
            return known.name
        if lang in known.names:
            return known.names[lang]
    if written:
        return Counter(written).most_common(1)[0][0]
    return default


def _first_token_at(starts: list[int], position: int) -> int:
    from bisect import bisect_right

    return max(0, bisect_right(starts, position) - 1)


def _orig(offsets: list[int] | None, index: int) -> int:
    return offsets[index] if offsets else index


def _orig_end(offsets: list[int] | None, end: int) -> int:
    return offsets[end - 1] + 1 if offsets else end


def _original_slice(original: str, offsets: list[int] | None, start: int, end: int) -> str:
    return original[_orig(offsets, start) : _orig_end(offsets, end)]


@cache
def load_linker() -> EntityLinker:
    """Load the knowledge base and build the automaton; cached, call once at worker start."""
    return EntityLinker(load_entities(), load_lexicon())
