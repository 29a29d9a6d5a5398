"""The trained recogniser: names in no list, consistency across an article, new entities, its model files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import newswire
from newswire.enricher.entities import ArticleText, link_entities, load_linker
from newswire.enricher.entities import linker as linker_module
from newswire.enricher.entities.build_ner import dev_split, glue_clitics, person_titles, spans, without_titles
from newswire.enricher.entities.features import TOKEN_PATTERN, TOKEN_RE, split_proclitics
from newswire.enricher.entities.kb import load_entities, load_lexicon
from newswire.enricher.entities.linker import EntityLinker
from newswire.enricher.entities.ner import (
    MODEL_FILES,
    ModelMissing,
    NamedEntityRecogniser,
    _without_head,
    _without_preposition_tail,
    arabic_conjunction_parts,
    arabic_quoted_parts,
    capitalised_parts,
    model_paths,
    nationality_adjectives,
    single_script_parts,
)
from newswire.enricher.entities.normalize import is_arabic, normalize_text
from newswire.enricher.entities.romanize import romanize
from newswire.schemas.articles import Entity, EntityType

# Invented names, in sentences written for these tests: none is in the knowledge base or the training corpora.
ENGLISH = (
    "Halvard Ostrem, the chief executive of a shipping firm, told reporters on Monday that 300 jobs would go. "
    "Senator Marisol Quintanar-Vidal met officials of the Kestrel Valley Water Authority on Thursday. "
    "Ostrem said the decision was painful."
)
FRENCH = (
    "Le maire de Valbrune, Étienne Marchadier, a rencontré mardi les dirigeants de la région. "
    "Marchadier a annoncé un plan de relance."
)
ARABIC = (
    "قال وزير الخارجية الفنلندي يوهانس كورتيلاينن إن بلاده ستدعم المبادرة. "
    "وأضاف كورتيلاينن في مؤتمر صحفي في هلسنكي أن المحادثات ستستمر."
)


def _by_written(entities: list[Entity]) -> dict[str, Entity]:
    return {mention.text: entity for entity in entities for mention in entity.mentions}


def test_unseen_english_names_are_recognised_and_surnames_join() -> None:
    found = _by_written(link_entities(ENGLISH, language="en"))
    ostrem = found["Halvard Ostrem"]
    assert ostrem.name == "Halvard Ostrem" and ostrem.name_latin is None
    assert ostrem.type is EntityType.PERSON and ostrem.id == "nw:person:halvard-ostrem"
    assert [m.text for m in ostrem.mentions] == ["Halvard Ostrem", "Ostrem"]
    assert found["Marisol Quintanar-Vidal"].type is EntityType.PERSON
    assert found["Kestrel Valley Water Authority"].type is EntityType.ORG


def test_unseen_french_names_are_recognised() -> None:
    found = _by_written(link_entities(FRENCH, language="fr"))
    assert found["Étienne Marchadier"].type is EntityType.PERSON
    assert found["Marchadier"] is found["Étienne Marchadier"]
    assert found["Valbrune"].type is EntityType.LOC


def test_unseen_arabic_name_is_a_new_entity_with_a_romanised_name() -> None:
    entities = link_entities(ARABIC, language="ar")
    person = _by_written(entities)["يوهانس كورتيلاينن"]
    assert person.type is EntityType.PERSON and person.wikidata_id is None
    assert person.id == "nw:person:يوهانس-كورتيلاينن"
    assert person.name == person.name_local == "يوهانس كورتيلاينن"
    assert person.name_latin == romanize("يوهانس كورتيلاينن") == "Yuhans Kurtilaynn"
    assert [m.text for m in person.mentions] == ["يوهانس كورتيلاينن", "كورتيلاينن"]
    assert "Q1757" in {entity.id for entity in entities}  # Helsinki still comes from the knowledge base


def test_the_recogniser_finds_what_the_knowledge_base_alone_misses() -> None:
    kb_only = EntityLinker(load_entities(), load_lexicon(), recogniser=False)
    arabic = "وصل يوهانس كورتيلاينن إلى هلسنكي أمس، وقال كورتيلاينن إن المحادثات ستستمر."
    for text, language in ((ENGLISH, "en"), (FRENCH, "fr"), (arabic, "ar")):
        alone = {m.text for e in kb_only.link(text, language, None) for m in e.mentions}
        recognised = {m.text for e in link_entities(text, language=language) for m in e.mentions}
        assert alone < recognised, language


def test_a_name_recognised_once_is_recognised_everywhere() -> None:
    recogniser = load_linker().recogniser
    assert recogniser is not None
    # The second sentence alone gives the tagger little to go on; the first one names Dravik in full.
    text = "Investigators questioned Pavel Dravik in Lisbon on Friday.\nThe statement by Dravik was short."
    norm, offsets = normalize_text(text)
    found = recogniser.recognise(norm, text, offsets, load_linker().matcher.find(norm, text, offsets))
    names = {norm[name.start : name.end]: name.type for name in found}
    assert names["pavel dravik"] is EntityType.PERSON
    assert "dravik" in names


@pytest.mark.parametrize("group_chars", [1, 300, 12_000])
def test_articles_tagged_together_get_the_entities_they_get_alone(
    group_chars: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Articles are tagged together in groups of about `_GROUP_CHARS` characters; splitting the groups anywhere
    changes nothing."""
    monkeypatch.setattr(linker_module, "_GROUP_CHARS", group_chars)
    linker = load_linker()
    articles = [
        ArticleText(ENGLISH, "en", "Ostrem leaves"),
        ArticleText(ARABIC, "ar"),
        ArticleText("", "ar"),
        ArticleText(FRENCH, "fr"),
        ArticleText("Die Bundesregierung in Berlin tagte am Montag.", "de"),  # not read by the recogniser
        ArticleText(ARABIC + "\n" + ENGLISH, None),
        ArticleText("...", "en"),
    ]
    alone = [linker.link(*article) for article in articles]
    assert sum(len(entities) for entities in alone) > 10
    assert linker.link_many(articles) == alone


