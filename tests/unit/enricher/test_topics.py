"""IPTC topics: the trained classifier, the gold sample, multilingual texts, lexicon rules, Arabic clitics."""

from __future__ import annotations

import hashlib
import json
import random
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from newswire.enricher import topic_model
from newswire.enricher.topic_model import MODEL_FILE, TrainedTopicClassifier, arabic_stem, text_terms
from newswire.enricher.topics import TopicModel, classify_topics, normalise, warm_up
from newswire.schemas.articles import Entity, EntityType
from tests.unit.enricher.conftest import make_article

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "topics"
# The lexicon rules alone: what decides for languages the classifier was not trained on.
LEXICONS = TopicModel(use_trained=False)

POLITICS, ECONOMY, SPORT, CONFLICT = "medtop:11000000", "medtop:04000000", "medtop:15000000", "medtop:16000000"
CRIME, ARTS, WEATHER = "medtop:02000000", "medtop:01000000", "medtop:17000000"


def top_level(topics: list[Any]) -> set[str]:
    return {topic.qcode for topic in topics if topic.level == 1}


def test_gold_sample_topics(gold: dict[str, Any], gold_body: str) -> None:
    topics = classify_topics(make_article(gold_body, gold["cleaned"]["title"]), language="ar", entities=[])
    found = {topic.qcode for topic in topics}
    assert set(gold["enriched"]["topics"]["must"]) <= found
    assert not found & set(gold["enriched"]["topics"]["must_not"])
    labels = {topic.qcode: topic.label_local for topic in topics}
    assert labels[POLITICS] == "سياسة"
    assert labels[ECONOMY] == "اقتصاد، اعمال ومال"
    for topic in topics:
        assert 0.0 <= topic.score <= 1.0 and topic.cues
        if topic.level > 1:
            assert topic.parent is not None


def test_incidental_olympics_mention_does_not_make_sport() -> None:
    body = (
        "وقّع الرئيس الروسي الذي يحضر افتتاح دورة الألعاب الأولمبية الشتوية اتفاقاً لتوريد الغاز إلى الصين "
        "بقيمة مليار دولار، فيما بحث وزير الخارجية مع نظيره الصيني العلاقات الثنائية والعقوبات الغربية.\n\n"
        "وقال الكرملين إن الاتفاق يعزز صادرات النفط والغاز ويخفف أثر العقوبات على الاقتصاد الروسي."
    )
    found = top_level(classify_topics(make_article(body), language="ar", entities=[]))
    assert SPORT not in found
    assert {POLITICS, ECONOMY} & found


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("فاز نادي الأهلي على الزمالك بهدفين مقابل هدف في نهائي كأس مصر لكرة القدم.", "ar", SPORT),
        ("رفع البنك المركزي سعر الفائدة لكبح التضخم وتراجع الجنيه أمام الدولار.", "ar", ECONOMY),
        ("Le Premier ministre a présenté son gouvernement à l'Assemblée nationale.", "fr", POLITICS),
        ("De violents combats ont opposé l'armée aux rebelles, faisant des dizaines de morts.", "fr", CONFLICT),
        ("El Real Madrid venció al Barcelona por dos goles a uno en el clásico.", "es", SPORT),
        ("Die Aktien des Autobauers fielen an der Börse, nachdem er seine Gewinnprognose senkte.", "de", ECONOMY),
        ("Государственная дума приняла законопроект о выборах; оппозиция голосовала против.", "ru", POLITICS),
        ("The central bank raised interest rates as inflation climbed and the currency fell.", "en", ECONOMY),
    ],
)
def test_multilingual_leading_topic(text: str, language: str, expected: str) -> None:
    topics = classify_topics(make_article(text), language=language, entities=[])
    assert topics and topics[0].qcode == expected


def test_title_outweighs_a_body_mention() -> None:
    title = "Football: United beat City 3-1 in the cup final"
    article = make_article("The minister attended the match on Sunday.", title)
    assert classify_topics(article, language="en", entities=[])[0].qcode == SPORT


