"""English names as newspapers write them: sentence openers, coordinated names, compounds, surnames, head words.

The sentences are written for these tests; the invented names are in no list and in no training corpus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newswire.enricher.entities import link_entities
from newswire.enricher.entities.build_common_words import common_words
from newswire.enricher.entities.cues import tokenize
from newswire.enricher.entities.kb import COMMON_WORDS_FILE, DATA_DIR, load_common_words
from newswire.enricher.entities.matcher import _compound_end
from newswire.enricher.entities.ner import _coordinations_split, _typed_by_head
from newswire.schemas.articles import Entity, EntityType


def _names(text: str) -> dict[str, EntityType]:
    return {entity.name: entity.type for entity in link_entities(text, language="en")}


def _mentions(entities: list[Entity]) -> set[str]:
    return {mention.text for entity in entities for mention in entity.mentions}


def test_a_frequent_word_that_only_opens_a_sentence_is_no_name() -> None:
    text = (
        "Halvard Ostrem said the plan would cost jobs at the shipping firm.\n"
        "Moreover, the board of Kestrel Lines met again on Monday.\n"
        "(Graphic: the fleet in 2019)\n"
        "Benchmark notes fell as traders waited for the talks to resume."
    )
    mentions = _mentions(link_entities(text, language="en"))
    assert {"Moreover", "Graphic", "Benchmark"}.isdisjoint(mentions)
    assert "Halvard Ostrem" in mentions


def test_a_frequent_word_written_with_a_capital_elsewhere_stays_a_name() -> None:
    # "Apple" opens the first sentence, and the text also writes it with a capital mid-sentence.
    text = (
        "Apple said on Tuesday that its sales rose in the quarter.\n"
        "Analysts at the bank said shares of Apple could rise further."
    )
    assert _names(text).get("Apple") is EntityType.ORG


def test_a_given_name_opening_a_sentence_keeps_the_person_whole() -> None:
    text = "Chris Vandermolen, the new police commissioner, said patrols would double."
    assert "Chris Vandermolen" in _names(text)


def test_numbers_and_weekdays_are_no_names() -> None:
    text = "Tuesday was quiet in the port.\n18 Northern counties were placed under a warning by Halvard Ostrem."
    names = _names(text)
    assert "Tuesday" not in names
    assert not any(name.startswith("18") for name in names)


def test_a_score_after_a_name_is_not_part_of_it() -> None:
    text = (
        "Results of the regional league on Saturday :\n"
        "Harwick Rovers 2 Dunmore Athletic 1\n"
        "Scores : Dunmore 212 ( Callum Brierley 61 , Tobias Wrenfield 44 ) ."
    )
    mentions = _mentions(link_entities(text, language="en"))
    assert not any(character.isdigit() for mention in mentions for character in mention), mentions
    # Wire results lines and scorecards are learnt from the written wire stories (build_ner's wire-stories corpus).
    assert {"Harwick Rovers", "Dunmore Athletic", "Callum Brierley", "Tobias Wrenfield"} <= mentions


def test_an_initial_stays_with_its_name() -> None:
    text = (
        "Scores : Harwick 259 and 169 ( T. Brenwick 56 ; R. Okonjo 4-43 ) .\n"
        "Leading scores : 66 - C. Wrenfield ( Scotland ) , D. J. Ostrander ( Canada ) ."
    )
    text += "\nThe prime minister, John A. Harwell, said the plan would pass."
    mentions = _mentions(link_entities(text, language="en"))
    assert {"T. Brenwick", "R. Okonjo", "C. Wrenfield", "D. J. Ostrander", "John A. Harwell"} <= mentions
    assert not {"T.", "R.", "C.", "D."} & mentions


def test_coordinated_names_are_two_when_each_is_named_alone() -> None:
    runs = [(0, 2, "ORG"), (3, 5, "ORG"), (10, 15, "ORG"), (20, 22, "ORG")]
    keys = ["real", "madrid", "x", "manchester", "united", "y", "z", "w", "v", "u"]
    keys += ["real", "madrid", "and", "manchester", "united", "q", "r", "s", "t", "o"]
    keys += ["securities", "exchange"]
    expected = [(0, 2, "ORG"), (3, 5, "ORG"), (10, 12, "ORG"), (13, 15, "ORG"), (20, 22, "ORG")]
    assert _coordinations_split(runs, keys) == expected
    # One name with "and" in it stays whole when its parts are never named alone.
    assert _coordinations_split([(0, 4, "ORG")], ["securities", "and", "exchange", "commission"]) == [(0, 4, "ORG")]


def test_a_name_takes_the_type_of_its_head_word() -> None:
    words = ["sierra", "nevada", "corp."]
    assert _typed_by_head((0, 3, "PER"), words) == (0, 3, "ORG")
    assert _typed_by_head((0, 2, "PER"), ["napa", "county"]) == (0, 2, "LOC")
    assert _typed_by_head((0, 2, "PER"), ["halvard", "ostrem"]) == (0, 2, "PER")
    assert _typed_by_head((0, 1, "PER"), ["corp"]) == (0, 1, "PER")


@pytest.mark.parametrize(
    ("text", "start", "compound"),
    [
        ("T-Mobile", 2, True),
        ("AT&T", 3, True),
        ("F-16", 2, True),
        ("US-China talks", 3, False),
        ("pro-Kremlin", 4, False),
    ],
)
def test_the_end_of_a_compound_name_is_no_name_of_its_own(text: str, start: int, compound: bool) -> None:
    assert _compound_end(text, start) is compound


def test_a_place_inside_a_compound_name_is_not_linked() -> None:
    names = _names("Customers of T-Mobile and AT&T in Mobile, Alabama, lost service on Monday.")
    assert "T-Mobile" not in names or names["T-Mobile"] is not EntityType.LOC
    places = link_entities("Customers of T-Mobile lost service.", language="en")
    assert [e for e in places if e.type is EntityType.LOC] == []


def test_a_surname_read_as_a_place_joins_the_person() -> None:
    text = (
        "The company's executive chair, Marcelo Quintavalle, wrote to staff on Monday.\n"
        "Job cuts will follow, Quintavalle said in the email."
    )
    people = [e for e in link_entities(text, language="en") if e.type is EntityType.PERSON]
    assert [sorted({m.text for m in e.mentions}) for e in people if "Quintavalle" in e.name] == [
        ["Marcelo Quintavalle", "Quintavalle"]
    ]


def test_a_line_break_ends_a_name() -> None:
    text = "Kestrel Robotics, Palo Alto, California\nSierra Nevada Corporation, Louisville, Colorado\n"
    mentions = _mentions(link_entities(text, language="en"))
    assert not any("\n" in mention for mention in mentions)


def test_tokens_keep_ampersand_names_whole() -> None:
    assert [token.norm for token in tokenize("pg&e and at&t")] == ["pg&e", "and", "at&t"]


def test_the_common_words_ship_and_rebuild_from_wordfreq() -> None:
    shipped = (DATA_DIR / COMMON_WORDS_FILE).read_text(encoding="utf-8").split()
    assert shipped == sorted(shipped) and len(shipped) > 15_000
    assert {"moreover", "benchmark", "the"} <= load_common_words()
    pytest.importorskip("wordfreq", reason="wordfreq is a training dependency (pip install -e '.[train]')")
    assert common_words() == shipped


def test_a_missing_word_list_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from newswire.enricher.entities import kb

    monkeypatch.setattr(kb, "DATA_DIR", tmp_path)
    kb.load_common_words.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="build_common_words"):
            kb.load_common_words()
    finally:
        kb.load_common_words.cache_clear()
