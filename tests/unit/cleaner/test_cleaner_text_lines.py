"""Scraped text: real sentences are never debris, debris alone is refused, headline and metadata lines are read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from newswire.cleaner.clean import clean_article
from newswire.cleaner.lines import content_probabilities, feature_names, line_model, page_features
from newswire.cleaner.text import headline_of_breadcrumb, metadata_of_line
from newswire.errors import ArticleRefused
from newswire.schemas import RawArticle

RECEIVED_AT = datetime(2025, 2, 1, tzinfo=UTC)

SHORT_TEXTS = [
    "La comida llegó fría y el camarero tardó casi una hora en traernos la cuenta.",
    "O atendimento foi rápido e o quarto estava muito limpo. Voltaremos com certeza!",
    "Il film è troppo lungo, ma la colonna sonora è davvero splendida.",
    "Das Hotel liegt direkt am Bahnhof, die Zimmer sind aber ziemlich laut.",
    "Le livre se lit d'une traite, je le recommande sans hésiter.",
    "Ürün zamanında geldi ve çok iyi çalışıyor.",
    "Доставка заняла две недели, но товар полностью соответствует описанию.",
    "وصل الطلب متأخراً لكن جودة المنتج ممتازة.",
    "کیفیت این گوشی با توجه به قیمتش عالی است.",
    "यह फ़िल्म बहुत अच्छी है, सबको देखनी चाहिए।",
    "この店のラーメンは本当においしいです。",
    "这家酒店的早餐非常丰富。",
    "이 책은 정말 재미있어요.",
    "Great battery life. Terrible keyboard.",
]

DEBRIS_ONLY = [
    "Share\nTwitter\nFacebook\nClose",
    "Menu\nHome\nSearch\nSign in",
    "© 2024 Example Media. All rights reserved.",
    "شارك\nتويتر\nفيسبوك\nإغلاق",
    "123\n4,567\n89",
]


@pytest.mark.parametrize("text", SHORT_TEXTS)
def test_a_short_genuine_text_passes_whole(text: str) -> None:
    cleaned = clean_article(RawArticle(text=text), received_at=RECEIVED_AT)
    assert cleaned.body == text


@pytest.mark.parametrize("text", SHORT_TEXTS[:4])
def test_two_sentences_on_two_lines_pass(text: str) -> None:
    second = "Nothing else to add."
    cleaned = clean_article(RawArticle(text=f"{text}\n{second}"), received_at=RECEIVED_AT)
    assert cleaned.body == f"{text}\n\n{second}"


@pytest.mark.parametrize("text", DEBRIS_ONLY)
def test_debris_alone_is_refused(text: str) -> None:
    with pytest.raises(ArticleRefused) as refused:
        clean_article(RawArticle(text=text), received_at=RECEIVED_AT)
    assert refused.value.error_type == "empty_after_cleaning"


BODY = [
    "Heavy rain caused rivers to burst their banks across the valley on Tuesday, forcing hundreds of families "
    "to leave their homes as emergency services worked through the night.",
    "The regional government said it would release emergency funds and asked residents to avoid travel until "
    "the water levels began to fall later in the week.",
    "Forecasters expect more rain on Thursday, although the storm is likely to weaken as it moves east.",
]
HEADLINE = "Floods force hundreds from their homes in the valley"


def test_leading_metadata_line_with_date_and_url_is_read_and_removed() -> None:
    text = "\n".join(["05/03/2024 https://www.valleynews.co.uk/2024/03/05/floods?utm_source=x", HEADLINE, *BODY])
    cleaned = clean_article(RawArticle(text=text), received_at=RECEIVED_AT)
    assert cleaned.title == HEADLINE
    assert cleaned.date_published == datetime(2024, 3, 5, tzinfo=UTC)
    assert cleaned.canonical_url == "https://www.valleynews.co.uk/2024/03/05/floods"
    assert cleaned.source_domain == "valleynews.co.uk"
    assert [p.text for p in cleaned.paragraphs] == BODY


def test_byline_and_published_line_is_read_and_removed() -> None:
    text = "\n".join([HEADLINE, "By Jane Doe and Omar Haddad | Published 5 March 2024", *BODY])
    cleaned = clean_article(RawArticle(text=text), received_at=RECEIVED_AT)
    assert cleaned.title == HEADLINE
    assert cleaned.authors == ["Jane Doe", "Omar Haddad"]
    assert cleaned.date_published == datetime(2024, 3, 5, tzinfo=UTC)
    assert [p.text for p in cleaned.paragraphs] == BODY


def test_headline_taken_out_of_a_breadcrumb_that_ends_with_it() -> None:
    text = "\n".join(["Home", "News", "Home › World › " + HEADLINE, *BODY])
    cleaned = clean_article(RawArticle(text=text), received_at=RECEIVED_AT)
    assert cleaned.title == HEADLINE
    assert "›" not in cleaned.body
    assert [p.text for p in cleaned.paragraphs] == BODY


def test_bilingual_menu_label_is_not_the_headline() -> None:
    arabic_body = [
        "أعلنت وزارة الصحة اليوم عن افتتاح ثلاثة مستشفيات جديدة في المحافظات الجنوبية، في إطار خطة لتحسين "
        "الخدمات الطبية في المناطق الريفية.",
        "وقال الوزير في مؤتمر صحفي إن المستشفيات ستستقبل المرضى اعتباراً من الشهر المقبل، وإن العمل جارٍ على "
        "تجهيز مراكز صحية أخرى.",
    ]
    headline = "افتتاح ثلاثة مستشفيات جديدة في الجنوب"
    text = "\n".join(["الرئيسية Home", "أخبار", "اقتصاد", "English | عربي", headline, *arabic_body, "شارك"])
    cleaned = clean_article(RawArticle(text=text), received_at=RECEIVED_AT)
    assert cleaned.title == headline
    assert [p.text for p in cleaned.paragraphs] == arabic_body


def test_metadata_line_shapes() -> None:
    found = metadata_of_line("2024-09-19 https://example.com/a", latest_year=2026)
    assert found is not None and found.url == "https://example.com/a" and found.date is not None
    menu = "Posted by admin | 12 comments | Share this story on every network"
    assert metadata_of_line(menu, latest_year=2026) is None
    sentence = "The report, published at https://example.com/report on Monday, says prices rose."
    assert metadata_of_line(sentence, latest_year=2026) is None


def test_breadcrumb_shapes() -> None:
    trail = "Home > Sport > Football > Late goal settles the derby"
    assert headline_of_breadcrumb(trail) == "Late goal settles the derby"
    assert headline_of_breadcrumb("Rain, wind and snow / what the week holds for the north of the country") is None
    assert headline_of_breadcrumb("A plain headline without any trail") is None


def test_line_model_matches_its_features() -> None:
    model = line_model()
    assert model.names == feature_names()
    rows = page_features(["Home", HEADLINE, *BODY])
    assert all(len(row) == len(feature_names()) for row in rows)


def test_prose_scores_above_menu_lines() -> None:
    lines = ["Home", "World", "Business", "Sport", "Sign in", HEADLINE, *BODY, "About us", "Contact", "Privacy"]
    probabilities = content_probabilities(lines)
    threshold = line_model().threshold
    assert all(p >= threshold for p in probabilities[6:9])
    assert all(p < threshold for p in probabilities[:5] + probabilities[9:])


def test_single_interface_words_between_paragraphs_are_not_kept() -> None:
    text = "\n".join([HEADLINE, BODY[0], "Loading", BODY[1], "null", "42", BODY[2]])
    cleaned = clean_article(RawArticle(text=text), received_at=RECEIVED_AT)
    assert [p.text for p in cleaned.paragraphs] == BODY


def test_template_fingerprints_fold_counters_not_reported_figures() -> None:
    from newswire.cleaner.templates import line_fingerprint

    assert line_fingerprint("Comments (12)") == line_fingerprint("Comments (3)")
    assert line_fingerprint("© 2024 Example Media") == line_fingerprint("© 2025 Example Media")
    report = "The index rose {} percent to {} points in early trading on Monday"
    assert line_fingerprint(report.format(1.2, 10234)) != line_fingerprint(report.format(0.4, 9870))
    assert line_fingerprint("Home") == line_fingerprint("HOME")
    assert line_fingerprint("...") is None


@pytest.mark.parametrize(
    "notice",
    [
        "This article was translated automatically and may contain errors.",
        "تمت ترجمة هذا المقال آلياً وقد يحتوي على أخطاء.",
        "Cet article a été traduit automatiquement.",
    ],
)
def test_a_notice_about_the_article_at_its_end_is_not_body(notice: str) -> None:
    text = "\n".join([HEADLINE, *BODY, notice, "Share"])
    cleaned = clean_article(RawArticle(text=text), received_at=RECEIVED_AT)
    assert [p.text for p in cleaned.paragraphs] == BODY



def test_the_stop_words_are_what_the_build_makes_from_the_recorded_jusText() -> None:
    from importlib import metadata

    from newswire.cleaner import build_line_model

    committed = build_line_model.STOP_WORDS_PATH.read_text(encoding="utf-8")
    recorded = json.loads(committed)["sources"]
    assert recorded == {"jusText": metadata.version("jusText")}, "stopwords.json was built from another jusText"
    assert build_line_model.render_stop_words(build_line_model.build_stop_words()) == committed


def test_script_counts_cover_words_across_spaces_and_other_scripts() -> None:
    from newswire.cleaner.lines import _scripts

    assert _scripts("Partager شارك") == {"latin": 8, "arabic": 4}
    assert _scripts("Hello, world 2024 — again") == {"latin": 15}
    assert _scripts("Hello გამარჯობა") == {"latin": 5, "other": 9}
    assert _scripts("123 ...") == {}


def test_the_learned_vocabulary_weighs_furniture_words_below_reporting_words() -> None:
    vocabulary = line_model().vocabulary
    for furniture in ("subscribe", "newsletter", "cookies", "privacy", "reply"):
        for reporting in ("said", "according"):
            assert vocabulary[furniture] < 0 < vocabulary[reporting], (furniture, reporting)
    # Only words seen on several pages: no page's own numbers.
    assert not any(word.isdigit() for word in vocabulary)


def test_a_caption_credit_is_read_only_after_a_separator() -> None:
    from newswire.cleaner.debris import caption_of_line

    line = "Crowds gather in the main square on Sunday (Photo: AFP)"
    assert caption_of_line(line) == (line, "AFP")
    assert caption_of_line("Crowds gather in the main square on Sunday, Photo AFP") is None


# An article a scraper extracted itself: prose, then a results list the line classifier alone reads as page
# furniture (short lines of names and figures).
EXTRACTED_WITH_RESULTS = [
    "Karen Martin of Norway won the fourth stage of the Fjord Tour on Wednesday, finishing alone after a late attack "
    "on the final climb.",
    "The 27-year-old had lost more than a minute on Monday and said she had planned the move since the morning.",
    "Results of the fourth stage, 180 km from Bergen to Voss:",
    "1. Karen Martin (Norway) Team Nordic 4:31:12",
    "2. Lucia Ferrante (Italy) Velo Roma +0:12",
    "3. Anna de Vries (Netherlands) Oranje Cycling same time",
    "4. Maria Lopez (Spain) Iberia Racing +0:25",
    "5. Sofie Hansen (Denmark) Team Nordic +0:31",
    "Overall standings:",
    "1. Lucia Ferrante (Italy) 14:02:11",
    "2. Karen Martin (Norway) +0:04",
    "3. Sofie Hansen (Denmark) +0:31",
]


def test_an_extracted_article_keeps_its_lists_and_tables() -> None:
    cleaned = clean_article(RawArticle(text="\n".join(EXTRACTED_WITH_RESULTS)), received_at=RECEIVED_AT)
    assert [paragraph.text for paragraph in cleaned.paragraphs] == EXTRACTED_WITH_RESULTS


def test_the_same_lines_inside_a_page_dump_are_still_judged_line_by_line() -> None:
    page = [
        "Home", "News", "Sport", "Cycling", "Sign in", "Share on Facebook", "Share on Twitter",
        *EXTRACTED_WITH_RESULTS,
        "Most read", "Privacy policy", "Cookie settings", "© 2025 Example Sport Media. All rights reserved.",
    ]  # fmt: skip
    cleaned = clean_article(RawArticle(text="\n".join(page)), received_at=RECEIVED_AT)
    assert "Sign in" not in cleaned.body and "Privacy policy" not in cleaned.body
    assert "Cookie settings" not in cleaned.body
    assert EXTRACTED_WITH_RESULTS[0] in cleaned.body


_WIRE_STORIES = [
    [
        "SOCCER - HARWICK HOLD DUNMORE IN SIX-GOAL THRILLER",
        "GLASGOW 2025-11-08",
        "Harwick Rovers and Dunmore Athletic drew 3-3 in the regional league on Saturday .",
        "Results of regional league matches played on Saturday :",
        "Harwick Rovers 3 Dunmore Athletic 3",
        "Kelso Town 1 Ardmore 0",
        "Standings ( played , won , drawn , lost , goals for , against , points ) :",
        "Kelso Town 12 9 2 1 25 8 29",
        "Ardmore 12 4 5 3 13 12 17",
    ],
    # The line classifier keeps only the line of prose here; with no debris line the text is an article already.
    [
        "BASKETBALL - REGIONAL LEAGUE RESULTS",
        "GLASGOW 2025-01-15",
        "Results of regional basketball league games on Wednesday (home team in capitals):",
        "HARWICK 98 Dunmore 91",
        "Kelso 104 ARDMORE 99",
        "BRANNOCK 87 Tillford 85",
        "Carrow 110 ELLESBY 102 (OT)",
        "WEXHAM 92 Stroud Vale 90",
        "Lyndon 79 ASHBY 77",
        "MORVEN 101 Caister 96",
    ],
]


@pytest.mark.parametrize("lines", _WIRE_STORIES, ids=["report-and-table", "table-under-one-line-of-prose"])
def test_a_wire_story_keeps_its_dateline_place_and_its_results_table(lines: list[str]) -> None:
    cleaned = clean_article(RawArticle(text="\n".join(lines)), received_at=RECEIVED_AT)
    # The headline is the first line, never a table row; the date leaves the dateline, its place stays.
    assert cleaned.title == lines[0]
    assert cleaned.date_published == datetime.fromisoformat(lines[1].split()[1]).replace(tzinfo=UTC)
    assert [p.text for p in cleaned.paragraphs] == ["GLASGOW", *lines[2:]]


def test_a_byline_with_a_date_is_no_dateline() -> None:
    text = "\n".join([HEADLINE, "Jane Doe 2024-03-05", *BODY])
    cleaned = clean_article(RawArticle(text=text), received_at=RECEIVED_AT)
    assert cleaned.date_published == datetime(2024, 3, 5, tzinfo=UTC)
    assert [p.text for p in cleaned.paragraphs] == BODY
