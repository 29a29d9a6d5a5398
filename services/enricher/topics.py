"""IPTC Media Topics of an article from multilingual cue lexicons and linked entities (pure; data loaded once).

Cue words (data/topic_cues.json) are matched with Aho-Corasick on a normalised text, weighted by where they
occur (title, lead, rest) and with diminishing returns for repeats; entities (data/topic_entity_cues.json)
add evidence by name and by type pattern. A topic is kept when it holds a fair share of the leader's score,
so a single incidental mention (the Olympics in a story about a gas deal) does not make the article sport, and is
found in the title or lead. A cue inside a longer cue of another topic is not counted ("tear gas", "star wars").
Chinese characters and kana are matched without word boundaries, Korean cues as stems (particles follow).
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources

import ahocorasick

from newswire.enricher.topic_model import TrainedTopicClassifier
from newswire.schemas.articles import CleanedArticle, Entity, EntityType, Topic

_TITLE_WEIGHT = 3.0
_LEAD_WEIGHT = 2.0
_BODY_WEIGHT = 1.0
_STRONG_CUE_WEIGHT = 2.0
# Characters of the body read as its lead (the first paragraph, at least this long).
_LEAD_CHARS = 400
# Repeats of one cue add this share of its first weight each, up to _MAX_CUE_REPEATS repeats: a word said
# ten times is more evidence than once, but not ten times more.
_REPEAT_SHARE = 0.35
_MAX_CUE_REPEATS = 6
# A top-level topic beyond the first must reach this share of the leader's score, this absolute score and
# this many distinct cues.
_MIN_SHARE_OF_LEADER = 0.5
_MIN_SECOND_TOPIC_SCORE = 4.0
_MIN_DISTINCT_CUES = 3
_MAX_TOP_LEVEL = 3
# ... and must be present where an editor reads first: this much score from the title and lead (one plain cue
# in the lead), so a topic built only from asides deep in a long body is not added.
_MIN_SECOND_OPENING = 2.0
# A second-level topic needs this share of its parent's score and this many distinct cues.
_MIN_SUBTOPIC_SHARE = 0.25
_MIN_SUBTOPIC_CUES = 2
# A subtopic's evidence counts toward its parent at this rate (its cues mostly repeat the parent's).
_SUBTOPIC_TO_PARENT = 0.3
# Below this top probability the classifier is not sure of its leader, and a lexicon leader it never learnt in
# the language (crime, conflict, weather in Arabic) takes over. 0.5 by meaning, not tuned: no dev split holds
# Arabic articles of those topics.
_UNTAUGHT_DOUBT = 0.5
# A text in which the lexicons find no cue at all gets a topic from the classifier only from this probability on:
# a text of words the classifier never learnt gets about 0.16-0.18 for some topic ("xyz qwv", "hello", "مرحبا").
# On the SANAD dev split's 20-word openings 0.3 cost 2 points of top-1 and 0.2 one.
_NO_CUE_CONFIDENT = 0.2
# Characters of the body the trained classifier reads (it stops at topic_model.MAX_BODY_WORDS words anyway).
_MODEL_BODY_CHARS = 6000
# The score of the leading topic saturates with evidence: this much raw score gives about 0.63.
_SCORE_SCALE = 10.0

# Arabic proclitics: conjunctions و ف, prepositions ب ل ك, each optionally before the article ال; ل + ال is
# written لل. Cues are expanded with these at load time, so the text is matched as written.
_ARABIC_PREFIXES = ("", "و", "ف", "ب", "ل", "ك", "وب", "ول", "فب", "فل", "وك")
_ARABIC_SCRIPT_START, _ARABIC_SCRIPT_END = 0x0600, 0x06FF
# Languages read with another one's lexicon: Malay with Indonesian (a detector often confuses the two).
_LEXICON_OF = {"ms": "id"}

# Removed with one regular-expression pass and replaced with str.replace (C loops), not str.translate with a
# mapping, which looks every character up in a dictionary.
_DROPPED_MARKS = re.compile(
    "[\u0300-\u036f"  # Latin combining accents (after NFKD)
    "\u064b-\u065f"  # Arabic harakat, shadda, sukun, hamza marks
    "\u0670"  # superscript alef
    "\u0640"  # tatweel
    "\u06d6-\u06ed]"  # Quranic annotation marks
)
_UNIFIED_LETTERS = (
    ("ة", "ه"),  # ta marbuta -> ha: spelled either way at word ends
    ("ى", "ي"),  # alef maqsura -> ya
    ("ی", "ي"),  # Persian ya
    ("ک", "ك"),  # Persian kaf
    ("ٱ", "ا"),  # alef wasla
    ("’", "'"),
    ("‘", "'"),
)


def normalise(text: str) -> str:
    """Fold case, accents, Arabic diacritics and tatweel, and letter variants (alef forms, ta marbuta, ya)."""
    decomposed = _DROPPED_MARKS.sub("", unicodedata.normalize("NFKD", text))
    # NFKD splits أ إ آ ؤ ئ into a base letter plus a hamza or madda mark, dropped above: alef forms unify.
    folded = decomposed.casefold()
    for variant, letter in _UNIFIED_LETTERS:
        folded = folded.replace(variant, letter)
    return folded


@dataclass(frozen=True, slots=True)
class _Cue:
    topic: str
    cue: str  # as written in the lexicon, reported in Topic.cues
    pattern: str  # normalised form searched for
    weight: float
    stem: bool
    bounded: bool  # must start at a word boundary (not for Chinese characters and kana: no spaces)


@dataclass(frozen=True, slots=True)
class _Concept:
    qcode: str
    label: str
    level: int
    parent: str | None
    label_local: dict[str, str]


@dataclass(frozen=True, slots=True)
class _EntityNameRule:
    words: tuple[str, ...]
    types: frozenset[EntityType]
    topics: dict[str, float]


@dataclass(frozen=True, slots=True)
class _EntityPattern:
    minimum: dict[EntityType, int]
    min_countries: int
    topics: dict[str, float]


@dataclass(slots=True)
class _Evidence:
    score: float = 0.0
    cues: dict[str, float] = field(default_factory=dict)
    opening: float = 0.0  # the part of score found in the title and lead (and from linked entities)


class TopicModel:
    """Cue automata per language, the taxonomy and the entity rules, loaded once per process."""

    def __init__(self, *, use_trained: bool = True) -> None:
        data = resources.files("newswire.enricher") / "data"
        # The build script reads lexicon evidence before any trained model exists.
        self.trained = TrainedTopicClassifier.load() if use_trained else None
        taxonomy = json.loads((data / "iptc_mediatopics.json").read_text(encoding="utf-8"))
        self.concepts = {
            item["qcode"]: _Concept(
                item["qcode"], item["label"], item["level"], item["parent"], item.get("label_local", {})
            )
            for item in taxonomy["concepts"]
        }
        cues = json.loads((data / "topic_cues.json").read_text(encoding="utf-8"))
        by_language: dict[str, list[_Cue]] = defaultdict(list)
        for section in ("topics", "subtopics"):
            for qcode, languages in cues[section].items():
                if qcode not in self.concepts:
                    raise ValueError(f"topic_cues.json names {qcode}, which is not in iptc_mediatopics.json")
                for language, listing in languages.items():
                    by_language[language].extend(_parse_cues(qcode, listing, arabic=language == "ar"))
        self._automata = {language: _automaton(entries) for language, entries in by_language.items()}
        self._any_language = _automaton([cue for entries in by_language.values() for cue in entries])
        entity_cues = json.loads((data / "topic_entity_cues.json").read_text(encoding="utf-8"))
        self._name_rules = [
            _EntityNameRule(
                tuple(normalise(word) for word in rule["words"]),
                frozenset(EntityType(kind) for kind in rule["types"]),
                {qcode: float(weight) for qcode, weight in rule["topics"].items()},
            )
            for rule in entity_cues["names"]
        ]
        self._patterns = [
            _EntityPattern(
                {EntityType(kind): count for kind, count in rule["min"].items()},
                int(rule.get("min_countries", 0)),
                {qcode: float(weight) for qcode, weight in rule["topics"].items()},
            )
            for rule in entity_cues["patterns"]
        ]

    def classify(self, article: CleanedArticle, *, language: str | None, entities: list[Entity]) -> list[Topic]:
        """Top-level topics (at least one when there is any signal), finer ones under them where confident.

        The trained classifier decides the top-level topics for the languages it was trained on when its best
        probability reaches its confidence threshold; otherwise the lexicons and entity rules decide.
        """
        evidence, probabilities = self.read(article, language=language, entities=entities)
        thresholds = self.trained.thresholds_for(language) if self.trained and probabilities else None
        return self.decide(evidence, probabilities, thresholds, language)

    def read(
        self, article: CleanedArticle, *, language: str | None, entities: list[Entity]
    ) -> tuple[dict[str, _Evidence], dict[str, float] | None]:
        """Cue and entity evidence, and the classifier's probabilities when it knows the language."""
        title, body = normalise(article.title or ""), normalise(article.body)
        evidence = self._text_evidence(title, body, language)
        # Entity evidence joins the lexicon features: the classifier learnt what cue evidence means per topic,
        # and an entity rule's evidence means the same (training passages had no linked entities).
        self._add_entities(evidence, entities)
        lexicon = {qcode: entry.score for qcode, entry in self._top_level(evidence).items()}
        if self.trained is None or not self.trained.knows(language):
            return evidence, None
        return evidence, self.trained.probabilities(title, body[:_MODEL_BODY_CHARS], lexicon, language).scores

    def decide(
        self,
        evidence: dict[str, _Evidence],
        probabilities: dict[str, float] | None,
        thresholds: dict[str, float] | None,
        language: str | None,
    ) -> list[Topic]:
        """The classifier decides when it is confident enough for the language, the lexicon rules otherwise.

        The lexicon rules also decide when they lead with a topic the classifier never learnt in this language
        (Arabic training data has seven sections: no crime, conflict or weather) and the classifier itself holds
        its own leader less likely than not. A text with no cue at all gets a topic only when the classifier
        holds its leader at `_NO_CUE_CONFIDENT` or more.
        """
        by_lexicons = self._decide(evidence, language)
        if not (probabilities and thresholds and max(probabilities.values()) >= thresholds["confident"]):
            return by_lexicons
        if max(probabilities.values()) < _NO_CUE_CONFIDENT and not any(e.score > 0 for e in evidence.values()):
            return []
        taught = self.trained.taught_in(language) if self.trained is not None else frozenset()
        if by_lexicons and by_lexicons[0].qcode not in taught and max(probabilities.values()) < _UNTAUGHT_DOUBT:
            return by_lexicons
        return self._decide_trained(evidence, probabilities, thresholds, by_lexicons, language)

    def lexicon_scores(self, title: str, body: str, language: str | None) -> dict[str, float]:
        """Top-level cue evidence of a text (no entities): the lexicon features of the trained classifier."""
        evidence = self._text_evidence(normalise(title), normalise(body), language)
        return {qcode: entry.score for qcode, entry in self._top_level(evidence).items()}

    def _text_evidence(self, title: str, body: str, language: str | None) -> dict[str, _Evidence]:
        """Cue evidence of a normalised title and body."""
        code = (language or "").split("-")[0].lower()
        automaton = self._automata.get(_LEXICON_OF.get(code, code), self._any_language)
        evidence: dict[str, _Evidence] = defaultdict(_Evidence)
        lead, rest = _split_lead(body)
        for segment, weight in ((title, _TITLE_WEIGHT), (lead, _LEAD_WEIGHT), (rest, _BODY_WEIGHT)):
            if segment:
                self._add_cues(evidence, automaton, segment, weight, opening=segment is not rest)
        return evidence

    def _add_cues(
        self,
        evidence: dict[str, _Evidence],
        automaton: ahocorasick.Automaton,
        text: str,
        weight: float,
        *,
        opening: bool,
    ) -> None:
        matches: list[tuple[int, int, _Cue]] = []
        for end, cues in automaton.iter(text):
            for cue in cues:
                start = end - len(cue.pattern) + 1
                if cue.bounded and start > 0 and text[start - 1].isalnum():
                    continue
                if not cue.stem and end + 1 < len(text) and text[end + 1].isalnum():
                    continue
                matches.append((start, end, cue))
        # A cue inside a longer cue of any topic is not read on its own: "star wars" is not war, "tear gas" not
        # energy, "social media" not society, "trade war" not conflict.
        matches.sort(key=lambda span: (span[0], -span[1]))
        spans: dict[str, list[tuple[int, int, _Cue]]] = defaultdict(list)
        reach, reach_start = -1, -1
        for start, end, cue in matches:
            if end < reach or (end == reach and start > reach_start):
                continue
            if end > reach:
                reach, reach_start = end, start
            spans[cue.topic].append((start, end, cue))
        for topic, found in spans.items():
            found.sort(key=lambda span: (span[0], -(span[1] - span[0])))
            last_end = -1
            counts: dict[str, int] = defaultdict(int)
            for start, end, cue in found:
                if start <= last_end:
                    continue
                last_end = end
                counts[cue.cue] += 1
                repeat = counts[cue.cue] - 1
                if repeat > _MAX_CUE_REPEATS:
                    continue
                gain = cue.weight * (weight if repeat == 0 else _REPEAT_SHARE)
                entry = evidence[topic]
                entry.score += gain
                entry.cues[cue.cue] = entry.cues.get(cue.cue, 0.0) + gain
                if opening:
                    entry.opening += gain

    def _add_entities(self, evidence: dict[str, _Evidence], entities: list[Entity]) -> None:
        for entity in entities:
            name = f" {normalise(entity.name)} "
            for rule in self._name_rules:
                if entity.type in rule.types and any(f" {word} " in name for word in rule.words):
                    for qcode, weight in rule.topics.items():
                        gain = weight * (0.5 + entity.salience)
                        entry = evidence[qcode]
                        entry.score += gain
                        entry.opening += gain
                        entry.cues[entity.name] = entry.cues.get(entity.name, 0.0) + gain
        counts: dict[EntityType, int] = defaultdict(int)
        for entity in entities:
            counts[entity.type] += 1
        countries = {entity.country for entity in entities if entity.type is EntityType.LOC and entity.country}
        for pattern in self._patterns:
            if all(counts[kind] >= need for kind, need in pattern.minimum.items()) and (
                len(countries) >= pattern.min_countries
            ):
                label = "entities: " + ", ".join(f"{counts[kind]} {kind.value}" for kind in pattern.minimum)
                for qcode, weight in pattern.topics.items():
                    entry = evidence[qcode]
                    entry.score += weight
                    entry.opening += weight
                    entry.cues[label] = entry.cues.get(label, 0.0) + weight

    def _decide(self, evidence: dict[str, _Evidence], language: str | None) -> list[Topic]:
        top = self._top_level(evidence)
        ranked = sorted(((q, e) for q, e in top.items() if e.score > 0), key=lambda item: -item[1].score)
        if not ranked:
            return []
        leader_score = ranked[0][1].score
        confidence = 1.0 - math.exp(-leader_score / _SCORE_SCALE)
        chosen = [ranked[0]]
        for qcode, entry in ranked[1:_MAX_TOP_LEVEL]:
            if (
                entry.score >= _MIN_SHARE_OF_LEADER * leader_score
                and entry.score >= _MIN_SECOND_TOPIC_SCORE
                and len(entry.cues) >= _MIN_DISTINCT_CUES
                and entry.opening >= _MIN_SECOND_OPENING
            ):
                chosen.append((qcode, entry))
        topics: list[Topic] = []
        for qcode, entry in chosen:
            topics.append(self._topic(qcode, entry, entry.score / leader_score * confidence, language))
            topics.extend(self._subtopics(evidence, qcode, entry, topics[-1].score, language))
        return topics

    def _top_level(self, evidence: dict[str, _Evidence]) -> dict[str, _Evidence]:
        """Evidence per top-level topic, each subtopic's counted toward its parent at a reduced rate."""
        top: dict[str, _Evidence] = {}
        for qcode, entry in evidence.items():
            if self.concepts[qcode].level == 1:
                top[qcode] = _Evidence(entry.score, dict(entry.cues), entry.opening)
        for qcode, entry in evidence.items():
            if self.concepts[qcode].level > 1:
                parent = top.setdefault(self._top_of(qcode), _Evidence())
                parent.score += _SUBTOPIC_TO_PARENT * entry.score
                parent.opening += _SUBTOPIC_TO_PARENT * entry.opening
                for cue, gain in entry.cues.items():
                    parent.cues.setdefault(cue, _SUBTOPIC_TO_PARENT * gain)
        return top

    def _decide_trained(
        self,
        evidence: dict[str, _Evidence],
        probabilities: dict[str, float],
        thresholds: dict[str, float],
        by_lexicons: list[Topic],
        language: str | None,
    ) -> list[Topic]:
        """The classifier's top topic and those at or above its threshold, plus further topics the lexicon
        rules select (the classifier learnt from one-section articles, so it rarely gives a second topic a
        high probability); subtopics from the lexicons."""
        ranked = sorted(probabilities.items(), key=lambda item: -item[1])
        chosen = [ranked[0]] + [(qcode, p) for qcode, p in ranked[1:_MAX_TOP_LEVEL] if p >= thresholds["secondary"]]
        for topic in by_lexicons:
            if topic.level == 1 and len(chosen) < _MAX_TOP_LEVEL and all(q != topic.qcode for q, _ in chosen):
                chosen.append((topic.qcode, max(probabilities.get(topic.qcode, 0.0), min(topic.score, ranked[0][1]))))
        top = self._top_level(evidence)
        topics: list[Topic] = []
        for qcode, probability in chosen:
            entry = top.get(qcode, _Evidence())
            topics.append(self._topic(qcode, entry, probability, language))
            topics.extend(self._subtopics(evidence, qcode, entry, topics[-1].score, language))
        return topics

    def _subtopics(
        self, evidence: dict[str, _Evidence], qcode: str, entry: _Evidence, parent_score: float, language: str | None
    ) -> list[Topic]:
        children = [
            (child, child_entry)
            for child, child_entry in evidence.items()
            if self.concepts[child].level > 1
            and self._top_of(child) == qcode
            and entry.score > 0
            and child_entry.score >= _MIN_SUBTOPIC_SHARE * entry.score
            and len(child_entry.cues) >= _MIN_SUBTOPIC_CUES
        ]
        return [
            self._topic(child, child_entry, min(1.0, child_entry.score / entry.score) * parent_score, language)
            for child, child_entry in sorted(children, key=lambda item: -item[1].score)
        ]

    def _top_of(self, qcode: str) -> str:
        concept = self.concepts[qcode]
        while concept.parent is not None:
            concept = self.concepts[concept.parent]
        return concept.qcode

    def _topic(self, qcode: str, entry: _Evidence, score: float, language: str | None) -> Topic:
        concept = self.concepts[qcode]
        cues = [cue for cue, _ in sorted(entry.cues.items(), key=lambda item: -item[1])[:8]]
        return Topic(
            qcode=qcode,
            label=concept.label,
            label_local=concept.label_local.get((language or "").split("-")[0].lower()),
            level=concept.level,
            parent=concept.parent,
            score=round(max(0.0, min(1.0, score)), 3),
            cues=cues,
        )