def test_a_full_spelling_cache_forgets_the_least_recently_used_and_changes_no_name() -> None:
    alone = [load_linker().link(ARABIC, "ar", None), load_linker().link(ENGLISH, "en", None)]
    small = EntityLinker(load_entities(), load_lexicon())
    recogniser = small.recogniser
    assert recogniser is not None
    recogniser.cache_sizes = dict.fromkeys(recogniser.cache_sizes, 8)
    assert [small.link(ARABIC, "ar", None), small.link(ENGLISH, "en", None)] == alone
    assert all(len(cache) <= 8 for cache in recogniser.cached.values())
    cache = recogniser.cached["ar"]
    cache.clear()
    recogniser._spellings("ar", ["قال", "وزير", "الخارجية"])
    recogniser._spellings("ar", ["قال"])  # used again: now the most recent
    recogniser._spellings("ar", ["إن", "بلاده", "ستدعم", "المبادرة", "في", "مؤتمر"])
    assert "قال" in cache and "وزير" not in cache
    assert list(cache)[-6:] == ["إن", "بلاده", "ستدعم", "المبادرة", "في", "مؤتمر"]


def test_arabic_name_with_proclitics_is_the_same_name() -> None:
    text = "التقى يوهانس كورتيلاينن وفدا من الحكومة. وقال مسؤولون إن لكورتيلاينن رأيا آخر."
    person = _by_written(link_entities(text, language="ar"))["يوهانس كورتيلاينن"]
    assert [m.text for m in person.mentions] == ["يوهانس كورتيلاينن", "كورتيلاينن"]