def test_entities_add_evidence_to_the_lexicon_rules() -> None:
    bank = Entity(id="Q1", type=EntityType.ORG, name="Central Bank of Egypt", salience=0.9)
    army = Entity(id="Q2", type=EntityType.ORG, name="Egyptian Army", salience=0.9)
    article = make_article("أصدر بيانا اليوم.")
    assert LEXICONS.classify(article, language="ar", entities=[bank])[0].qcode == ECONOMY
    assert LEXICONS.classify(article, language="ar", entities=[army])[0].qcode == CONFLICT
    countries = [
        Entity(id=f"L{i}", type=EntityType.LOC, name=name, salience=0.5, country=code)
        for i, (name, code) in enumerate([("Russia", "RU"), ("China", "CN"), ("United States", "US")])
    ]
    leader = Entity(id="P1", type=EntityType.PERSON, name="Someone", salience=0.8)
    assert LEXICONS.classify(article, language="ar", entities=[*countries, leader])[0].qcode == POLITICS


def test_arabic_proclitics_and_normalisation_match_cues() -> None:
    for text in ("وبالانتخابات", "للانتخابات", "فالانتخابات"):
        topics = classify_topics(make_article(f"تحدث عن {text} المقبلة"), language="ar", entities=[])
        assert topics and topics[0].qcode == POLITICS, text
    assert normalise("إِنْتِخَابَاتـــ") == normalise("انتخابات")
    assert normalise("مدرسة") == normalise("مدرسه")
    assert normalise("Élection") == "election"


@pytest.mark.parametrize(("text", "language"), [("xyz qwv", "en"), ("hello", "en"), ("مرحبا", "ar")])
def test_no_signal_gives_no_topic(text: str, language: str) -> None:
    assert classify_topics(make_article(text), language=language, entities=[]) == []


def test_unknown_language_uses_every_lexicon() -> None:
    article = make_article("Le tribunal a condamné l'ancien maire pour corruption.")
    topics = classify_topics(article, language=None, entities=[])
    assert topics[0].qcode == "medtop:02000000"


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("O governo enviou ao Congresso a reforma da Previdência; a oposição promete votar contra.", "pt", POLITICS),
        ("O Banco Central elevou os juros para conter a inflação, e o dólar caiu na bolsa.", "pt", ECONOMY),
        ("La Juventus ha battuto il Milan per due gol a uno nella partita di campionato.", "it", SPORT),
        ("Il governo ha presentato in Parlamento la riforma; l'opposizione vota contro.", "it", POLITICS),
        ("Timnas Indonesia menang atas Malaysia dalam pertandingan sepak bola di stadion.", "id", SPORT),
        ("Timnas Indonesia menang atas Malaysia dalam pertandingan sepak bola di stadion.", "ms", SPORT),
        ("警察は、詐欺の疑いで男を逮捕したと発表した。", "ja", CRIME),
        ("대통령은 국회에서 선거 제도 개혁을 촉구했다.", "ko", POLITICS),
    ],
)
def test_more_languages_leading_topic(text: str, language: str, expected: str) -> None:
    topics = classify_topics(make_article(text), language=language, entities=[])
    assert topics and topics[0].qcode == expected


def test_word_starts_are_not_cues() -> None:
    # "investigating" is not investment, "pollution" not a poll, "important" not imports, "windows" not wind.
    text = (
        "Officials are investigating the important rise in air pollution, and residents were told to keep "
        "their windows shut while the investigation continues."
    )
    found = top_level(classify_topics(make_article(text), language="en", entities=[]))
    assert ECONOMY not in found and POLITICS not in found and WEATHER not in found


def test_cue_inside_a_longer_cue_of_another_topic_does_not_count() -> None:
    article = make_article("Star Wars fans lined up for the film's premiere; the director thanked the actors.")
    assert top_level(classify_topics(article, language="en", entities=[])) == {ARTS}


def test_second_topic_needs_evidence_in_the_lead() -> None:
    lead = "The singer released her new album on Friday, with a film of the recording sessions and a concert tour. "
    aside = "Her label's revenue, profit, shares and investors came up; the company is on the stock market. "
    body = lead + "\n\n" + "She talked about the songs and the musicians. " * 12 + aside * 8
    found = top_level(LEXICONS.classify(make_article(body), language="en", entities=[]))
    assert found == {ARTS}


def _unseen() -> list[dict[str, str]]:
    return json.loads((FIXTURES / "unseen_articles.json").read_text(encoding="utf-8"))["articles"]  # type: ignore[no-any-return]