def _parse_cues(qcode: str, listing: str, *, arabic: bool) -> list[_Cue]:
    parsed: list[_Cue] = []
    for raw in listing.split(","):
        written = raw.strip()
        if not written:
            continue
        weight = _STRONG_CUE_WEIGHT if written.startswith("!") else 1.0
        written = written.lstrip("!")
        stem = written.endswith("*")
        word = normalise(written.rstrip("*").strip())
        forms = _arabic_forms(word) if arabic else {word}
        script = _unspaced_script(word)
        # Korean particles and Japanese inflections follow the word directly: those cues match as stems.
        parsed.extend(
            _Cue(qcode, written.rstrip("*"), form, weight, stem or script is not None, script != "cjk")
            for form in forms
            if form
        )
    return parsed


def _unspaced_script(word: str) -> str | None:
    """The script of a cue written without word spaces (Chinese characters, kana) or with particles (Hangul)."""
    first = ord(word[0]) if word else 0
    if 0x3040 <= first <= 0x30FF or 0x3400 <= first <= 0x4DBF or 0x4E00 <= first <= 0x9FFF:
        return "cjk"
    if 0xAC00 <= first <= 0xD7A3 or 0x1100 <= first <= 0x11FF or 0x3130 <= first <= 0x318F:
        return "hangul"
    return None


