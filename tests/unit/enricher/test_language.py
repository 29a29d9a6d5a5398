"""Language identification: short texts, Arabic-script languages, long and mixed texts."""

from __future__ import annotations

from typing import Any

import pytest

from newswire.enricher.language import _letters, decode_report, detect_languages, encode_report


def test_gold_sample_body_and_title_are_arabic(gold: dict[str, Any], gold_body: str) -> None:
    report = detect_languages(gold_body, gold["cleaned"]["title"])
    assert report.body is not None and report.body.code == "ar"
    assert report.title is not None and report.title.code == "ar"
    assert report.mixed == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("الحكومة تقر موازنة العام المقبل", "ar"),
        ("ارتفاع أسعار النفط في الأسواق العالمية", "ar"),
        ("افزایش قیمت نفت در بازارهای جهانی", "fa"),
        ("دیدار وزیر خارجه با همتای روسی", "fa"),
        ("وزیر اعظم کا دورہ چین", "ur"),
        ("پاکستان کرکٹ ٹیم نے دوسرے ٹیسٹ میچ میں انگلینڈ کو شکست دے دی۔", "ur"),
        ("په کابل کې د سختې واورې له امله ډېری سړکونه بند شول.", "ps"),
        ("سەرۆکی هەرێمی کوردستان لەگەڵ باڵیۆزی ئەمریکا کۆبووەوە.", "ckb"),
        ("Le gouvernement annonce une hausse des impôts", "fr"),
        ("Central bank raises interest rates again", "en"),
        ("Правительство утвердило бюджет на следующий год", "ru"),
        ("政府は新たな経済対策を発表した", "ja"),
        ("政府宣布新的经济措施", "zh"),
        ("הממשלה אישרה את התקציב לשנה הבאה", "he"),
    ],
)
def test_short_texts(text: str, code: str) -> None:
    report = detect_languages(text, None)
    assert report.body is not None and report.body.code == code


def test_title_is_detected_alone() -> None:
    body = "Le Premier ministre a présenté son gouvernement à l'Assemblée nationale."
    report = detect_languages(body, "وزیر اعظم کا دورہ چین")
    assert report.body is not None and report.body.code == "fr"
    assert report.title is not None and report.title.code == "ur"


def test_mixed_arabic_and_english_reports_shares() -> None:
    body = (
        "أعلنت الشركة عن نتائجها المالية للربع الثالث، وأظهرت ارتفاعاً في الأرباح بنسبة عشرة في المئة.\n\n"
        "The company said revenue rose ten percent in the third quarter, driven by strong demand in Asia."
    )
    report = detect_languages(body, None)
    assert {guess.code for guess in report.mixed} == {"ar", "en"}
    assert abs(sum(guess.confidence for guess in report.mixed) - 1.0) < 0.01


def test_close_languages_do_not_count_as_mixed() -> None:
    body = "\n\n".join(
        [
            "Sebelum Islam pecah jadi Sunni dan Syiah zaman Khalifah Ali karena pemberontakan di tahun itu.",
            "Jadi baik Sunni dan Syiah yang sebagian besar sahabat Nabi itu aqidah dan ibadahnya sama saja.",
        ]
    )
    assert detect_languages(body, None).mixed == []


def test_empty_and_letterless_texts() -> None:
    report = detect_languages("", None)
    assert report.body is None and report.title is None
    assert detect_languages("123 456 — 789", "   ").body is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Arabic-script languages apart on one short sentence each (none of these is in the benchmark set).
        ("أعلنت وزارة التربية تأجيل الامتحانات إلى الأسبوع المقبل.", "ar"),
        ("وزارت آموزش و پرورش امتحانات را به هفته آینده موکول کرد.", "fa"),
        ("وزارت تعلیم نے امتحانات اگلے ہفتے تک ملتوی کر دیے۔", "ur"),
        ("د پوهنې وزارت ازموینې راتلونکې اونۍ ته وځنډولې.", "ps"),
        ("وەزارەتی پەروەردە تاقیکردنەوەکانی دواخست بۆ هەفتەی داهاتوو.", "ckb"),
        # Latin-script pairs a single detector confuses on short texts.
        ("O ministério adiou as provas para a próxima semana.", "pt"),
        ("Il ministero ha rinviato gli esami alla prossima settimana.", "it"),
        ("El ministerio aplazó los exámenes a la próxima semana.", "es"),
        ("शिक्षा मंत्रालय ने परीक्षाएं अगले सप्ताह तक टाल दीं।", "hi"),
        ("Wizara ya elimu imeahirisha mitihani hadi wiki ijayo.", "sw"),
    ],
)
def test_short_sentences_across_scripts(text: str, code: str) -> None:
    report = detect_languages(text, None)
    assert report.body is not None and report.body.code == code
    assert 0.0 < report.body.confidence <= 1.0


def test_a_pashto_name_does_not_turn_a_persian_paragraph_pashto() -> None:
    # A Persian paragraph naming a Pashto place (لښکرګاه, two Pashto-only letters): such letters settle a
    # sentence, but a paragraph needs them at a Pashto rate.
    paragraph = (
        "وزیر امور خارجه در سفر خود به کابل با مقامات دولت افغانستان دیدار کرد و درباره همکاری‌های اقتصادی، "
        "مرزی و بازگشت پناهجویان گفتگو کرد. او همچنین از شهر لښکرګاه نام برد و گفت که پروژه‌های عمرانی "
        "در این منطقه ادامه خواهد داشت و دو کشور برای توسعه تجارت تلاش می‌کنند."
    )
    report = detect_languages(paragraph, None)
    assert report.body is not None and report.body.code == "fa"


def test_fasttext_model_loads_from_the_package_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from newswire.enricher.language import DEFAULT_PROFILE, LanguageIdentifier

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("language identification reached for the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    identifier = LanguageIdentifier(DEFAULT_PROFILE)
    guess = identifier.guess("La police a arrêté deux suspects après le vol.")
    assert guess is not None and guess.code == "fr"


def test_unknown_engine_is_refused() -> None:
    from newswire.enricher.language import DEFAULT_PROFILE, DetectorProfile, LanguageIdentifier

    with pytest.raises(ValueError, match="unknown language detector engine"):
        LanguageIdentifier(DetectorProfile("bad", DEFAULT_PROFILE.precise, broad_engine="cld9"))


def test_a_report_crosses_the_stream_unchanged_and_garbage_is_refused() -> None:
    body = "Le gouvernement a annoncé mardi un nouveau plan.\n\nThe minister said on Tuesday."
    report = detect_languages(body, "Titre")
    assert decode_report(encode_report(report)) == report
    for garbage in (b"", b"{", b"[]", b'{"body": {"code": 3}}', b'{"mixed": "en"}', b'{"title": {"confidence": 2}}'):
        with pytest.raises(ValueError):
            decode_report(garbage)


def test_letters_are_the_characters_python_calls_letters() -> None:
    # Every code point once, then the numerals a regular expression counts as word characters next to letters.
    everything = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    assert _letters(everything) == "".join(filter(str.isalpha, everything))
    assert _letters("سنة ٢٠٢٤ و½ Ⅻ_x²y") == "سنةوxy"
    assert _letters("") == "" and _letters("12 _ ,") == ""