def test_trained_model_loads_from_package_data() -> None:
    data = resources.files("newswire.enricher") / "data"
    model = TrainedTopicClassifier.load()
    assert model.topics == sorted(q for q, c in LEXICONS.concepts.items() if c.level == 1)
    assert {"ar", "en"} <= set(model.thresholds)
    committed = (data / MODEL_FILE).read_bytes()
    assert len(committed) <= 30_000_000
    card = json.loads((data / "topic_model.card.json").read_text(encoding="utf-8"))
    assert hashlib.sha256(committed).hexdigest() == card["sha256"]
    assert card["thresholds"] == model.thresholds


@pytest.mark.parametrize("article", _unseen(), ids=lambda a: f"{a['language']}-{a['topic'][7:9]}")
def test_unseen_articles_get_their_section_first(article: dict[str, str]) -> None:
    topics = classify_topics(make_article(article["body"], article["title"]), language=article["language"], entities=[])
    assert topics[0].qcode == article["topic"], [(t.qcode, t.score) for t in topics]


def test_the_classifier_decides_and_its_scores_are_probabilities() -> None:
    model = warm_up()
    for article in _unseen():
        cleaned = make_article(article["body"], article["title"])
        _evidence, probabilities = model.read(cleaned, language=article["language"], entities=[])
        assert probabilities is not None and len(probabilities) == 17
        assert all(0.0 <= p <= 1.0 for p in probabilities.values())
        # Independent logistic units (multi-label), not a softmax: they need not sum to one.
        leader = max(probabilities, key=probabilities.__getitem__)
        topics = model.classify(cleaned, language=article["language"], entities=[])
        if max(probabilities.values()) >= model.trained.thresholds_for(article["language"])["confident"]:  # type: ignore[union-attr]
            assert topics[0].qcode == leader and topics[0].score == round(probabilities[leader], 3)
        assert all(0.0 <= t.score <= 1.0 for t in topics)


def test_languages_without_training_data_keep_the_lexicons() -> None:
    text = "La Juventus ha battuto il Milan per due gol a uno nella partita di campionato."
    _evidence, probabilities = warm_up().read(make_article(text), language="it", entities=[])
    assert probabilities is None
    assert classify_topics(make_article(text), language="it", entities=[]) == LEXICONS.classify(
        make_article(text), language="it", entities=[]
    )


def test_features_fold_text_like_the_training_corpus() -> None:
    # SANAD, the Arabic training corpus, has no punctuation or digits: inference reads text the same way.
    assert text_terms(normalise("في 2024، قال: «الحكومة»!")) == text_terms(normalise("في قال الحكومه"))
    assert arabic_stem("والانتخابات") == arabic_stem("الانتخاب") == "انتخاب"
    assert any(term.startswith("c:") for term in text_terms("東京で選挙が行われた"))


def test_the_model_was_trained_on_the_committed_written_stories() -> None:
    path = FIXTURES / "written_news_en.json"
    card_file = resources.files("newswire.enricher") / "data" / "topic_model.card.json"
    card = json.loads(card_file.read_text(encoding="utf-8"))
    # Editing the stories without rebuilding the model leaves the two out of step.
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert card["source_files"]["tests/fixtures/topics/written_news_en.json"] == digest
    stories = json.loads(path.read_text(encoding="utf-8"))["articles"]
    level_one = {q for q, c in LEXICONS.concepts.items() if c.level == 1}
    assert len({story["id"] for story in stories}) == len(stories)
    assert all(story["topics"] and set(story["topics"]) <= level_one for story in stories)
    assert all(story["title"] and len(story["text"].split()) >= 60 for story in stories)


_TERM_TEXTS = (
    "",
    "الحكومة تعلن عن خطة جديدة للاقتصاد والانتخابات في 2024",
    "The Prime Minister met café owners in Zürich",
    "東京で選挙が行われた 日本 経済",
    "Le 𝔸 gouvernement et l'économie, encore l'économie",
    "Москва Москва Москва",
)