def _arabic_forms(word: str) -> set[str]:
    """The cue with and without the article, behind each proclitic (بالانتخابات, وللحكومه, فالحرب)."""
    if not word or not (_ARABIC_SCRIPT_START <= ord(word[0]) <= _ARABIC_SCRIPT_END):
        return {word}
    bare = word[2:] if word.startswith("ال") and len(word) > 3 else word
    forms: set[str] = set()
    for prefix in _ARABIC_PREFIXES:
        forms.add(prefix + bare)
        if prefix.endswith("ل"):
            forms.add(prefix + "ل" + bare)  # ل + ال -> لل
        else:
            forms.add(prefix + "ال" + bare)
    return forms


def _automaton(cues: list[_Cue]) -> ahocorasick.Automaton:
    grouped: dict[str, list[_Cue]] = defaultdict(list)
    for cue in cues:
        if all(existing.topic != cue.topic for existing in grouped[cue.pattern]):
            grouped[cue.pattern].append(cue)
    automaton = ahocorasick.Automaton()
    for pattern, entries in grouped.items():
        automaton.add_word(pattern, entries)
    automaton.make_automaton()
    return automaton


def _split_lead(body: str) -> tuple[str, str]:
    """The lead (first paragraphs up to _LEAD_CHARS) and the rest of the body."""
    cut = body.find("\n", _LEAD_CHARS // 2)
    if cut == -1 or cut > 2 * _LEAD_CHARS:
        cut = body.find(" ", _LEAD_CHARS)
    if cut == -1:
        return body, ""
    return body[:cut], body[cut:]


_model: TopicModel | None = None
_model_lock = threading.Lock()


def warm_up() -> TopicModel:
    """Load the taxonomy, cue lexicons and entity rules (once per process); the worker calls it at start."""
    global _model
    with _model_lock:
        if _model is None:
            _model = TopicModel()
        return _model


def classify_topics(article: CleanedArticle, *, language: str | None, entities: list[Entity]) -> list[Topic]:
    """IPTC Media Topics of the article, best first, each with its score and the cues that triggered it."""
    model = _model if _model is not None else warm_up()
    return model.classify(article, language=language, entities=entities)
