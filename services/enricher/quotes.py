"""Direct quotations in a body and who said them (pure; speech verbs loaded once from data/quote_cues.json).

A quotation is text between quotation marks (“ ” « » „ “ " ") in a sentence with a speech verb. The speaker
is the entity mentioned next to the verb (its canonical name), else the name as written after the verb or
before it, else the last speaker named with a speech verb earlier in the text (وأضاف, "he added").
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from dataclasses import dataclass
from importlib import resources

from newswire.enricher.patterns import WholeWords
from newswire.schemas.articles import Entity, EntityType, Quote

_QUOTE_PAIRS = (("“", "”"), ("«", "»"), ("„", "“"), ("„", "”"), ('"', '"'), ("‹", "›"))
_QUOTED = re.compile("|".join(f"{re.escape(o)}([^{re.escape(o + c)}\\n]+){re.escape(c)}" for o, c in _QUOTE_PAIRS))
_SENTENCE_END = re.compile(r"[.!?؟\n]")
# Attribution after a quotation sits within this many characters of its closing mark.
_AFTER_WINDOW = 80
_MIN_QUOTE_WORDS = 2
_MAX_NAME_WORDS = 6
_CAPITALISED_NAME = re.compile(r"(?:(?:[A-Z][\w'’.-]*|de|van|von|al-|bin|la|le)\s?){1,5}")


@dataclass(frozen=True, slots=True)
class _Speaker:
    name: str
    entity_id: str | None


@dataclass(frozen=True, slots=True)
class _Cues:
    verbs: WholeWords
    arabic_verbs: WholeWords
    name_stops: frozenset[str]
    pronouns: frozenset[str]


def _load() -> _Cues:
    data = json.loads((resources.files("newswire.enricher") / "data" / "quote_cues.json").read_text("utf-8"))
    latin = [verb for language, verbs in data["verbs"].items() if language != "ar" for verb in verbs]
    arabic = data["verbs"]["ar"]

    return _Cues(
        verbs=WholeWords(latin, ignore_case=True),
        # و and ف are proclitics: وقال, فأضاف.
        arabic_verbs=WholeWords(arabic, proclitics="وف"),
        name_stops=frozenset(word.casefold() for words in data["name_stops"].values() for word in words),
        pronouns=frozenset(word.casefold() for word in data["pronouns"]),
    )


_cues: _Cues | None = None
_cues_lock = threading.Lock()


def warm_up() -> None:
    """Load the speech verbs (once per process); the worker calls it at start."""
    global _cues
    with _cues_lock:
        if _cues is None:
            _cues = _load()


def _verb_spans(cues: _Cues, text: str, offset: int) -> list[tuple[int, int]]:
    spans = [(m.start() + offset, m.end() + offset) for m in cues.verbs.finditer(text)]
    spans += [(m.start() + offset, m.end() + offset) for m in cues.arabic_verbs.finditer(text)]
    return sorted(spans)


class _SpeakerFinder:
    """Names next to speech verbs, from entity mentions when they are known, else as written."""

    def __init__(self, body: str, cues: _Cues, entities: list[Entity]) -> None:
        self.body = body
        self.cues = cues
        self.mentions = sorted(
            (
                (mention.start, mention.end, entity)
                for entity in entities
                if entity.type in (EntityType.PERSON, EntityType.ORG)
                for mention in entity.mentions
            ),
            key=lambda item: (item[0], item[2].type is not EntityType.PERSON),
        )

    def _entity_in(self, start: int, end: int) -> _Speaker | None:
        inside = [entity for m_start, m_end, entity in self.mentions if m_start < end and m_end > start]
        people = [entity for entity in inside if entity.type is EntityType.PERSON]
        candidates = people or inside
        return _Speaker(candidates[0].name, candidates[0].id) if candidates else None

    def _name_region_after(self, verb_end: int, limit: int) -> tuple[int, int]:
        """The words right after a verb up to a stop word, colon, comma or quotation mark."""
        cursor = verb_end
        region_start = None
        for words, match in enumerate(re.finditer(r"[^\s:،,\"“”«»„]+|[:،,\"“”«»„]", self.body[verb_end:limit])):
            token = match.group(0)
            if token in ':،,"“”«»„' or token.casefold() in self.cues.name_stops or words >= _MAX_NAME_WORDS:
                break
            if region_start is None:
                region_start = verb_end + match.start()
            cursor = verb_end + match.end()
        return (region_start if region_start is not None else verb_end, cursor)

    def around_verb(self, verb_start: int, verb_end: int, limit: int) -> _Speaker | None:
        """The speaker named right after the verb, or right before it."""
        after_start, after_end = self._name_region_after(verb_end, limit)
        if after_end > after_start:
            entity = self._entity_in(after_start, after_end)
            if entity is not None:
                return entity
        before = self._entity_in(max(0, verb_start - 2), verb_start)
        if before is not None:
            # A mention ending right before the verb: "ماتوزوف رأى", "Smith said".
            return before
        if after_end > after_start:
            written = self.body[after_start:after_end].strip().rstrip(".;")
            if written.casefold() in self.cues.pronouns:
                return None
            if re.search(r"[\u0600-\u06ff]", written) or _CAPITALISED_NAME.fullmatch(written + " "):
                return _Speaker(written, None)
        preceding = re.search(r"((?:[A-Z][\w'’.-]*\s){1,4})$", self.body[max(0, verb_start - 60) : verb_start])
        if preceding and preceding.group(1).strip().casefold() not in self.cues.pronouns:
            return _Speaker(preceding.group(1).strip(), None)
        return None


def extract_quotes(body: str, *, language: str | None, entities: list[Entity]) -> list[Quote]:
    """Direct quotations with their speaker, linked to the entity when the speaker is one, in order."""
    if _cues is None:
        warm_up()
    cues = _cues
    assert cues is not None
    finder = _SpeakerFinder(body, cues, entities)
    spans = sorted((m.start(), m.end()) for m in _QUOTED.finditer(body))
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(body)]
    # Attributions outside quotations, in order: the "previous speaker" for وأضاف or "he added".
    attributions: list[tuple[int, _Speaker]] = []
    for verb_start, verb_end in _verb_spans(cues, body, 0):
        if any(start <= verb_start < end for start, end in spans):
            continue
        sentence_end = _SENTENCE_END.search(body, verb_end)
        named = finder.around_verb(verb_start, verb_end, sentence_end.start() if sentence_end else len(body))
        if named is not None:
            attributions.append((verb_start, named))
    quotes: list[Quote] = []
    for open_at, close_at in spans:
        inner_start, inner_end = open_at + 1, close_at - 1
        while inner_start < inner_end and body[inner_start].isspace():
            inner_start += 1
        # Trailing spaces and the comma of "…," said X belong to the sentence, not to the quoted words.
        while inner_end > inner_start and (body[inner_end - 1].isspace() or body[inner_end - 1] in ",،;"):
            inner_end -= 1
        text = body[inner_start:inner_end]
        if len(text.split()) < _MIN_QUOTE_WORDS:
            continue
        # The last sentence end before the quotation (sentence ends are found once, then bisected).
        before = bisect.bisect_right(sentence_ends, open_at) - 1
        sentence_start = sentence_ends[before] if before >= 0 else 0
        after_end = min(len(body), close_at + _AFTER_WINDOW)
        next_end = _SENTENCE_END.search(body, close_at + 1 if body[close_at : close_at + 1] in ".!?؟" else close_at)
        if next_end is not None:
            after_end = min(after_end, next_end.start() + 1)
        verbs_before = _verb_spans(cues, body[sentence_start:open_at], sentence_start)
        verbs_after = _verb_spans(cues, body[close_at:after_end], close_at)
        if not verbs_before and not verbs_after:
            continue
        speaker: _Speaker | None = None
        if verbs_after:
            speaker = finder.around_verb(*verbs_after[0], after_end)
        if speaker is None and verbs_before:
            speaker = finder.around_verb(*verbs_before[-1], open_at)
        if speaker is None:
            earlier = [(position, found) for position, found in attributions if position < open_at]
            speaker = max(earlier, key=lambda item: item[0])[1] if earlier else None
        if speaker is not None:
            attributions.append((open_at, speaker))
        quotes.append(
            Quote(
                text=text,
                speaker=speaker.name if speaker else None,
                speaker_entity_id=speaker.entity_id if speaker else None,
                start=inner_start,
                end=inner_end,
            )
        )
    return quotes