def _python_term_vector(title: str, body: str, buckets: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    with monkeypatch.context() as patch:
        patch.setattr(topic_model, "native", None)
        return topic_model.term_vector(title, body, buckets)


@pytest.mark.parametrize("title", _TERM_TEXTS)
@pytest.mark.parametrize("body", _TERM_TEXTS)
@pytest.mark.parametrize("buckets", [1, 7, 2**18])
def test_term_vector_is_the_python_version_to_the_bit(
    title: str, body: str, buckets: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert topic_model.native is not None, "newswire.enricher._terms was not built: install a C compiler, reinstall"
    indices, weights = topic_model.term_vector(normalise(title), normalise(body), buckets)
    expected_indices, expected_weights = _python_term_vector(normalise(title), normalise(body), buckets, monkeypatch)
    counts = topic_model.hashed_counts(
        text_terms(normalise(body), max_words=topic_model.MAX_BODY_WORDS)
        + text_terms(normalise(title)) * topic_model.TITLE_REPEATS,
        buckets,
    )
    assert indices.tolist() == expected_indices.tolist() == list(counts)  # same buckets, in the same order
    assert weights.tobytes() == expected_weights.tobytes()
    if counts:
        assert abs(float(np.sum(weights**2)) - 1.0) < 1e-9


def test_term_vector_refuses_bad_input_clearly() -> None:
    assert topic_model.native is not None
    with pytest.raises(TypeError, match="each text must be a tuple"):
        topic_model.native.text_vector([["a", None]], 8)
    with pytest.raises(TypeError, match="each text must be a tuple"):
        topic_model.native.text_vector([(b"a", None)], 8)
    with pytest.raises(ValueError, match="max_words must be 0 or more"):
        topic_model.native.text_vector([("a", -1)], 8)
    with pytest.raises(TypeError):
        topic_model.native.text_vector([("a", "many")], 8)
    with pytest.raises(ValueError, match="0 buckets"):
        topic_model.native.text_vector([], 0)


# Letters, digits of other scripts (separators), "_", superscripts (numeric, not decimal: letters to the pattern),
# marks, Arabic clitics and suffixes, kana and CJK runs with a non-letter inside, an astral letter, spaces.
_PIECES = (
    "a", "Zürich", "_", "2", "٣", "²", "½", "\u0301", "و", "ال", "ب", "كتاب", "هما", "ات", "ي", "ه", "لل", "عمل",
    "東京", "で", "・", "ア", "𝔸", " ", "\n", "-", "'", "Москва", "abcdefgh",
)  # fmt: skip


def test_term_vector_reads_any_text_as_the_python_version_does(monkeypatch: pytest.MonkeyPatch) -> None:
    assert topic_model.native is not None
    generator = random.Random(20261201)
    for _ in range(2000):
        title, body = ("".join(generator.choice(_PIECES) for _ in range(generator.randint(0, 40))) for _ in "tb")
        buckets = generator.choice([1, 7, 2**18])
        indices, weights = topic_model.term_vector(title, body, buckets)
        expected_indices, expected_weights = _python_term_vector(title, body, buckets, monkeypatch)
        assert indices.tolist() == expected_indices.tolist(), (title, body)
        assert weights.tobytes() == expected_weights.tobytes(), (title, body)
    # The body's word limit: one word read of a long body.
    for limit in (0, 1, 3):
        monkeypatch.setattr(topic_model, "MAX_BODY_WORDS", limit)
        body = "كتاب عمل Zürich 東京で abcdefgh " * 30
        indices, weights = topic_model.term_vector("", body, 2**18)
        expected_indices, expected_weights = _python_term_vector("", body, 2**18, monkeypatch)
        assert indices.tolist() == expected_indices.tolist() and weights.tobytes() == expected_weights.tobytes()


def test_term_vector_strips_every_arabic_affix_as_the_python_version_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # The C version carries its own copy of the affix lists: every prefix and suffix, alone and together, on stems
    # of two to four letters (where the three letters kept decide).
    assert topic_model.native is not None
    stems = ("كت", "كتب", "كتاب")
    for prefix in ("", *topic_model._ARABIC_PREFIXES):
        for suffix in ("", *topic_model._ARABIC_SUFFIXES):
            body = " ".join(prefix + stem + suffix for stem in stems)
            indices, weights = topic_model.term_vector("", body, 2**18)
            expected_indices, expected_weights = _python_term_vector("", body, 2**18, monkeypatch)
            assert indices.tolist() == expected_indices.tolist(), body
            assert weights.tobytes() == expected_weights.tobytes(), body
