"""Language identification: short texts, Arabic-script languages, long and mixed texts."""

from __future__ import annotations

from typing import Any

import pytest

from newswire.enricher.language import detect_languages


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
