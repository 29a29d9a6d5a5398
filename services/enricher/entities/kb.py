"""The entity knowledge base and word lists, loaded once from the package data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from newswire.schemas.articles import EntityType

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True, slots=True)
class KnownEntity:
    """One knowledge-base entity."""

    id: str
    wikidata_id: str | None
    type: EntityType
    name: str
    names: dict[str, str]
    country: str | None
    prior: float
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    """Hand-written word lists (see data/lexicon.json)."""

    arabic_stopwords: frozenset[str]
    arabic_name_terminators: frozenset[str]
    arabic_cues: frozenset[str]
    latin_cues: frozenset[str]
    latin_name_verbs: frozenset[str]
    given_names: frozenset[str] = field(default_factory=frozenset)


@cache
def load_entities() -> tuple[KnownEntity, ...]:
    """All knowledge-base entities, most popular first."""
    document = json.loads((DATA_DIR / "kb.json").read_text(encoding="utf-8"))
    return tuple(
        KnownEntity(
            id=row["id"],
            wikidata_id=row["wikidata_id"],
            type=EntityType(row["type"]),
            name=row["name"],
            names=row["names"],
            country=row["country"],
            prior=float(row["prior"]),
            aliases=tuple(row["aliases"]),
        )
        for row in document["entities"]
    )


@cache
def load_lexicon() -> Lexicon:
    """The word lists, as written (normalise before comparing)."""
    document = json.loads((DATA_DIR / "lexicon.json").read_text(encoding="utf-8"))
    return Lexicon(
        arabic_stopwords=frozenset(document["arabic_stopwords"]),
        arabic_name_terminators=frozenset(document["arabic_name_terminators"]),
        arabic_cues=frozenset(document["arabic_cues"]),
        latin_cues=frozenset(document["latin_cues"]),
        latin_name_verbs=frozenset(document["latin_name_verbs"]),
        given_names=frozenset(document["given_names"]),
    )


COMMON_WORDS_FILE = "common-words-en.txt"


@cache
def load_common_words() -> frozenset[str]:
    """The most frequent English words, lower-cased (data/common-words-en.txt, from `build_common_words.py`)."""
    path = DATA_DIR / COMMON_WORDS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{COMMON_WORDS_FILE} is missing from {path.parent}; rebuild it with"
            " `python -m newswire.enricher.entities.build_common_words`"
        )
    return frozenset(path.read_text(encoding="utf-8").split())
