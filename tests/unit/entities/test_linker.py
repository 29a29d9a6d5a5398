"""Entity linking: the gold sample, Arabic clitics and normalisation, name collisions, cues, Latin scripts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.enricher.entities import link_entities, load_linker, normalize
from newswire.enricher.entities.cues import tokenize
from newswire.enricher.entities.normalize import alias_key, normalize_text
from newswire.enricher.entities.romanize import romanize
from newswire.schemas.articles import Entity, EntityType
from tests.support import SAMPLE_GOLD as GOLD_PATH


@pytest.fixture(scope="module")
def gold() -> dict[str, Any]:
    return json.loads(GOLD_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sample_entities(gold: dict[str, Any]) -> tuple[str, list[Entity]]:
    body = "\n\n".join(gold["cleaned"]["body_paragraphs_in_order"])
    return body, link_entities(body, language="ar", title=gold["cleaned"]["title"])


def _names(entity: Entity) -> set[str]:
    return {alias_key(entity.name), *(alias_key(m.text) for m in entity.mentions)}


def _find(entities: list[Entity], gold_item: dict[str, Any]) -> Entity | None:
    wanted = {alias_key(name) for name in gold_item["names"]}
    for entity in entities:
        if (gold_item.get("qid") and entity.wikidata_id == gold_item["qid"]) or _names(entity) & wanted:
            return entity
    return None


def _by_id(body: str, language: str | None = "ar", title: str | None = None) -> dict[str, Entity]:
    return {entity.id: entity for entity in link_entities(body, language=language, title=title)}


def test_sample_must_entities_have_type_and_id(gold: dict[str, Any], sample_entities: tuple[str, list[Entity]]) -> None:
    _, entities = sample_entities
    for item in gold["enriched"]["entities"]["must"]:
        entity = _find(entities, item)
        assert entity is not None, item["names"][0]
        assert entity.type.value == item["type"], item["names"][0]
        if item.get("qid"):
            assert entity.id == item["qid"] == entity.wikidata_id


def test_sample_must_not_entities_are_absent(gold: dict[str, Any], sample_entities: tuple[str, list[Entity]]) -> None:
    _, entities = sample_entities
    for item in gold["enriched"]["entities"]["must_not"]:
        banned = {alias_key(name) for name in item["names"]}
        assert not [e.name for e in entities if alias_key(e.name) in banned]


def test_sample_mentions_are_offsets_into_the_body(sample_entities: tuple[str, list[Entity]]) -> None:
    body, entities = sample_entities
    assert entities
    for entity in entities:
        assert entity.mentions
        for mention in entity.mentions:
            assert body[mention.start : mention.end] == mention.text


def test_sample_salience_orders_entities(sample_entities: tuple[str, list[Entity]]) -> None:
    _, entities = sample_entities
    saliences = [entity.salience for entity in entities]
    assert saliences == sorted(saliences, reverse=True)
    assert saliences[0] == 1.0 and all(0.0 <= s <= 1.0 for s in saliences)
    assert {"Q148", "Q159"} & {entities[0].id, entities[1].id}


def test_sample_surnames_attach_to_the_full_name(sample_entities: tuple[str, list[Entity]]) -> None:
    _, entities = sample_entities
    putin = next(e for e in entities if e.id == "Q7747")
    assert [m.text for m in putin.mentions] == ["فلاديمير بوتين", "بوتين", "بوتين", "بوتين"]
    xi = next(e for e in entities if e.id == "Q15031")
    assert "بينغ" in [m.text for m in xi.mentions]  # بين الرئيسين بوتين وبينغ
    kroenig = next(e for e in entities if "كرونيغ" in e.name)
    assert kroenig.type is EntityType.PERSON and kroenig.id.startswith("nw:person:")
    assert [m.text for m in kroenig.mentions] == ["ماثيو كرونيغ", "كرونيغ"]


def test_sample_local_names_and_countries(sample_entities: tuple[str, list[Entity]]) -> None:
    _, entities = sample_entities
    by_id = {entity.id: entity for entity in entities}
    assert by_id["Q649"].name == "Moscow" and by_id["Q649"].name_local == "موسكو" and by_id["Q649"].country == "RU"
    assert by_id["Q61"].name == "Washington, D.C." and by_id["Q61"].country == "US"
    assert by_id["Q7747"].country is None


@pytest.mark.parametrize(
    ("text", "entity_id", "mention"),
    [
        ("وصل الوفد إلى موسكو وبكين أمس", "Q956", "بكين"),
        ("صادرات النفط للصين ارتفعت", "Q148", "صين"),
        ("وللصين موقف آخر", "Q148", "صين"),
        ("والصين ترفض ذلك", "Q148", "الصين"),
        ("بالولايات المتحدة الأمريكية", "Q30", "الولايات المتحدة الأمريكية"),
        ("وفي أوكرانيا تستمر الحرب", "Q212", "أوكرانيا"),
        ("قال فبوتين", "Q7747", "بوتين"),
        ("وكالناتو", "Q7184", "الناتو"),
    ],
)
def test_arabic_proclitics(text: str, entity_id: str, mention: str) -> None:
    entity = _by_id(text)[entity_id]
    assert [m.text for m in entity.mentions] == [mention]
    assert text[entity.mentions[0].start : entity.mentions[0].end] == mention


@pytest.mark.parametrize("text", ["الصينية", "بالروسي", "موسكوفي", "كبكين"])
def test_arabic_word_must_end_where_the_name_ends_or_start_with_a_clitic(text: str) -> None:
    assert not {"Q148", "Q159", "Q649"} & set(_by_id(text))
    assert "Q956" not in _by_id("البكين")


def test_arabic_normalisation_of_hamza_ta_marbuta_diacritics_and_tatweel() -> None:
    text = "زار اوكرانيا ثم أُوكْرَانِيَا وبعدها القاهرة والقاهره ثم مـوسـكـو"
    entities = _by_id(text)
    assert len(entities["Q212"].mentions) == 2
    assert [m.text for m in entities["Q649"].mentions] == ["مـوسـكـو"]
    for entity in entities.values():
        for mention in entity.mentions:
            assert text[mention.start : mention.end] == mention.text
    cairo = next(e for e in entities.values() if e.name == "Cairo")
    assert len(cairo.mentions) == 2


def test_normalize_text_maps_offsets_when_marks_are_dropped() -> None:
    norm, offsets = normalize_text("أَحمد")
    assert norm == "احمد" and offsets == [0, 2, 3, 4]
    assert normalize_text("Köln İstanbul")[0] == "koln istanbul"
    assert alias_key("الإمارات  العربيّة") == "الامارات العربيه"


@given(st.text(alphabet="احمدبكتة" + "\u064e\u0650\u0651\u0640\u200f" + "Ab .", max_size=40))
def test_offsets_are_those_of_the_kept_characters(text: str) -> None:
    norm, offsets = normalize_text(text)
    lowered = text.translate(normalize._TABLE).lower()
    if offsets is None:
        assert norm == lowered
    else:
        assert offsets == [i for i, ch in enumerate(lowered) if ch not in normalize._REMOVED]
        assert norm == "".join(lowered[i] for i in offsets)


def test_every_character_folds_as_the_fold_table_says() -> None:
    # Every character of the Basic Multilingual Plane but surrogates, each alone and all in one text.
    text = "".join(chr(code) for code in range(0x10000) if not 0xD800 <= code < 0xE000)
    expected = text.translate(normalize._TABLE)
    assert normalize._FOLD_RE.sub(normalize._folded, text) == expected
    assert all(normalize._FOLD_RE.sub(normalize._folded, char) == char.translate(normalize._TABLE) for char in text)


@pytest.mark.parametrize(
    "text",
    [
        "كان الاجتماع هاما وهام جدا",
        "وجرى اللقاء يوم الخميس",
        "للخبر بقية",
        "أعلنت الحكومة الخبر",
        "الوضع المالي صعب ومالي",
    ],
)
def test_common_words_do_not_link_to_places(text: str) -> None:
    names = {entity.name for entity in link_entities(text, language="ar")}
    assert not names & {"Cannes", "Hamm", "Khemis Miliana", "Khobar", "Mali", "Keene"}


def test_first_name_is_not_a_city_when_a_surname_follows() -> None:
    text = "قال الباحث فلاديمير سيرغيينكو إن العلاقات جيدة"
    entities = link_entities(text, language="ar")
    assert "Vladimir" not in {e.name for e in entities}
    person = next(e for e in entities if e.type is EntityType.PERSON)
    assert person.name == "فلاديمير سيرغيينكو" and person.name_latin == romanize("فلاديمير سيرغيينكو")
    assert "Vladimir" in {e.name for e in link_entities("وصل إلى مدينة فلاديمير الروسية", language="ar")}


def test_washington_is_the_capital_not_the_state_or_small_towns() -> None:
    for text, language in (("قال مسؤولون في واشنطن", "ar"), ("Officials in Washington said", "en")):
        assert "Q61" in _by_id(text, language)


def test_unknown_people_from_arabic_cues_and_their_surnames() -> None:
    text = (
        "وقال المتحدث باسم الخارجية اليابانية كينجي ياماموتو إن الزيارة مهمة.\n\n"
        "وأضاف ياماموتو أن بلاده ترحب بالحوار، فيما رأى الدبلوماسي السابق جان لوك مارتان أن الأمر صعب."
    )
    entities = link_entities(text, language="ar")
    people = {e.name: e for e in entities if e.type is EntityType.PERSON}
    assert set(people) == {"كينجي ياماموتو", "جان لوك مارتان"}
    assert [m.text for m in people["كينجي ياماموتو"].mentions] == ["كينجي ياماموتو", "ياماموتو"]
    assert people["كينجي ياماموتو"].id == "nw:person:كينجي-ياماموتو"


def test_unknown_people_from_english_and_french_cues() -> None:
    english = "Analyst Priya Raman said the deal was fragile. Raman added that Mr Tobias Lindqvist disagreed."
    people = {e.name: e for e in link_entities(english, language="en") if e.type is EntityType.PERSON}
    assert set(people) == {"Priya Raman", "Tobias Lindqvist"}
    assert [m.text for m in people["Priya Raman"].mentions] == ["Priya Raman", "Raman"]
    french = "Selon le porte-parole Jean-Baptiste Moreau, la France soutient Kiev. Moreau a ajouté que Poutine ment."
    entities = {e.name: e for e in link_entities(french, language="fr")}
    assert entities["Jean-Baptiste Moreau"].type is EntityType.PERSON
    assert len(entities["Jean-Baptiste Moreau"].mentions) == 2
    assert entities["Vladimir Putin"].name_local == "Vladimir Putin" or entities["Vladimir Putin"].mentions
    assert entities["Kyiv"].country == "UA" and entities["France"].name_local == "France"


def test_english_case_and_word_boundaries() -> None:
    entities = _by_id("The US and the U.S. Senate told us that Nato and NATO met. Chinatown is not China.", "en")
    assert [m.text for m in entities["Q30"].mentions] == ["US"]
    assert [m.text for m in entities["Q7184"].mentions] == ["Nato", "NATO"]
    assert [m.text for m in entities["Q148"].mentions] == ["China"]
    assert "nw:org:us-senate" in entities
    assert not _by_id("let us go, we said", "en")


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Wladimir Putin traf in Moskau den chinesischen Präsidenten Xi Jinping.", "de", {"Q7747", "Q649", "Q15031"}),
        ("Poutine a reçu à Moscou le président chinois.", "fr", {"Q7747", "Q649"}),
        ("El presidente Putin viajó a Pekín y luego a Estados Unidos.", "es", {"Q7747", "Q956", "Q30"}),
        ("Владимир Путин провёл переговоры в Москве с Си Цзиньпином.", "ru", {"Q7747", "Q649", "Q15031"}),
        ("Vladimir Putin met Xi Jinping in Beijing.", "en", {"Q7747", "Q15031", "Q956"}),
    ],
)
def test_latin_and_cyrillic_scripts(text: str, language: str, expected: set[str]) -> None:
    entities = _by_id(text, language)
    assert expected <= set(entities)
    for entity in entities.values():
        for mention in entity.mentions:
            assert text[mention.start : mention.end] == mention.text


def test_name_local_follows_the_article_language() -> None:
    assert _by_id("Putin in Moskau", "de")["Q649"].name_local == "Moskau"
    assert _by_id("بوتين في موسكو", "ar")["Q7747"].name_local == "فلاديمير بوتين"
    assert _by_id("Putin en Moscú", "es")["Q7747"].name_local == "Putin"


def test_title_mentions_raise_salience() -> None:
    body = "Talks in Moscow. Officials from Beijing attended."
    plain = _by_id(body, "en")
    titled = _by_id(body, "en", title="Beijing hosts talks")
    assert plain["Q649"].salience >= plain["Q956"].salience
    assert titled["Q956"].salience == 1.0 and titled["Q649"].salience < 1.0


def test_linker_is_loaded_once_and_empty_text_is_fine() -> None:
    assert load_linker() is load_linker()
    assert link_entities("", language=None) == []
    assert link_entities("   \n\n ", language="ar") == []


@settings(deadline=None)  # the first example loads the linker
@given(st.text(alphabet="abcdehmnorst qu'-.,\nقال وزير" + "0123", max_size=80))
def test_text_without_capitals_gives_the_latin_cue_finder_nothing(text: str) -> None:
    # CueFinder.find skips the Latin-script finder when no character is a capital; this is why that is exact.
    finder = load_linker().cues
    norm, offsets = normalize_text(text)
    assert offsets is None
    tokens = tokenize(norm)
    assert finder._latin(norm, text, tokens, [False] * len(tokens)) == []


def test_the_latin_cue_finder_reads_capitalised_names() -> None:
    # The counterpart of the test above: with capitals it finds names ("Senator" is a role cue).
    finder = load_linker().cues
    text = "reporters met Senator Marisol Quintanar in the capital on monday"
    tokens = tokenize(normalize_text(text)[0])
    found = finder.find(normalize_text(text)[0], text, tokens, [False] * len(tokens), [False] * len(tokens))
    assert [text[f.start : f.end] for f in found] == ["Marisol Quintanar"]