def test_models_ship_in_the_package_and_load_without_the_workbench(tmp_path: Path) -> None:
    package = Path(newswire.__file__).resolve().parent
    paths = model_paths()
    assert set(paths) == set(MODEL_FILES)
    total = 0
    for path in (path for script in paths.values() for path in script):
        assert path.resolve().is_relative_to(package) and path.is_file()
        total += path.stat().st_size
    assert total <= 40 * 2**20
    # A fresh interpreter in an empty directory: nothing but the installed package is at hand.
    script = (
        "from newswire.enricher.entities import link_entities as link;"
        "print(sorted(e.type.value for e in link('Halvard Ostrem met Marisol Quintanar-Vidal.', language='en')))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "['PERSON', 'PERSON']"


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    linker = load_linker()
    assert linker.recogniser is not None
    with pytest.raises(ModelMissing, match=r"ner-ar\.npz is missing.*build_ner"):
        NamedEntityRecogniser(linker.recogniser.features, model_paths(tmp_path))


@pytest.mark.parametrize(
    ("name", "romanised"),
    [("بيسكوف", "Biskuf"), ("عبد الله", "Abd Allah"), ("الرياض", "al-Riyad"), ("علي", "Ali"), ("Peskov", "Peskov")],
)
def test_romanize(name: str, romanised: str) -> None:
    assert romanize(name) == romanised


def test_tokens_follow_the_training_corpora() -> None:
    norm = normalize_text("The U.S. envoy's visit, l'accord de Genève — والصين. Sen. Mark Duvall of Acme Corp.")[0]
    assert TOKEN_RE.findall(norm) == [
        "the", "u.s.", "envoy", "'s", "visit", ",", "l'", "accord", "de", "geneve", "-", "والصين", ".",
        "sen.", "mark", "duvall", "of", "acme", "corp.",
    ]  # fmt: skip
    assert split_proclitics("والصين") == ("وال", "صين")
    assert split_proclitics("بوتين") == ("ب", "وتين")  # the tagger also sees the whole word
    assert split_proclitics("لي") == ("", "لي")


def test_consecutive_arabic_words_have_two_word_features() -> None:
    features = load_linker().recogniser.features  # type: ignore[union-attr]
    words = ["قال", "وزير", "الخارجية", "Halvard", "Ostrem"]
    items = features.sequence(words, [""] * len(words))
    # "الخارجية" after "وزير" (whose stem, read as و + زير, is "زير"): stems together, no article then the
    # article, the first word a cue.
    assert {"2s=زير|خارجيه", "2a=01"} <= set(items[2])
    assert any(feature.startswith("2m=cue|") for feature in items[2])
    assert not any(feature.startswith("2") for feature in items[0])  # the first word has no word before it
    assert not any(feature.startswith("2") for item in items[3:] for feature in item)  # Latin script: none
    assert load_linker().recogniser.models["ar"].crf.has_pairs  # type: ignore[union-attr]


def test_build_helpers() -> None:
    assert glue_clitics([("و", "O"), ("مدينة", "O"), ("جوبا", "B-LOC"), ("عاصمة", "O"), ("ها", "O")]) == [
        ("ومدينة", "O"),
        ("جوبا", "B-LOC"),
        ("عاصمةها", "O"),
    ]
    assert spans(["B-PER", "I-PER", "O", "B-MISC", "I-LOC", "B-ORG"]) == {(0, 2, "PER"), (4, 5, "LOC"), (5, 6, "ORG")}
    split = dev_split("x", [[("a", "O")]] * 1000)
    assert len(split.dev) == 100 and len(split.train) == 900
    news = [[("الملك", "O"), ("فهد", "B-PER"), ("من", "O"), ("سالم", "B-PER")]] * 3
    news.append([("الأمير", "B-PER"), ("نايف", "I-PER")])  # inside a name once in the news: no title
    news.append([("الأمير", "O"), ("نايف", "B-PER")])
    titles = person_titles(news)
    assert titles == {"الملك"}  # "من" is too short to be a title, "الامير" was inside a name
    wikipedia = [("زار", "O"), ("الملك", "B-PER"), ("حسين", "I-PER"), ("الأمير", "B-PER"), ("نايف", "I-PER")]
    assert without_titles(wikipedia, titles) == [
        ("زار", "O"),
        ("الملك", "O"),
        ("حسين", "B-PER"),
        ("الأمير", "B-PER"),
        ("نايف", "I-PER"),
    ]


def test_arabic_names_hold_no_quotation_marks() -> None:
    words = ["صحيفه", '"', "المستقبل", '"', "قالت", "«", "الحياة", "»", "و", '"', "the", '"', "sun"]
    runs = [(0, 4, "ORG"), (5, 8, "ORG"), (9, 13, "ORG")]
    # The part after the last mark stays, a closing mark goes; a Latin-script run is not touched.
    assert arabic_quoted_parts(runs, words) == [(2, 3, "ORG"), (6, 7, "ORG"), (9, 13, "ORG")]


def test_names_do_not_mix_scripts() -> None:
    words = ["الصين", "de", "والصين", "2024", "paris", "بكين"]
    assert single_script_parts([(0, 3, "ORG"), (3, 6, "LOC")], words) == [
        (0, 1, "ORG"),
        (1, 2, "ORG"),
        (2, 3, "ORG"),
        (3, 5, "LOC"),
        (5, 6, "LOC"),
    ]
    found = link_entities("the والصين De والصين", language=None)
    assert all(is_arabic(m.text) != any(c.isascii() and c.isalpha() for c in m.text) for e in found for m in e.mentions)


def test_english_names_are_cut_at_lower_case_words_but_connectors() -> None:
    surfaces = ["The", "Afghan", "government", "said", "Israeli", "troops", "met", "Bank", "of", "England", "of"]
    words = [surface.lower() for surface in surfaces]
    runs = [(1, 5, "ORG"), (7, 11, "ORG")]
    assert capitalised_parts(runs, words, surfaces) == [(1, 2, "ORG"), (4, 5, "ORG"), (7, 10, "ORG")]
    # A capitalised connector alone ("The", "De") is no name.
    assert capitalised_parts([(0, 1, "ORG"), (0, 3, "PER")], words, surfaces) == [(0, 2, "PER")]


def test_languages_without_a_model_get_the_knowledge_base_only() -> None:
    # German capitalises every noun: a model trained on English and French would read them all as names.
    text = "Die Kunden sehen in Berlin, wie Unternehmen ihre Plattform mit Herrn Jörg Maderbacher planen."
    recognised = {m.text for e in link_entities(text, language="de") for m in e.mentions}
    kb_only = EntityLinker(load_entities(), load_lexicon(), recogniser=False)
    assert recognised == {m.text for e in kb_only.link(text, "de", None) for m in e.mentions}
    assert "Berlin" in recognised and "Kunden" not in recognised


_PIECES = st.sampled_from(
    ["The", "the", "De", "of", "Sen.", "Corp.", "U.S.", "Halvard", "Ostrem", "said", ".", ",", "\n", " ", "'s",
     "l'", "والصين", "وقال", "يوهانس", "كورتيلاينن", "للصين", "«", "2024", "—", "é", "\u064e", "ـ"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40), st.sampled_from([None, "en", "fr", "ar", "de"]))
@example(["يوهانس", "U.S.", "U.S.", "والصين", "والصين"], None)  # two mentions of one entity inside a recognised name
@example(["the", "والصين", "De", "والصين"], None)
def test_any_text_gives_mentions_that_are_slices_of_it(pieces: list[str], language: str | None) -> None:
    body = " ".join(pieces)
    for entity in link_entities(body, language=language):
        for mention in entity.mentions:
            assert body[mention.start : mention.end] == mention.text and mention.text.strip()


def test_a_line_in_capitals_is_left_to_the_knowledge_base_and_names_found_elsewhere() -> None:
    text = (
        "FERRY OPERATOR HALTS SAILINGS AFTER STORM IN NORWAY .\n"
        "Halvard Ostrem said on Monday that the sailings would resume. Norway closed two ports.\n"
        "OSTREM EXPECTS NO LOSSES"
    )
    found = {m.text: e for e in link_entities(text, language="en") for m in e.mentions}
    assert "FERRY OPERATOR HALTS SAILINGS" not in found and "STORM" not in found
    assert found["NORWAY"].id == found["Norway"].id  # the knowledge base reads capitals
    assert found["OSTREM"] is found["Halvard Ostrem"]  # and so does a name recognised in the body


def test_arabic_place_names_leave_out_the_word_for_city_or_street() -> None:
    words = ["مدينه", "كورتيلا", "في", "شارع", "هالفارد", "المدينه", "المنوره", "بحر", "قزوين"]
    runs = [(0, 2, "LOC"), (3, 5, "LOC"), (5, 7, "LOC"), (7, 9, "LOC"), (3, 5, "ORG")]
    assert [_without_head(run, words) for run in runs] == [
        (1, 2, "LOC"),
        (4, 5, "LOC"),
        (5, 7, "LOC"),  # with the article it is the name itself (Medina)
        (7, 9, "LOC"),  # seas keep their word
        (3, 5, "ORG"),
    ]


def test_nationality_adjectives_come_from_the_knowledge_base_countries() -> None:
    adjectives = nationality_adjectives(load_entities())
    assert {"اللبناني", "الفرنسيه", "المصري", "روسي", "الامريكي"} <= adjectives
    assert "حزب" not in adjectives and "الله" not in adjectives
    assert "السعوديه" not in adjectives and "سوريه" not in adjectives  # places, though they look like adjectives
    # An organisation the recogniser reads with the adjective after it is named without it.
    text = "وقالت شركة كورتيلا الفرنسية إن المحادثات ستستمر."
    names = [m.text for e in link_entities(text, language="ar") if e.type is EntityType.ORG for m in e.mentions]
    assert not any(name.endswith("الفرنسية") for name in names)


def test_a_cue_find_the_recogniser_knows_to_be_no_name_is_dropped() -> None:
    linker = load_linker()
    assert linker.recogniser is not None
    assert linker.recogniser.knows("اتصالا") and linker.recogniser.knows("the")
    assert not linker.recogniser.knows("كورتيلاينن")
    found = {m.text for e in link_entities("وأجرى الرئيس اتصالا هاتفيا مع نظيره.", language="ar") for m in e.mentions}
    assert "اتصالا هاتفيا" not in found


def test_arabic_names_are_cut_at_a_conjunction_written_apart() -> None:
    words = ["ابو", "الحسن", "و", "حيدر", "و"]
    assert arabic_conjunction_parts([(0, 4, "PER"), (4, 5, "PER")], words) == [(0, 2, "PER"), (3, 4, "PER")]


def test_a_little_known_place_named_with_an_everyday_word_needs_the_recogniser() -> None:
    # "سن" (age) is also a town in the knowledge base; "موسكو" is famous enough on its own.
    text = "وقال إن الطفل بدأ العمل في سن مبكرة، ثم سافر إلى موسكو."
    kb_only = EntityLinker(load_entities(), load_lexicon(), recogniser=False)
    assert "سن" in {m.text for e in kb_only.link(text, "ar", None) for m in e.mentions}
    found = {m.text for e in link_entities(text, language="ar") for m in e.mentions}
    assert "سن" not in found and "موسكو" in found


def test_an_arabic_person_name_takes_in_the_given_name_before_it() -> None:
    recogniser = load_linker().recogniser
    assert recogniser is not None
    words = ["قال", "علي", "كورتيلاينن", "و", "محمد", "هالفارد"]
    runs = [(2, 3, "PER"), (5, 6, "LOC")]
    assert recogniser._with_first_name(runs, words) == [(1, 3, "PER"), (5, 6, "LOC")]
    assert recogniser._with_first_name([(1, 3, "PER"), (3, 4, "PER")], words) == [(1, 3, "PER"), (3, 4, "PER")]


def test_an_arabic_person_name_ends_before_a_preposition_with_the_article() -> None:
    words = ["عايشه", "بنت", "ابي", "بكر", "بالقصاص", "للحكومه"]
    assert _without_preposition_tail([(0, 5, "PER"), (4, 6, "ORG")], words) == [(0, 4, "PER"), (4, 6, "ORG")]


def test_a_nationality_adjective_alone_is_no_name() -> None:
    recogniser = load_linker().recogniser
    assert recogniser is not None
    words = ["قال", "السويسري", "ان", "كورتيلا", "السويسري"]
    assert not recogniser._not_nationality((1, 2, "PER"), words)
    assert recogniser._not_nationality((3, 5, "PER"), words) and recogniser._not_nationality((3, 4, "ORG"), words)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="بكتاسمحلوىةأ" + "abcsmlq" + "019٣" + ".-&' \nـًّ،", max_size=60))
@example("أ.ب. وم.ع الم-تحدة s.a. l'ONU's قال: 'نعم' ع&ب")
def test_the_arabic_shortcut_cuts_the_tokens_the_pattern_cuts(text: str) -> None:
    general = re.compile(TOKEN_PATTERN)
    assert [m.span() for m in TOKEN_RE.finditer(text)] == [m.span() for m in general.finditer(text)]
